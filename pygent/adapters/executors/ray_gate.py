"""The request gate of the Ray executor: an actor counts a run's model-request slots.

Each slot held is a lease under a token: its holder renews it while the request runs, and the
actor frees a slot whose lease ran out, so a worker that dies holding one (its node lost, its
process killed) starves the run for ``lease`` s at most, never for good. An actor that dies
itself (its node lost) is restarted empty, and calls to it retried: for one lease the run may
then have more requests in flight than its limit, rather than every task failing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

__all__ = ["RayGate", "RequestSlots"]


class RequestSlots:
    """The actor behind a :class:`RayGate`: ``limit`` slots, each held under a token whose
    lease its holder renews; one not renewed for ``lease`` s is freed (its holder died)."""

    def __init__(self, limit: int, lease: float) -> None:
        self._limit, self._lease = limit, lease
        self._free: Optional[asyncio.Semaphore] = None  # made in the actor's event loop
        self._held: dict[str, float] = {}  # token -> when its lease ends (monotonic)
        self._reaper: Optional[asyncio.Task[None]] = None

    async def acquire(self) -> str:
        """Wait for a free slot; return the token that holds it."""
        await self._slots().acquire()
        token = uuid.uuid4().hex
        self._held[token] = time.monotonic() + self._lease
        return token

    async def renew(self, token: str) -> bool:
        """Extend a held slot's lease; False when it was freed already."""
        if token not in self._held:
            return False
        self._held[token] = time.monotonic() + self._lease
        return True

    async def release(self, token: str) -> None:
        """Free the slot ``token`` holds; a token freed already is ignored."""
        if self._held.pop(token, None) is not None:
            self._slots().release()

    async def held(self) -> int:
        """How many slots are held now."""
        return len(self._held)

    def _slots(self) -> asyncio.Semaphore:
        if self._free is None:
            self._free = asyncio.Semaphore(self._limit)
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return self._free

    async def _reap(self) -> None:
        """Free the slots whose lease ended, a few times per lease."""
        while True:
            await asyncio.sleep(min(1.0, self._lease / 4))
            now = time.monotonic()
            for token, until in list(self._held.items()):
                if until <= now:
                    await self.release(token)


class RayGate:
    """A :class:`~pygent.domain.ports.RequestGate` over a :class:`RequestSlots` actor; it
    pickles, so every job of a batch gets the same one, on whatever node it runs."""

    def __init__(self, actor: Any, limit: int, lease: float) -> None:
        self.limit = limit
        self._actor = actor
        self._lease = lease

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block, renewing its lease meanwhile; freed at the end."""
        import ray

        token = ray.get(self._actor.acquire.remote())
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(token, done),
                                   name="pygent-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            try:
                ray.get(self._actor.release.remote(token), timeout=self._lease)
            except Exception:  # the executor shut down: there is nothing left to free
                pass

    def held(self) -> int:
        """How many slots are held now, across the cluster."""
        import ray

        return int(ray.get(self._actor.held.remote(), timeout=60))

    def _renew(self, token: str, done: threading.Event) -> None:
        import ray

        while not done.wait(self._lease / 3):
            try:
                ray.get(self._actor.renew.remote(token), timeout=self._lease)
            except Exception:  # the actor is gone; the slot went with it
                return
