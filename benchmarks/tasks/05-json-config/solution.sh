#!/usr/bin/env bash
python3 - <<'PY'
import json
config = json.load(open("config.json"))
config["debug"] = True
config["server"]["port"] = 8080
json.dump(config, open("config.json", "w"), indent=2)
PY
