"""Find and kill the processes a sandboxed command started, via /proc on Linux.

A command can leave its shell's session (``setsid``) or double-fork, so processes are found
by ancestry under the sandbox's root process, which is a child subreaper (or the init of
its own PID namespace): orphans are re-parented to it, never lost to the host's init.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Collection
from typing import Optional

try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    _TICKS = 100

SWEEPS = 20  # rounds of kill-and-look-again, for processes forking while they are killed


def boot_ticks() -> Optional[int]:
    """Clock ticks since boot now, comparable with a process's start time, or None."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None or not os.path.isdir("/proc"):
        return None
    return int(time.clock_gettime(clock) * _TICKS)


def last_pid() -> int:
    """The pid the kernel handed out last (0 when it cannot say): later ones are higher."""
    try:
        with open("/proc/sys/kernel/ns_last_pid", "rb") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 0


#: When a command began: (clock ticks since boot, the last pid handed out before it).
Mark = tuple[int, int]


def command_mark() -> Optional[Mark]:
    """A mark to tell the processes a command starts from those that ran before it."""
    ticks = boot_ticks()
    return None if ticks is None else (ticks, last_pid())


def started_after(pid: int, start_ticks: int, mark: Mark) -> bool:
    """True for a process started after ``mark``: a later tick, or the same tick and a higher
    pid (ticks are 10 ms apart, so a job started just before may share the tick)."""
    ticks, last = mark
    return start_ticks > ticks or (start_ticks == ticks and pid > last)


def _stat_fields(pid: int) -> Optional[list[str]]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", errors="replace")
    except OSError:
        return None
    # the command name may hold spaces and parentheses: split after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def process_table() -> dict[int, tuple[int, int]]:
    """Every live process as pid -> (parent pid, start time in ticks since boot)."""
    table: dict[int, tuple[int, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        # fields[0] is the state, [1] the parent pid, [19] the start time in ticks
        if fields is None or len(fields) < 20 or fields[0] in ("Z", "X"):
            continue
        table[int(entry)] = (int(fields[1]), int(fields[19]))
    return table


def descendants(root: int, table: Optional[dict[int, tuple[int, int]]] = None) -> list[int]:
    """The processes below ``root`` (children, their children, ...)."""
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def kill_descendants(root: int, since: Optional[Mark] = None,
                     spare: Collection[int] = ()) -> int:
    """SIGKILL ``root``'s descendants started after ``since`` (all when None).

    ``spare`` are kept (the shell itself, the namespace's init); returns how many were killed.
    """
    killed = 0
    for _ in range(SWEEPS):
        table = process_table()
        pids = [pid for pid in descendants(root, table) if pid not in spare
                and (since is None or started_after(pid, table[pid][1], since))]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
    return killed


def kill_tree(root: int) -> None:
    """SIGKILL everything below ``root``, then ``root`` (while it lives, orphans stay below it)."""
    if os.path.isdir("/proc"):
        kill_descendants(root)
    kill(root)


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``pid`` unless it is gone already."""
    if pid <= 0:
        return
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def namespace_pid(pid: int) -> Optional[int]:
    """The pid ``pid`` has inside its own PID namespace (the last ``NSpid`` value)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None
