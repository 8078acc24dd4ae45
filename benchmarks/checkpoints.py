"""Checkpoint cost per step on a 10,000-file workspace, against the same step without them.

Run: python benchmarks/checkpoints.py [--files N] [--steps N]
Target: a step on an unchanged tree adds at most a few milliseconds (inotify: next to nothing);
the table also shows a step that changes one file, the same two without inotify (a full scan
each snapshot, as on macOS or past the watch limit), and the first snapshot, which reads every
file once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from pygent.adapters.checkpoint_store import GitCheckpointStore
from pygent.adapters.sandbox.local import LocalSandbox
from pygent.app.agent import AgentLoop
from pygent.app.checkpoints import Checkpoints
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.messages import Message, ToolCall, ToolCallFunction
from pygent.runtime import Runtime


class CommandModel:
    """Always asks for the same bash command: the cheapest possible model."""

    def __init__(self, command: str) -> None:
        self.count = 0
        self.arguments = json.dumps({"cmd": command})

    def chat(self, messages: list[dict[str, Any]], model: str,
             tools: list[dict[str, Any]]) -> Message:
        self.count += 1
        call = ToolCall(id=f"c{self.count}", function=ToolCallFunction("bash", self.arguments))
        return Message(role="assistant", content="", tool_calls=[call])


def build_tree(root: Path, files: int) -> None:
    """``files`` small source-like files, 50 to a folder, two levels deep."""
    for index in range(files):
        folder = root / f"pkg{index // 2500}" / f"mod{index // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{index}.py").write_text(f"# file {index}\nVALUE = {index}\n" * 5)


def time_steps(workspace: Path, command: str, steps: int,
               watch: Optional[bool]) -> tuple[list[float], float]:
    """Step times with checkpoints (inotify when ``watch``, full scans when False) or without
    (None); and how long the first snapshot took."""
    runtime = Runtime(sandbox=LocalSandbox(workspace, timeout=60))
    checkpoints = None
    first = 0.0
    if watch is not None:
        store = GitCheckpointStore(workspace, watch=watch)
        checkpoints = Checkpoints(lambda: store)
        started = time.perf_counter()
        checkpoints._snapshot(print)  # the first snapshot reads every file once
        first = time.perf_counter() - started
    agent = AgentLoop(CommandModel(command), runtime, tools=ToolRegistry(builtin_tools()),
                      checkpoints=checkpoints)
    times = []
    try:
        agent.step("start")
        for _ in range(steps):
            started = time.perf_counter()
            agent.step()
            times.append(time.perf_counter() - started)
    finally:
        if checkpoints is not None:
            checkpoints.close()
        runtime.cleanup()
    return times, first


def time_hook(workspace: Path, change: bool, steps: int, watch: bool) -> list[float]:
    """The checkpoint work alone around a step (two snapshots, the record), with the step's
    own file write, when ``change``, done before the clock starts."""
    store = GitCheckpointStore(workspace, watch=watch)
    checkpoints = Checkpoints(lambda: store)
    checkpoints._snapshot(print)
    target = workspace / "pkg0" / "mod0" / "file0.py"
    times = []
    try:
        for index in range(steps):
            started = time.perf_counter()
            with checkpoints.step(index, 0, None, "bench", print):
                paused = time.perf_counter()
                if change:
                    target.write_text(f"VALUE = {index}\n")
                resumed = time.perf_counter()
            times.append(time.perf_counter() - started - (resumed - paused))
    finally:
        checkpoints.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pygent-bench-") as folder:
        workspace = Path(folder) / "ws"
        build_tree(workspace, args.files)
        unchanged, changed = "true", "echo $RANDOM > pkg0/mod0/file0.py"
        rows = []
        for name, command in (("unchanged tree", unchanged), ("one changed file", changed)):
            plain, _ = time_steps(workspace, command, args.steps, None)
            watched, first = time_steps(workspace, command, args.steps, True)
            scanned, _ = time_steps(workspace, command, max(args.steps // 4, 10), False)
            base = statistics.median(plain)
            rows.append((name, base, statistics.median(watched) - base,
                         statistics.median(scanned) - base, first))
        hooks = {name: (statistics.median(time_hook(workspace, change, args.steps, True)),
                        statistics.median(time_hook(workspace, change, 20, False)))
                 for name, change in (("unchanged tree", False), ("one changed file", True))}
    print(f"{args.files:,} files; median of {args.steps} steps (bash in the local sandbox)")
    print(f"{'step':<18} {'no checkpoints':>15} {'added (inotify)':>16} {'ratio':>6} "
          f"{'added (full scan)':>18} {'first snapshot':>15}")
    for name, base, watched, scanned, first in rows:
        print(f"{name:<18} {base * 1e3:12.2f} ms {watched * 1e3:13.2f} ms "
              f"{(base + watched) / base:6.2f} {scanned * 1e3:15.2f} ms {first * 1e3:12.0f} ms")
    worst = max(row[2] for row in rows)
    print(f"most added per step with inotify: {worst * 1e3:.2f} ms (target: a few ms)")
    print("the checkpoint work alone (two snapshots and the record), median:")
    for name, (inotify, scan) in hooks.items():
        print(f"  {name:<18} inotify {inotify * 1e3:8.3f} ms   full scan {scan * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
