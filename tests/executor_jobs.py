"""Jobs for the executor tests: module-level functions, so Ray pickles them by reference."""

from __future__ import annotations

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
