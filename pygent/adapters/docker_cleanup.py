"""Never leak a container: close every open Docker sandbox at exit and on SIGTERM."""

from __future__ import annotations

import atexit
import os
import signal
import weakref
from typing import Any, Protocol


class Closable(Protocol):
    """Anything with an idempotent ``close()``."""

    def close(self) -> None: ...


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_PREVIOUS: dict[str, Any] = {}  # "installed" once the clean-ups are set, "sigterm" the old handler


def close_all() -> None:
    """Close every open Docker sandbox (at exit and on SIGTERM)."""
    for sandbox in list(_LIVE):
        try:
            sandbox.close()
        except Exception:
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    close_all()
    previous = _PREVIOUS.get("sigterm", signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def untrack(sandbox: Closable) -> None:
    """Forget a sandbox that closed itself."""
    _LIVE.discard(sandbox)


def track(sandbox: Closable) -> None:
    """Track ``sandbox`` and install the exit and SIGTERM clean-ups once."""
    _LIVE.add(sandbox)
    if _PREVIOUS:
        return
    _PREVIOUS["installed"] = True
    atexit.register(close_all)
    try:
        _PREVIOUS["sigterm"] = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: atexit still cleans up
        pass
