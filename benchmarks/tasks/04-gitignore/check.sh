#!/usr/bin/env bash
# git itself decides: the four kinds of path are ignored, ordinary sources are not.
set -u
test -f .gitignore || { echo ".gitignore missing"; exit 1; }
command -v git >/dev/null || { echo "git is needed by this check"; exit 1; }
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT
cp .gitignore "$repo/" && cd "$repo" && git init -q . || exit 1
for path in __pycache__/x.pyc pkg/__pycache__/y.pyc app.log logs/debug.log .env build/out.bin; do
    git check-ignore -q "$path" || { echo "not ignored: $path"; exit 1; }
done
for path in main.py README.md env.py src/build.py; do
    if git check-ignore -q "$path"; then echo "wrongly ignored: $path"; exit 1; fi
done
