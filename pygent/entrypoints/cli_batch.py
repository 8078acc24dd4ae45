"""``pygent batch TASKS.jsonl``: many tasks, one sandbox each, with a progress line.

Only argparse is needed to describe the command, so ``pygent --help`` stays fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from ..app.settings import Settings
from .flags import add_setting_flags

EXECUTORS = ("threads", "ray")


def add_batch_parser(commands: Any) -> None:
    """``pygent batch``: its arguments, and the setting flags every task starts from."""
    batch = commands.add_parser(
        "batch", help="run the tasks of a JSON-lines file, one sandbox each",
        description="Run every task of TASKS (one JSON object per line: id, prompt, and "
                    "optionally files, folder and settings), each with its own agent and "
                    "sandbox. Results are appended to OUT/results.jsonl as tasks finish and "
                    "each trajectory is written to OUT/trajectories/ID.jsonl; a rerun skips "
                    "the ids that have a result.")
    batch.add_argument("tasks", metavar="TASKS", help="the tasks file (JSON lines)")
    batch.add_argument("--out", metavar="DIR", default="pygent-batch",
                       help="where results and trajectories go (default: pygent-batch)")
    batch.add_argument("--workers", type=int, default=2, metavar="N",
                       help="tasks running at once (default: 2)")
    batch.add_argument("--executor", choices=EXECUTORS, default="threads",
                       help="threads in this process (default), or ray for a Ray cluster")
    batch.add_argument("--address", metavar="ADDR",
                       help="the Ray cluster to join (default: start one on this machine)")
    batch.add_argument("--retry-errors", action="store_true",
                       help="run again the tasks that failed for infrastructure reasons")
    batch.add_argument("--keep-workspaces", action="store_true",
                       help="keep each workspace in OUT/workspaces/ID instead of a diff")
    add_setting_flags(batch, suppress=True)


def batch(args: argparse.Namespace, settings: Settings) -> int:
    """Run the batch; 0 when every task has finished, 1 when some did not, 130 interrupted."""
    from ..app.batch_files import read_tasks
    from ..batch import run_batch
    from ..container import infrastructure_test, make_executor

    if args.workers < 1:
        raise SystemExit("pygent batch: --workers must be at least 1")
    tasks = read_tasks(Path(args.tasks))
    out = Path(args.out)
    executor = make_executor(args.executor, args.workers, settings, args.address)
    progress = Progress(sys.stderr)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        summary = run_batch(tasks, out, settings, executor, retry_errors=args.retry_errors,
                            keep=args.keep_workspaces, on_result=progress.result,
                            infrastructure=infrastructure_test(args.executor), stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        executor.shutdown()
    progress.finish(summary, out)
    if summary.interrupted:
        return 130
    return 0 if all_finished(tasks, out) else 1


def all_finished(tasks: list[Any], out: Path) -> bool:
    """True when every task's newest result says it finished (this run's or an earlier one)."""
    from ..app.batch_files import read_results
    from ..batch import RESULTS

    results = read_results(out / RESULTS)
    return all(results.get(task.id, {}).get("reason") in ("stop", "answer") for task in tasks)


class Progress:
    """One redrawn line on a terminal (done, running, failed, tokens, ETA); plain lines piped."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def result(self, line: dict[str, Any], summary: Any) -> None:
        """Show one finished task."""
        from ..domain.visible import visible

        todo = summary.total - summary.skipped
        left = todo - summary.done
        eta = summary_eta(summary, left)
        status = (f"{summary.done}/{todo} done, {summary.running} running, "
                  f"{summary.failed} failed, {summary.tokens:,} tokens{eta}")
        said = visible(f"{line.get('id')}: {line.get('reason')}"
                       + (f" ({line['error']})" if line.get("error") else ""), False)[:200]
        if self.live:
            self.stream.write(f"\r\x1b[2K{said}\n{status}")
        else:
            self.stream.write(f"{said} [{status}]\n")
        self.stream.flush()

    def finish(self, summary: Any, out: Path) -> None:
        """The closing line: what ran, what failed, where the results are."""
        if self.live:
            self.stream.write("\r\x1b[2K")
        ran = summary.done
        skipped = f", {summary.skipped} skipped (already done)" if summary.skipped else ""
        stopped = "; interrupted: rerun to finish" if summary.interrupted else ""
        self.stream.write(f"{ran} task(s) run, {summary.failed} failed{skipped}, "
                          f"{summary.tokens:,} tokens, {summary.seconds:.1f} s{stopped}. "
                          f"Results: {out / 'results.jsonl'}\n")
        self.stream.flush()


def summary_eta(summary: Any, left: int) -> str:
    """``, ETA 1m20s`` from the pace so far; empty until one task is done."""
    import time

    if not summary.done or not left:
        return ""
    elapsed = time.monotonic() - summary.started
    seconds = int(elapsed / summary.done * left)
    return f", ETA {seconds // 60}m{seconds % 60:02d}s"
