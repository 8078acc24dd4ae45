"""Time limits for an unattended agent: one step, and the whole run, each cancel it when passed."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

#: How often the watchdog looks.
TICK = 0.05


def start_watchdog(agent: Any, done: threading.Event, step_limit: Optional[float],
                   time_limit: Optional[float], on_timeout: Callable[[str], None],
                   name: str = "pygent-watch") -> Optional[threading.Thread]:
    """Call ``on_timeout(why)`` once when a step or the whole run passes its limit, unless
    ``done`` is set first; a step is timed from the moment the agent's ``stats`` grew."""
    if not step_limit and not time_limit:
        return None
    thread = threading.Thread(target=_watch, daemon=True, name=name,
                              args=(agent, done, step_limit, time_limit, on_timeout))
    thread.start()
    return thread


def _watch(agent: Any, done: threading.Event, step_limit: Optional[float],
           time_limit: Optional[float], on_timeout: Callable[[str], None]) -> None:
    stats = getattr(agent, "stats", None)
    started = step_started = time.monotonic()
    seen = -1
    while not done.wait(TICK):
        now = time.monotonic()
        count = len(stats) if stats is not None else 0
        if count != seen:
            seen, step_started = count, now
        if time_limit and now - started > time_limit:
            on_timeout(f"timeout: the task ran longer than {time_limit:g} s")
            return
        if step_limit and now - step_started > step_limit:
            on_timeout(f"timeout: a step ran longer than {step_limit:g} s")
            return
