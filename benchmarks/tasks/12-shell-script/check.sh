#!/usr/bin/env bash
# The script is executable, runs as ./backup_name.sh, and uses its argument (not a fixed name).
set -u
test -f backup_name.sh || { echo "backup_name.sh missing"; exit 1; }
test -x backup_name.sh || { echo "backup_name.sh is not executable"; exit 1; }
[ "$(timeout 20 ./backup_name.sh site 2>&1)" = "backup-site.tar.gz" ] || { echo "site: wrong"; exit 1; }
[ "$(timeout 20 ./backup_name.sh db2 2>&1)" = "backup-db2.tar.gz" ] || { echo "db2: wrong"; exit 1; }
