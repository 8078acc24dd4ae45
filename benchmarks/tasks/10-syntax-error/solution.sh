#!/usr/bin/env bash
sed -i 's/for name in names$/for name in names:/' greet.py
