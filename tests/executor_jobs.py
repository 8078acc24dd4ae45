"""Jobs for the executor tests: module-level functions, so Ray pickles them by reference."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from typing import Any


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def nap(seconds: float, value: object = None) -> object:
    time.sleep(seconds)
    return value


def run_command(argv: list[str]) -> int:
    """Run a child process to its end (a sandbox's shell stands in for it)."""
    return subprocess.run(argv, check=False).returncode


def where(seconds: float = 0.0) -> tuple[str, int]:
    """The Ray node and process the job ran in, after ``seconds``."""
    import ray

    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id(), os.getpid()


def die() -> None:
    """The worker process ends at once, as if killed: no exception, no result."""
    os._exit(1)


_sandboxes: list[Any] = []  # the sandboxes of the jobs running in this worker


def sandbox_command(command: str, closed_note: str = "") -> str:
    """Run ``command`` in a local sandbox, as a batch task's agent would; once the sandbox
    is closed, write ``closed`` to the file ``closed_note``."""
    from pygent.adapters.sandbox.local import LocalSandbox

    sandbox = LocalSandbox(timeout=600)
    _sandboxes.append(sandbox)
    try:
        return sandbox.run(command).output
    finally:
        _sandboxes.remove(sandbox)
        sandbox.close()
        if closed_note:
            with open(closed_note, "w") as file:
                file.write("closed")


def interrupt_sandboxes() -> None:
    """Stop the running command of every sandbox job here (what ``interrupt`` hooks do)."""
    for sandbox in list(_sandboxes):
        sandbox.interrupt()


def hold_slot(gate: Any, seconds: float, folder: str) -> None:
    """Hold one of ``gate``'s slots for ``seconds``; note when, as ``start end``, in ``folder``."""
    with gate.slot():
        start = time.time()
        time.sleep(seconds)
        end = time.time()
    with open(os.path.join(folder, f"{os.getpid()}-{start!r}"), "w") as file:
        file.write(f"{start!r} {end!r}")


class OpenGate:
    """A gate that lets every job in: what a run without ``max_requests`` has."""

    limit = 1_000_000

    def slot(self) -> Any:
        return contextlib.nullcontext()


def die_holding_slot(gate: Any) -> None:
    """Take one of ``gate``'s slots and end the worker process at once, never freeing it."""
    with gate.slot():
        os._exit(1)


def most_at_once(folder: str) -> int:
    """The most ``hold_slot`` intervals noted in ``folder`` that overlap at one moment."""
    events = []
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as file:
            start, end = (float(word) for word in file.read().split())
        events += [(start, 1), (end, -1)]
    now = peak = 0
    for _, step in sorted(events):  # an end sorts before a start at the same moment
        now += step
        peak = max(peak, now)
    return peak
