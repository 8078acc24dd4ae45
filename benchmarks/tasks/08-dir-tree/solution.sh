#!/usr/bin/env bash
mkdir -p webapp/src/webapp webapp/tests webapp/docs
: > webapp/src/webapp/__init__.py
echo "# webapp" > webapp/README.md
