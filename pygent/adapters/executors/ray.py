"""The Ray executor: each job is a Ray task on a cluster, ``workers`` of them at a time.

The ``workers`` slots are a placement group of that many bundles (a CPU share plus any custom
resources, such as ``{"docker": 1}`` for nodes with a Docker engine), so Ray itself queues
the jobs beyond them; nothing here schedules. ``ray`` is imported only when an executor is
built. A job is pickled by reference, so its module must be importable on every node (the
driver's ``sys.path`` is passed on to workers on the same machine).

A killed worker takes the processes of its own process group with it, not those that left
it (a sandbox shell in a session of its own) nor Docker containers: ``interrupt`` lets a job
close its sandbox itself before its worker is killed. (Ray's raylet-subreaper setting would
catch such processes, but it makes every worker reap its children, so a job's subprocesses
lose their exit codes.)

``gate(limit)`` bounds the model requests of every job at once, wherever it runs (see
``ray_gate``).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import threading
from collections import deque
from concurrent.futures import CancelledError, Future, InvalidStateError, wait
from typing import Any, Callable, Optional

from pygent.domain.errors import ConfigError, said

from .ray_gate import RayGate, RequestSlots


class RayExecutor:
    """Jobs as Ray tasks: on a new local Ray instance, or on the cluster at ``address``.

    ``resources`` (``{"docker": 1}``) and ``num_cpus`` are what each job holds on its node;
    ``interrupt``, a module-level function, is called on the worker to stop its job gently
    before the worker is killed ``grace`` s later. A request slot of a :meth:`gate` whose
    holder stops renewing it (its worker died) is freed ``lease`` s later. One executor per
    process at a time: Ray has one connection per process (one made by the caller is used and
    left open).

    A future counts as running from the moment one of the ``workers`` slots is its, in the
    order the jobs were submitted (the order Ray starts jobs of one function in): Ray does not
    say when a task starts, and the batch driver times out only jobs that run.
    """

    kind = "ray"

    def __init__(
        self,
        workers: int = 1,
        address: Optional[str] = None,
        resources: Optional[dict[str, float]] = None,
        *,
        num_cpus: float = 1.0,
        start_timeout: float = 60.0,
        interrupt: Optional[Callable[[], None]] = None,
        grace: float = 10.0,
        lease: float = 30.0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("the Ray executor needs ray: pip install 'pygent[ray]'") from exc
        from ray.util.placement_group import placement_group, remove_placement_group

        self.workers = workers
        self._ray = ray
        self._interrupt = interrupt
        self._grace = grace
        self._lease = lease
        self._gates: list[Any] = []  # the actors behind the gates made, killed at shutdown
        self._bundle = {"CPU": num_cpus, **(resources or {})}
        self._options: dict[str, Any] = {
            "num_cpus": num_cpus, "resources": dict(resources or {}), "max_retries": 0}
        self._remotes: dict[Callable[..., Any], Any] = {}
        self._refs: dict[Future[Any], Any] = {}  # outstanding jobs: future -> ObjectRef
        self._queued: deque[Future[Any]] = deque()
        self._running: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._closed = False
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        self._owns_ray = not ray.is_initialized()  # a caller's own Ray session is left alone
        if self._owns_ray:
            try:
                _init_ray(ray, address, workers, self._bundle)
            except Exception as exc:
                raise ConfigError(f"cannot reach {where}: {said(exc)}") from exc
        self._group = placement_group([dict(self._bundle)] * workers, strategy="SPREAD")
        try:
            ray.get(self._group.ready(), timeout=start_timeout)
        except BaseException as exc:  # Ctrl-C too: nothing is left behind
            remove_placement_group(self._group)
            if self._owns_ray:
                ray.shutdown()
            if not isinstance(exc, Exception):
                raise
            raise ConfigError(
                f"{where} cannot hold {workers} workers of {self._bundle} within "
                f"{start_timeout:g} s; lower --workers or add nodes ({said(exc)})") from exc

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue ``job(*args)`` as a Ray task in this executor's slots."""
        if self._closed:
            raise RuntimeError("cannot submit to an executor that was shut down")
        ref = self._remote(job).remote(job, self._interrupt, *args)
        future: Future[Any] = ref.future()
        with self._lock:
            self._refs[future] = ref
            self._queued.append(future)
        future.add_done_callback(self._forget)
        self._start_next()
        return future

    def cancel(self, future: Future[Any]) -> None:
        """Drop a queued job (its future is cancelled); end a running one: asked to stop
        through ``interrupt`` when there is one, its worker process killed ``grace`` s later."""
        with self._lock:
            ref = self._refs.get(future)
        if ref is None:
            return
        if future.cancel():  # queued: cancelled now; running: ends in TaskCancelledError
            future.set_running_or_notify_cancel()  # so wait() and as_completed() see it
        elif self._interrupt is not None:
            self._stop(ref, force=False)  # a KeyboardInterrupt in the job's worker
            timer = threading.Timer(self._grace, self._force, (future, ref))
            timer.daemon = True
            timer.start()
            return
        self._stop(ref, force=True)

    def shutdown(self) -> None:
        """Cancel every outstanding job, free the slots, then stop or leave Ray; safe twice."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            outstanding = list(self._refs.items())
        futures = [future for future, _ in outstanding]
        for future in reversed(futures):  # the queued first, so none starts in a freed slot
            self.cancel(future)
        wait(futures, timeout=self._grace + 10.0)  # each is reported once its worker is gone
        for future in futures:  # a job Ray never reported on still ends, never hangs a caller
            try:
                future.set_exception(CancelledError("the Ray executor shut down"))
            except InvalidStateError:  # it ended
                pass
        ray = self._ray
        from ray.util.placement_group import remove_placement_group

        for actor in self._gates:
            try:
                ray.kill(actor)
            except Exception:  # Ray is already down
                pass
        try:
            remove_placement_group(self._group)
        except Exception:  # Ray is already down
            pass
        if self._owns_ray:
            ray.shutdown()  # a local instance stops; a cluster's driver only disconnects

    def gate(self, limit: int) -> RayGate:
        """A gate every job of this executor shares: an actor on the driver's node (when it
        can be) holds the count, so the limit is one for the whole cluster."""
        if limit < 1:
            raise ValueError(f"a gate needs at least 1 slot, got {limit}")
        if self._closed:
            raise RuntimeError("cannot make a gate on an executor that was shut down")
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(
            self._ray.get_runtime_context().get_node_id(), soft=True)
        actor = self._ray.remote(RequestSlots).options(  # restarted, empty, if its node dies
            num_cpus=0, max_concurrency=10_000, scheduling_strategy=here,
            max_restarts=-1, max_task_retries=-1,
        ).remote(limit, self._lease)
        self._gates.append(actor)
        return RayGate(actor, limit, self._lease)

    @staticmethod
    def infrastructure_error(exc: BaseException) -> bool:
        """True when the cluster failed a job, not the job itself: see the module function."""
        return infrastructure_error(exc)

    def _remote(self, job: Callable[..., Any]) -> Any:
        """The Ray task that runs ``job``, named after it (``ray::add`` in ``ps``)."""
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        remote = self._remotes.get(job)
        if remote is None:
            remote = self._ray.remote(_run_job).options(
                **self._options, name=getattr(job, "__name__", "job"),
                scheduling_strategy=PlacementGroupSchedulingStrategy(self._group))
            self._remotes[job] = remote
        return remote

    def _stop(self, ref: Any, force: bool) -> None:
        try:
            self._ray.cancel(ref, force=force)
        except Exception:  # it ended meanwhile, or Ray is gone
            pass

    def _force(self, future: Future[Any], ref: Any) -> None:
        if not future.done():
            self._stop(ref, force=True)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._refs.pop(future, None)
            self._running.discard(future)
            if future in self._queued:
                self._queued.remove(future)
        self._start_next()

    def _start_next(self) -> None:
        """Mark queued futures running, oldest first, while a slot is free."""
        with self._lock:
            while self._queued and len(self._running) < self.workers and not self._closed:
                future = self._queued.popleft()
                if future.done():
                    continue
                try:
                    if future.set_running_or_notify_cancel():
                        self._running.add(future)
                except RuntimeError:  # it finished before it was marked running
                    pass


def _run_job(job: Callable[..., Any], interrupt: Optional[Callable[[], None]],
             *args: Any) -> Any:
    """On the worker: run ``job(*args)``. With ``interrupt``, the job runs in a thread, so
    Ray's gentle cancel (a KeyboardInterrupt here) lands at once and asks the job to stop,
    and the job still cleans up (its sandbox, its container) before the task ends."""
    if interrupt is None:
        return job(*args)
    outcome: dict[str, Any] = {}
    finished = threading.Event()  # not Thread.join: a KeyboardInterrupt in join() breaks it

    def target() -> None:
        try:
            outcome["value"] = job(*args)
        except BaseException as exc:  # handed to the task's own thread below
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, name="pygent-job", daemon=True).start()
    cancelled = asked = False
    while not finished.is_set():
        try:
            if cancelled and not asked:
                asked = True
                threading.Thread(target=interrupt, name="pygent-stop", daemon=True).start()
            finished.wait(0.1)
        except KeyboardInterrupt:  # Ray's gentle cancel; the job is asked once and waited for
            cancelled = True
    if cancelled:
        raise KeyboardInterrupt  # Ray reports the task as cancelled
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _init_ray(ray: Any, address: Optional[str], workers: int, bundle: dict[str, float]) -> None:
    """Connect to the cluster at ``address``, or start a quiet local instance just big enough."""
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        host, _, port = address.rpartition(":")
        if host and port.isdigit() and "://" not in address:  # Ray retries for minutes
            socket.create_connection((host, int(port)), timeout=10).close()
        ray.init(address=address, **quiet)
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    extra = {name: amount * workers for name, amount in bundle.items() if name != "CPU"}
    ray.init(address="local", num_cpus=max(1, math.ceil(bundle["CPU"] * workers)),
             resources=extra, include_dashboard=False, **quiet)


def infrastructure_error(exc: BaseException) -> bool:
    """True when the cluster failed the job (worker or node died, object lost, cancelled),
    False when the job raised its own error (a ``RayTaskError`` wrapping it)."""
    exc = job_error(exc)  # a cancel that reached the job comes wrapped as the job's error
    if isinstance(exc, CancelledError):
        return True
    if sys.modules.get("ray") is None:  # no Ray error can exist without Ray loaded
        return False
    from ray.exceptions import RayError, RayTaskError

    return isinstance(exc, RayError) and not isinstance(exc, RayTaskError)


def job_error(exc: BaseException) -> BaseException:
    """The job's own exception inside a ``RayTaskError``; any other exception as it is."""
    if sys.modules.get("ray") is not None:
        from ray.exceptions import RayTaskError

        if isinstance(exc, RayTaskError) and isinstance(exc.cause, BaseException):
            return exc.cause
    return exc


def job_error_text(exc: BaseException) -> str:
    """One line for a result: ``ValueError: bad input``, not Ray's wrapped traceback."""
    return said(job_error(exc))
