#!/usr/bin/env bash
# main.py prints the same report, shop.order_total exists and calc is gone everywhere.
set -u
out=$(timeout 20 python3 main.py 2>&1) || { echo "main.py fails: $out"; exit 1; }
[ "$out" = $'ana: 3.10\nben: 4.50\ntotal: 7.60' ] || { echo "main.py prints: $out"; exit 1; }
python3 -c "import shop; assert shop.order_total({'apple': 2}) == 1.0; assert not hasattr(shop, 'calc')" \
    || { echo "shop.order_total missing or calc still there"; exit 1; }
if grep -qw calc shop.py report.py main.py; then echo "calc still used"; exit 1; fi
