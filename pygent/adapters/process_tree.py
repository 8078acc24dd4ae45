"""Find and kill the processes a sandboxed command started, via /proc on Linux."""

from __future__ import annotations

import os
import signal
import time
from typing import Optional

try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    _TICKS = 100


def boot_ticks() -> Optional[int]:
    """Clock ticks since boot now, comparable with a process's start time, or None."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None or not os.path.isdir("/proc"):
        return None
    return int(time.clock_gettime(clock) * _TICKS)


def _stat_fields(pid: int) -> Optional[list[str]]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", errors="replace")
    except OSError:
        return None
    # the command name may hold spaces and parentheses: split after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def session_members(session: int, since_ticks: Optional[int] = None) -> list[int]:
    """Processes in ``session`` (other than its leader) started at or after ``since_ticks``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == session:
            continue
        fields = _stat_fields(pid)
        # fields[0] is state, [3] the session id, [19] the start time in ticks
        if fields is None or len(fields) < 20 or int(fields[3]) != session:
            continue
        if since_ticks is not None and int(fields[19]) < since_ticks:
            continue
        members.append(pid)
    return members


def kill_command_processes(shell_pid: int, since_ticks: Optional[int]) -> int:
    """Stop the shell's current command: SIGINT to the shell, SIGKILL to what it started.

    The shell traps SIGINT while a command runs (see shell_protocol), so once the running
    process dies the rest of the command line is skipped; returns how many were killed.
    """
    try:
        os.kill(shell_pid, signal.SIGINT)
    except ProcessLookupError:
        return 0
    if since_ticks is None:
        return 0
    killed = 0
    for _ in range(3):  # a dying parent may fork once more; sweep again
        pids = session_members(shell_pid, since_ticks)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    return killed


def kill_session(shell_pid: int) -> None:
    """SIGKILL the shell and everything in its session."""
    if os.path.isdir("/proc"):
        for pid in session_members(shell_pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.killpg(shell_pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
