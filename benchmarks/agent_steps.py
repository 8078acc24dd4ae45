"""Agent step cost: 1,000 steps of ``bash true`` in the local sandbox vs one raw subprocess.

Run: python benchmarks/agent_steps.py [--steps N]
Targets: median step < one ``subprocess.run("true", shell=True)`` (ratio < 1.0), and the
last 100 steps within 1.2x of the first 100 (no growth with conversation length).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from typing import Any

from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.messages import Message, ToolCall, ToolCallFunction
from pygent.runtime import Runtime


class TrueModel:
    """Always asks for ``bash true``: the cheapest possible model."""

    def __init__(self) -> None:
        self.count = 0
        self.arguments = json.dumps({"cmd": "true"})

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        self.count += 1
        call = ToolCall(id=f"c{self.count}", function=ToolCallFunction("bash", self.arguments))
        return Message(role="assistant", content="", tool_calls=[call])


def time_subprocess(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run("true", shell=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def time_steps(steps: int) -> list[float]:
    from pygent.adapters.sandbox.local import LocalSandbox

    runtime = Runtime(sandbox=LocalSandbox())
    agent = AgentLoop(TrueModel(), runtime, tools=ToolRegistry(builtin_tools()))
    times = []
    try:
        agent.step("start")
        for _ in range(steps):
            start = time.perf_counter()
            agent.step()
            times.append(time.perf_counter() - start)
    finally:
        runtime.cleanup()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    raw = time_subprocess(200)
    steps = time_steps(args.steps)
    raw_median = statistics.median(raw)
    step_median = statistics.median(steps)
    first = statistics.median(steps[:100])
    last = statistics.median(steps[-100:])
    print(f"raw subprocess.run('true', shell=True) median: {raw_median * 1e6:8.0f} us")
    print(f"agent step (bash true, local sandbox) median:  {step_median * 1e6:8.0f} us")
    print(f"ratio step / raw subprocess: {step_median / raw_median:.2f}  (target < 1.0)")
    print(
        f"first 100 steps median {first * 1e6:.0f} us, last 100 {last * 1e6:.0f} us, "
        f"ratio last/first {last / first:.2f}  (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
