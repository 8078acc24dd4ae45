#!/usr/bin/env bash
# No .md file says colour any more and the expected text is there; .py and .txt files are unchanged.
set -u
fail() { echo "$1"; exit 1; }
for f in README.md docs/usage.md docs/guide/themes.md; do
    test -f "$f" || fail "$f missing"
    if grep -q colour "$f"; then fail "$f still says colour"; fi
done
grep -q "Pick a color for each theme. The default color is blue." README.md || fail "README.md wrong"
grep -q 'Run `palette --color red` to set the color.' docs/usage.md || fail "usage.md wrong"
grep -q "Each theme has a background color and a text color." docs/guide/themes.md || fail "themes.md wrong"
grep -q "Dark themes use a light text color." docs/guide/themes.md || fail "themes.md wrong"
[ "$(grep -c colour palette.py)" -eq 2 ] && grep -q COLOUR palette.py || fail "palette.py was changed"
grep -q "check every colour" notes.txt || fail "notes.txt was changed"
