"""Let another thread interrupt the command a sandbox is running (the web app's stop button)."""

from __future__ import annotations

import threading
from typing import Callable, Optional

from ..domain.sandbox import CommandResult
from .process_tree import boot_ticks


class CommandWatch:
    """Knows whether a command runs and since when, so an interrupt can kill just that."""

    def __init__(self) -> None:
        self.started: Optional[int] = None
        self.interrupted = False
        self._idle = threading.Event()
        self._idle.set()

    def watch(self, run: Callable[[Optional[int]], CommandResult]) -> CommandResult:
        """Call ``run(started)`` as the running command; note an interrupt in its result."""
        started = boot_ticks()
        self.begin(started)
        try:
            result = run(started)
        finally:
            interrupted = self.end()
        if interrupted:
            result.notice = "; ".join(n for n in ("interrupted by the user", result.notice) if n)
        return result

    def begin(self, started: Optional[int]) -> None:
        """A command starts (``started``: boot ticks, for finding its processes)."""
        self.started, self.interrupted = started, False
        self._idle.clear()

    def end(self) -> bool:
        """The command is over; return whether it was interrupted."""
        interrupted, self.interrupted, self.started = self.interrupted, False, None
        self._idle.set()
        return interrupted

    def interrupt(
        self,
        kill_command: Callable[[Optional[int]], object],
        kill_shell: Callable[[], object],
        grace: float,
    ) -> None:
        """Kill the running command; if the run is not over within ``grace``, kill the shell."""
        if self._idle.is_set():
            return
        self.interrupted = True
        kill_command(self.started)
        if not self._idle.wait(grace):
            kill_shell()  # stuck in a shell builtin: the run ends and restarts the shell
            self._idle.wait(grace)
