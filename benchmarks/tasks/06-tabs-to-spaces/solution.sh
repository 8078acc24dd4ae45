#!/usr/bin/env bash
expand -t 4 inventory.py > inventory.tmp && mv inventory.tmp inventory.py
