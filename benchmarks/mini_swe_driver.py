"""Run mini-swe-agent's text-based agent on one task, with the mini-swe-agent venv's python.

task_suite.py starts this as ``VENV/bin/python mini_swe_driver.py --task-file F --workspace WS
--base-url URL --step-limit N --trajectory T.json`` and reads the last stdout line, a JSON object
with ``steps`` (model calls) and ``exit_status``. It is mini-swe-agent's own configuration
``mini_textbased.yaml`` (bash in a fenced ``mswea_bash_command`` block, no tool calling) with
the non-interactive ``DefaultAgent`` and ``LocalEnvironment``, pointed at the llama.cpp server.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import litellm
import yaml
from minisweagent.agents.default import DefaultAgent
from minisweagent.config import get_config_path
from minisweagent.environments.local import LocalEnvironment
from minisweagent.models.litellm_textbased_model import (
    LitellmTextbasedModel,
)


def build_agent(args: argparse.Namespace) -> Any:
    """The agent exactly as mini_textbased.yaml configures it, minus the interactive bits."""
    config = yaml.safe_load(get_config_path("mini_textbased.yaml").read_text())
    agent_config = dict(config["agent"])
    agent_config.pop("mode", None)  # InteractiveAgent's confirm mode: DefaultAgent never asks
    agent_config.update(step_limit=args.step_limit, cost_limit=0.0,
                        output_path=Path(args.trajectory))
    model_config = dict(config["model"])
    kwargs = dict(model_config.pop("model_kwargs", {}))
    kwargs.update(api_base=args.base_url, api_key="local")
    if args.temperature is not None:
        kwargs["temperature"] = args.temperature
    if args.seed is not None:
        kwargs["seed"] = args.seed
    model = LitellmTextbasedModel(model_name="openai/local", model_kwargs=kwargs,
                                  cost_tracking="ignore_errors", **model_config)
    env = LocalEnvironment(cwd=args.workspace, **config.get("environment", {}))
    return DefaultAgent(model, env, **agent_config)


def main() -> int:
    """Run the task; print one JSON line with the step count and how the agent stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--task-file", required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--step-limit", type=int, required=True)
    parser.add_argument("--trajectory", required=True)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    litellm.suppress_debug_info = True  # else each cost lookup for "openai/local" prints a banner
    agent = build_agent(args)
    task = Path(args.task_file).read_text().strip()
    status, code = "", 0
    try:
        status = str(agent.run(task).get("exit_status", ""))
    except Exception as exc:  # DefaultAgent re-raises after recording the exit message
        traceback.print_exc()
        status, code = f"{type(exc).__name__}: {exc}"[:300], 1
    print(json.dumps({"steps": agent.n_calls, "exit_status": status}), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
