"""The thread executor: jobs run in this process, ``workers`` at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable


class ThreadExecutor:
    """A pool of threads; a running job is ended by its own cancel switch, not by the pool."""

    kind = "threads"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pygent-job")

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue ``job(*args)`` for the next free thread."""
        return self._pool.submit(job, *args)

    def cancel(self, future: Future[Any]) -> None:
        """Drop a job that has not started (a running one stops through its agent)."""
        future.cancel()

    def shutdown(self) -> None:
        """Drop the queued jobs and wait for the running ones to end."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def gate(self, limit: int) -> ThreadGate:
        """A gate for this executor's jobs: they are threads of this process."""
        return ThreadGate(limit)


class ThreadGate:
    """At most ``limit`` model requests at once among the threads of this process."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a gate needs at least 1 slot, got {limit}")
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block; it is freed however the block ends."""
        with self._slots:
            yield
