"""Finding a test's own processes, for checks that nothing is left running.

A shell comment (``sleep 300 # MARK``) is in no process's command line, so a marker there
finds nothing and a leak check that looks for it always passes. The marker here is the sleep's
own argument: ``sleep 300.123456789`` is that exact command line, and no other test runs it.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Callable


def long_sleep() -> str:
    """A five-minute ``sleep`` whose command line no other process has."""
    return f"sleep 300.{secrets.randbelow(10**9):09d}"


def processes_running(command: str) -> list[int]:
    """The ids of live processes whose command line contains ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended while we looked
            continue
        if command in line and not _is_pygent(line):  # a zombie's is empty: it has ended
            found.append(int(entry.name))
    return found


def _is_pygent(line: str) -> bool:
    """A pygent process whose arguments name the command (``pygent -p "sleep ..."``): it
    does not run the command, and it is there before its sandbox is."""
    return any(part.endswith("pygent") for part in line.split(" ")[:3])


def eventually(check: Callable[[], bool], within: float = 20.0) -> bool:
    """True once ``check()`` is; False if it is still false after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
