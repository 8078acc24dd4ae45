#!/usr/bin/env bash
sed -i 's/\bcalc\b/order_total/g' shop.py report.py main.py
