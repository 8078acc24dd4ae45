#!/usr/bin/env bash
# The original assertions (not the workspace's test file, which may have been edited) and more.
set -u
python3 - <<'PY'
from pages import page, page_count

assert page_count(0, 10) == 0
assert page_count(10, 10) == 1
assert page_count(11, 10) == 2
assert page_count(25, 10) == 3
assert page(list(range(25)), 3, 10) == [20, 21, 22, 23, 24]
assert page_count(1, 3) == 1 and page_count(3, 3) == 1 and page_count(7, 3) == 3
assert page_count(100, 1) == 100
PY
