#!/usr/bin/env bash
# The script compiles and greets each name given, or the world.
set -u
[ "$(timeout 20 python3 greet.py Ann 2>&1)" = "Hello, Ann!" ] || { echo "greet.py Ann is wrong"; exit 1; }
[ "$(timeout 20 python3 greet.py Bo Cy 2>&1)" = $'Hello, Bo!\nHello, Cy!' ] || { echo "two names wrong"; exit 1; }
[ "$(timeout 20 python3 greet.py 2>&1)" = "Hello, world!" ] || { echo "no name is wrong"; exit 1; }
