#!/usr/bin/env bash
sort -u names.txt > sorted.txt
