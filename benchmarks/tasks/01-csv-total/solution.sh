#!/usr/bin/env bash
python3 -c "import csv; print(sum(float(r['amount']) for r in csv.DictReader(open('sales.csv'))))" > total.txt
