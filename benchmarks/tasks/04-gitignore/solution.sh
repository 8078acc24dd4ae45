#!/usr/bin/env bash
printf '__pycache__/\n*.log\n.env\nbuild/\n' > .gitignore
