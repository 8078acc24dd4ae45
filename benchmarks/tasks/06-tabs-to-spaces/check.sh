#!/usr/bin/env bash
# No tab left, the text equals the original with tabs expanded to 4 spaces, and it still runs.
set -u
test -f inventory.py || { echo "inventory.py missing"; exit 1; }
if grep -q $'\t' inventory.py; then echo "tabs left"; exit 1; fi
expected=$(printf 'def restock(items, minimum):\n    """Return the names of items below the minimum count."""\n    low = []\n    for name, count in items.items():\n        if count < minimum:\n            low.append(name)\n    return sorted(low)\n\n\nif __name__ == "__main__":\n    print(restock({"bolts": 3, "nuts": 12, "screws": 1}, 5))')
[ "$(cat inventory.py)" = "$expected" ] || { echo "content changed beyond the indentation"; exit 1; }
[ "$(timeout 20 python3 inventory.py)" = "['bolts', 'screws']" ] || { echo "inventory.py broken"; exit 1; }
