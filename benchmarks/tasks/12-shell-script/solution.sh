#!/usr/bin/env bash
printf '#!/bin/sh\necho "backup-$1.tar.gz"\n' > backup_name.sh
chmod +x backup_name.sh
