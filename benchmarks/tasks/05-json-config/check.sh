#!/usr/bin/env bash
# Valid JSON, the two values changed (as JSON true and number 8080), nothing else touched.
set -u
python3 - <<'PY'
import json
import sys

try:
    config = json.load(open("config.json"))
except (OSError, ValueError) as exc:
    sys.exit(f"config.json unreadable: {exc}")
expected = {
    "name": "inventory-service",
    "debug": True,
    "server": {"host": "0.0.0.0", "port": 8080, "workers": 4},
    "database": {"url": "sqlite:///inventory.db", "pool_size": 5},
    "features": ["search", "export"],
}
if config != expected or type(config["server"]["port"]) is not int:
    sys.exit(f"config.json is {config}")
PY
