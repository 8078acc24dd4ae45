#!/usr/bin/env bash
# errors.txt equals grep ERROR server.log (trailing blank lines and spaces tolerated).
set -u
test -f errors.txt || { echo "errors.txt missing"; exit 1; }
got=$(sed 's/[[:space:]]*$//' errors.txt | sed '/^$/d')
want=$(grep ERROR server.log | sed 's/[[:space:]]*$//')
[ "$got" = "$want" ] || { echo "errors.txt differs"; diff <(echo "$want") <(echo "$got"); exit 1; }
[ "$(echo "$got" | wc -l)" -eq 4 ] || { echo "expected 4 lines"; exit 1; }
