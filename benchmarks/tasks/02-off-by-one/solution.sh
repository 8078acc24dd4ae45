#!/usr/bin/env bash
sed -i 's|return total // per_page|return -(-total // per_page)|' pages.py
