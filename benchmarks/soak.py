"""Soak and load: many run_until_stop steps, then several agents at once; nothing may leak.

Run: python benchmarks/soak.py [--steps 1000] [--agents 8] [--agent-steps 200]
                               [--sandbox local|docker|both] [--image TAG] [--check]
Reports resident memory at start and end, open file descriptors, child processes and
Pygent containers left, and steps per second. With --check it exits 1 when memory grew by
20 MB or more, or anything was left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent.app.agent import AgentLoop  # noqa: E402
from pygent.app.registry import ToolRegistry, builtin_tools  # noqa: E402
from pygent.domain.messages import Message, ToolCall, ToolCallFunction  # noqa: E402
from pygent.runtime import Runtime  # noqa: E402

MIX = [
    ("bash", {"cmd": "echo step"}),
    ("write_file", {"path": "notes/n.txt", "content": "x" * 200}),
    ("bash", {"cmd": "cat notes/n.txt | wc -c"}),
    ("bash", {"cmd": "ls missing-file"}),  # fails
    ("nope", {}),  # unknown tool
    ("bash", "{not json"),  # malformed arguments
    ("write_file", {"path": "../escape.txt", "content": "no"}),  # refused
    ("bash", {"cmd": "seq 1 20000"}),  # output capped
]


class MixModel:
    """One tool call per request, cycling through MIX, then a plain answer."""

    def __init__(self) -> None:
        self.turn = 0

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        if messages[-1]["role"] == "tool":
            return Message(role="assistant", content="done")
        name, args = MIX[self.turn % len(MIX)]
        self.turn += 1
        raw = args if isinstance(args, str) else json.dumps(args)
        call = ToolCall(id=f"c{self.turn}", function=ToolCallFunction(name, raw))
        return Message(role="assistant", content="", tool_calls=[call])


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def children() -> int:
    pid = str(os.getpid())
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    raw = handle.read()
            except OSError:
                continue
            if raw[raw.rfind(")") + 2 :].split()[1] == pid:
                count += 1
    return count


def containers() -> int:
    done = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            "label=pygent=1",
            "--filter",
            f"label=pygent.owner_pid={os.getpid()}",
        ],
        capture_output=True,
        text=True,
    )
    return len(done.stdout.split()) if done.returncode == 0 else 0


def open_runtime(kind: str, image: str) -> Runtime:
    if kind == "docker":
        from pygent.adapters.sandbox.docker import DockerSandbox

        return Runtime(sandbox=DockerSandbox(image=image, timeout=30))
    from pygent.adapters.sandbox.local import LocalSandbox

    return Runtime(sandbox=LocalSandbox(timeout=30))


def run_agent(kind: str, image: str, steps: int) -> int:
    runtime = open_runtime(kind, image)
    agent = AgentLoop(MixModel(), runtime, tools=ToolRegistry(builtin_tools()))
    done = 0
    try:
        for index in range(steps):
            result = agent.run_until_stop(f"task {index}", max_steps=3)
            done += result.steps
            if index % 50 == 49:
                agent.new_conversation()  # a long session starts over now and then
    finally:
        runtime.cleanup()
    return done


def soak(kind: str, image: str, steps: int, agents: int, agent_steps: int) -> dict[str, Any]:
    run_agent(kind, image, 5)  # warm imports and caches before measuring
    start_rss, start_fds = rss_mb(), open_fds()
    began = time.perf_counter()
    single = run_agent(kind, image, steps)
    single_rate = single / (time.perf_counter() - began)

    totals: list[int] = []
    began = time.perf_counter()
    threads = [
        threading.Thread(target=lambda: totals.append(run_agent(kind, image, agent_steps)))
        for _ in range(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_rate = sum(totals) / (time.perf_counter() - began)
    time.sleep(0.2)
    return {
        "sandbox": kind,
        "rss_start_mb": round(start_rss, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "fds_start": start_fds,
        "fds_end": open_fds(),
        "children_left": children(),
        "containers_left": containers(),
        "single_steps_per_s": round(single_rate, 1),
        "load_steps_per_s": round(load_rate, 1),
        "agents_finished": len(totals),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--agent-steps", type=int, default=200)
    parser.add_argument("--sandbox", choices=["local", "docker", "both"], default="both")
    parser.add_argument("--image", default=os.environ.get("PYGENT_IMAGE", "pygent-test:bookworm"))
    parser.add_argument("--check", action="store_true", help="exit 1 on a leak")
    args = parser.parse_args()
    kinds = ["local", "docker"] if args.sandbox == "both" else [args.sandbox]
    failed = False
    for kind in kinds:
        report = soak(kind, args.image, args.steps, args.agents, args.agent_steps)
        print(json.dumps(report))
        grew = report["rss_end_mb"] - report["rss_start_mb"]
        leaks = (
            grew >= 20
            or report["fds_end"] > report["fds_start"]
            or report["children_left"]
            or report["containers_left"]
            or report["agents_finished"] != args.agents
        )
        print(f"{kind}: memory grew {grew:.1f} MB; " + ("LEAK" if leaks else "nothing left behind"))
        failed = failed or bool(leaks)
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
