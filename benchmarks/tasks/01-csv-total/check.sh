#!/usr/bin/env bash
# total.txt holds 53.00 (the sum of the amount column), in any number format.
set -u
test -f total.txt || { echo "total.txt missing"; exit 1; }
python3 - <<'PY'
import sys
text = open("total.txt").read().strip().replace(",", "")
try:
    value = float(text)
except ValueError:
    sys.exit(f"total.txt is not a number: {text!r}")
sys.exit(0 if abs(value - 53.0) < 0.005 else f"total.txt says {value}, expected 53.0")
PY
