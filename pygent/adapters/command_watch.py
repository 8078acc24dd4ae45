"""Let another thread interrupt the command a sandbox is running (the web app's stop button)."""

from __future__ import annotations

import threading
from typing import Callable

from ..domain.sandbox import CommandResult


class CommandWatch:
    """Knows whether a command runs, so an interrupt can kill just that."""

    def __init__(self) -> None:
        self.interrupted = False
        self._idle = threading.Event()
        self._idle.set()

    def watch(self, run: Callable[[], CommandResult]) -> CommandResult:
        """Call ``run()`` as the running command; note an interrupt in its result."""
        self.interrupted = False
        self._idle.clear()
        try:
            result = run()
        finally:
            interrupted, self.interrupted = self.interrupted, False
            self._idle.set()
        if interrupted:
            result.notice = "; ".join(n for n in ("interrupted by the user", result.notice) if n)
        return result

    def interrupt(
        self,
        kill_command: Callable[[], object],
        kill_shell: Callable[[], object],
        grace: float,
    ) -> None:
        """Kill the running command; if the run is not over within ``grace``, kill the shell."""
        if self._idle.is_set():
            return
        self.interrupted = True
        kill_command()
        if not self._idle.wait(grace):
            kill_shell()  # stuck in a shell builtin: the run ends and restarts the shell
            self._idle.wait(grace)
