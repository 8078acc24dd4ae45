#!/usr/bin/env bash
# sorted.txt has each name once in alphabetical order; case-sensitive or case-insensitive order both count.
set -u
test -f sorted.txt || { echo "sorted.txt missing"; exit 1; }
got=$(sed 's/[[:space:]]*$//' sorted.txt | sed '/^$/d')
cased=$(printf 'Anna\nEmma\nIvy\nLiam\nMaria\nNoah\nOmar\nZoe\nbob')
folded=$(printf 'Anna\nbob\nEmma\nIvy\nLiam\nMaria\nNoah\nOmar\nZoe')
[ "$got" = "$cased" ] || [ "$got" = "$folded" ] || { echo "sorted.txt is: $got"; exit 1; }
