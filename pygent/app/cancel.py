"""The switch that stops a step: pressed from any thread, checked by the loop, used up after."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Optional

from ..domain.errors import StepCancelled


class Cancellation:
    """Pressed by ``AgentLoop.cancel()``; while a step runs, it keeps interrupting commands."""

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self._interrupt = interrupt
        self._pressed = threading.Event()
        self._busy = threading.Event()  # set while a step or a run is under way
        self._lock = threading.Lock()
        self._interrupter: Optional[threading.Thread] = None

    def press(self) -> None:
        """Cancel the running step, or the next one to start; returns at once."""
        self._pressed.set()
        with self._lock:
            if self._busy.is_set() and not (self._interrupter and self._interrupter.is_alive()):
                self._interrupter = threading.Thread(
                    target=self._interrupt_while_pressed, name="pygent-cancel", daemon=True)
                self._interrupter.start()

    def check(self) -> None:
        """Raise StepCancelled if the switch is pressed."""
        if self._pressed.is_set():
            raise StepCancelled()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Mark a step as under way; a press is used up when it ends."""
        with self._lock:
            self._busy.set()
        try:
            yield
        finally:
            with self._lock:
                self._busy.clear()
            self._pressed.clear()

    def _interrupt_while_pressed(self) -> None:
        """Interrupt until the step ends: a command can start just after an interrupt."""
        while self._pressed.is_set() and self._busy.is_set():
            self._interrupt()
            time.sleep(0.1)
