"""Batch throughput: short scripted tasks on 1, 2 and 4 workers, against running them in turn.

Run: python benchmarks/batch.py [--tasks N] [--executors threads,ray] [--docker]
Each task is the direct model running one short command in its own local sandbox (Docker
with --docker). The baseline runs the same tasks one after another in this process with a
plain Agent each, no batch machinery. Printed per executor and worker count, all measured in
this one run: wall time, tasks per second, the speed-up over the baseline, and the overhead
per task: wall x workers / tasks - baseline / tasks (what a task costs beyond its own work).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent import Agent  # noqa: E402
from pygent.app.batch_files import read_tasks  # noqa: E402
from pygent.app.settings import Settings  # noqa: E402
from pygent.batch import run_batch  # noqa: E402
from pygent.container import make_executor  # noqa: E402

PROMPT = "echo done > out.txt"


def baseline(settings: Settings, count: int) -> float:
    """Seconds to run ``count`` tasks one after another, a plain Agent each."""
    started = time.perf_counter()
    for _ in range(count):
        with Agent(settings=settings) as agent:
            agent.run_until_stop(PROMPT)
    return time.perf_counter() - started


def batched(settings: Settings, count: int, kind: str, workers: int) -> float:
    """Seconds for ``pygent batch``'s driver to run ``count`` tasks on ``workers``."""
    folder = Path(tempfile.mkdtemp(prefix="pygent-bench-batch-"))
    try:
        tasks = folder / "tasks.jsonl"
        tasks.write_text("".join(json.dumps({"id": f"t{n}", "prompt": PROMPT}) + "\n"
                                 for n in range(count)))
        executor = make_executor(kind, workers, settings)
        try:
            if kind == "ray":  # the cluster's start is not the tasks' cost
                run_batch(read_tasks(tasks), folder / "warm", settings, executor)
            started = time.perf_counter()
            summary = run_batch(read_tasks(tasks), folder / "out", settings, executor)
            seconds = time.perf_counter() - started
        finally:
            executor.shutdown()
        if summary.failed:
            raise SystemExit(f"{summary.failed} task(s) failed; see {folder}")
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--executors", default="threads")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--docker", action="store_true")
    args = parser.parse_args()
    # as a batch task runs: no checkpoints (nobody undoes its steps), so both sides compare
    settings = replace(Settings(backend="direct", confine=False, checkpoints=False),
                       use_docker=args.docker)
    base = baseline(settings, args.tasks)
    per_task = base / args.tasks
    print(f"{args.tasks} tasks, sandbox: {'Docker' if args.docker else 'local'}")
    print(f"baseline, one after another: {base:.2f} s ({per_task * 1000:.1f} ms per task)")
    print("executor  workers   wall s  tasks/s  speed-up  overhead ms/task")
    for kind in args.executors.split(","):
        for workers in map(int, args.workers.split(",")):
            wall = batched(settings, args.tasks, kind, workers)
            overhead = (wall * workers - base) / args.tasks * 1000
            print(f"{kind:<9} {workers:>7} {wall:>8.2f} {args.tasks / wall:>8.1f} "
                  f"{base / wall:>8.2f}x {overhead:>17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
