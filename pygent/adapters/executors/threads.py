"""The thread executor: jobs run in this process, ``workers`` at a time."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
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
