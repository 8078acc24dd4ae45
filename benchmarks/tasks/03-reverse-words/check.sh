#!/usr/bin/env bash
# reverse.py prints the words of words.txt last first, also for a words.txt it has not seen.
set -u
test -f reverse.py || { echo "reverse.py missing"; exit 1; }
out=$(timeout 20 python3 reverse.py) || { echo "reverse.py failed"; exit 1; }
[ "$out" = $'echo\ndelta\ncharlie\nbravo\nalpha' ] || { echo "wrong output: $out"; exit 1; }
cp words.txt /tmp/_words_$$.txt
printf 'one\ntwo\nthree\n' > words.txt
out=$(timeout 20 python3 reverse.py); status=$?
cp /tmp/_words_$$.txt words.txt && rm -f /tmp/_words_$$.txt
[ $status -eq 0 ] && [ "$out" = $'three\ntwo\none' ] || { echo "hard-coded output? got: $out"; exit 1; }
