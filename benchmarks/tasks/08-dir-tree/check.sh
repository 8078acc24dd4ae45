#!/usr/bin/env bash
# The three folders, the empty __init__.py and a README.md whose first non-blank line is "# webapp".
set -u
for dir in webapp/src/webapp webapp/tests webapp/docs; do
    test -d "$dir" || { echo "missing folder $dir"; exit 1; }
done
test -f webapp/src/webapp/__init__.py || { echo "missing __init__.py"; exit 1; }
[ -z "$(tr -d '[:space:]' < webapp/src/webapp/__init__.py)" ] || { echo "__init__.py not empty"; exit 1; }
test -f webapp/README.md || { echo "missing README.md"; exit 1; }
first=$(grep -v '^[[:space:]]*$' webapp/README.md | head -n 1 | sed 's/[[:space:]]*$//')
[ "$first" = "# webapp" ] || { echo "README.md starts with: $first"; exit 1; }
