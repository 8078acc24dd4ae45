#!/usr/bin/env bash
cat > reverse.py <<'PY'
words = open("words.txt").read().split()
for word in reversed(words):
    print(word)
PY
