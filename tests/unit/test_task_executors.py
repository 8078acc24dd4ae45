"""Delegated tasks on an executor: the thread executor here, and one whose jobs run in another
process, as on a Ray node: the task travels as plain data and its files come back packed.

The process executor below is a real process pool (spawned, so nothing is shared with this
process), which proves the remote path pickles and needs nothing of the parent but the
archive; the Ray cluster version is tests/e2e/test_tasks_ray.py.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from pygent import Runtime, TaskError, TaskManager
from pygent.adapters.executors.threads import ThreadExecutor
from pygent.app.settings import Settings
from pygent.models import set_custom_model
from tests.fakes import FakeModel
from tests.processes import eventually, long_sleep, processes_running

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


class ProcessExecutor:
    """Jobs in spawned processes: nothing but their pickled arguments reaches them."""

    kind = "processes"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool.submit(job, *args)

    def cancel(self, future: Future[Any]) -> None:
        future.cancel()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(2)
    yield executor
    executor.shutdown()


@pytest.fixture
def parent() -> Iterator[Runtime]:
    runtime = Runtime(settings=LOCAL)
    yield runtime
    runtime.cleanup()


# -- the thread executor ----------------------------------------------------------------------
def test_tasks_run_on_the_thread_executor_given(parent: Runtime) -> None:
    executor = ThreadExecutor(1)
    manager = TaskManager(settings=LOCAL, executor=executor)
    try:
        first = manager.start_task('write_file path="a.txt" content="one"', parent)
        assert manager.wait(first, 30) == "finished"
        assert manager.tasks[first].future is not None
        assert manager.tasks[first].thread is None  # the executor's thread ran it, not its own
        landed = manager.collect_file(parent, first, "a.txt")
        assert landed.read_text() == "one"
    finally:
        manager.close()
        executor.shutdown()


def test_a_task_queued_behind_a_busy_worker_is_stopped_at_once(parent: Runtime) -> None:
    executor = ThreadExecutor(1)
    manager = TaskManager(settings=LOCAL, executor=executor)
    sleep = long_sleep()
    try:
        busy = manager.start_task(sleep, parent)
        assert eventually(lambda: bool(processes_running(sleep)))
        queued = manager.start_task("echo never", parent)
        manager.stop(queued)  # dropped from the queue: no 10 s wait for a run that never began
        assert manager.status(queued) == "cancelled"
        assert manager.tasks[queued].future.cancelled()  # type: ignore[union-attr]
        manager.stop(busy)
        assert manager.status(busy) == "cancelled"
        assert eventually(lambda: not processes_running(sleep))
    finally:
        manager.close()
        executor.shutdown()


# -- a task that runs in another process --------------------------------------------------------
def test_a_task_elsewhere_gets_its_files_and_sends_its_workspace_back(
        parent: Runtime, processes: ProcessExecutor) -> None:
    parent.write_file("data/in.txt", "from the parent")
    manager = TaskManager(settings=LOCAL, executor=processes)
    task_id = manager.start_task(
        'write_file path="out/report.txt" content="made elsewhere"\n'
        "cat data/in.txt > copy.txt && ln -s /etc/passwd link && echo $$ > pid.txt",
        parent, files=["data/in.txt"])
    assert manager.wait(task_id, 60) == "finished"
    task = manager.tasks[task_id]
    assert task.remote and task.workspace is None
    assert manager.files(task_id) == ["copy.txt", "data/", "out/", "pid.txt"]  # no link
    manager.collect_file(parent, task_id, "copy.txt")
    assert parent.read_file("copy.txt") == "from the parent"
    manager.collect_file(parent, task_id, "out", "collected")
    assert parent.read_file("collected/report.txt") == "made elsewhere"
    import os

    manager.collect_file(parent, task_id, "pid.txt")
    shell = int(parent.read_file("pid.txt"))
    assert shell != os.getpid() and not Path(f"/proc/{shell}").exists()  # its shell is gone
    with pytest.raises(TaskError, match="does not exist"):
        manager.collect_file(parent, task_id, "link")
    for escape in ("../x", "/etc/passwd", "out/../../x"):
        with pytest.raises(TaskError):
            manager.collect_file(parent, task_id, escape)
    manager.close()


def test_the_task_tools_report_a_task_elsewhere(processes: ProcessExecutor) -> None:
    from pygent import Agent

    with Agent(settings=LOCAL) as agent:
        agent.tasks = TaskManager(settings=LOCAL, executor=processes)
        agent.runtime.tasks = agent.tasks  # type: ignore[attr-defined]
        said, is_error = agent.dispatch(
            "delegate_task", '{"prompt": "write_file path=\\"r.txt\\" content=\\"ok\\""}')
        assert not is_error, said
        status, _ = agent.dispatch("task_status", '{"task_id": "task-1"}')
        while status.startswith("running"):
            agent.tasks.wait("task-1", 60)
            status, _ = agent.dispatch("task_status", '{"task_id": "task-1"}')
        assert status.startswith("finished") and "r.txt" in status
        said, is_error = agent.dispatch("collect_file", '{"task_id": "task-1", "path": "r.txt"}')
        assert not is_error and agent.runtime.read_file("r.txt") == "ok"


def test_a_task_elsewhere_past_its_time_limit_is_stopped_there(
        parent: Runtime, processes: ProcessExecutor) -> None:
    sleep = long_sleep()
    manager = TaskManager(settings=LOCAL, executor=processes)
    task_id = manager.start_task(sleep, parent, task_timeout=1)
    assert manager.wait(task_id, 60) == "timeout: the task ran longer than 1 s"
    assert not processes_running(sleep)
    step = manager.start_task(f"echo quick\n{sleep}", parent, step_timeout=1.5)
    assert manager.wait(step, 60) == "timeout: a step ran longer than 1.5 s"
    assert manager.files(task_id) == []  # a stopped task's files still come back
    manager.close()


def test_a_job_the_executor_fails_is_a_failed_task(parent: Runtime) -> None:
    class Dying(ThreadExecutor):
        kind = "dying"

        def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
            future: Future[Any] = Future()
            threading.Timer(0.1, future.set_exception,
                            (RuntimeError("the worker died\ntraceback ..."),)).start()
            return future

    manager = TaskManager(settings=LOCAL, executor=Dying(1))
    task_id = manager.start_task("echo hi", parent)
    assert manager.wait(task_id, 10) == "failed: RuntimeError: the worker died"
    with pytest.raises(TaskError, match="did not come back"):
        manager.files(task_id)


def test_a_running_task_elsewhere_says_its_files_come_back_later(parent: Runtime) -> None:
    class Never(ThreadExecutor):
        kind = "never"

        def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
            return Future()

    manager = TaskManager(settings=LOCAL, executor=Never(1))
    task_id = manager.start_task("echo hi", parent)
    with pytest.raises(TaskError, match="comes? back when it ends"):
        manager.collect_file(parent, task_id, "x")
    manager.stop(task_id)
    assert manager.status(task_id) == "cancelled"


def test_what_cannot_travel_is_refused_before_anything_starts(
        parent: Runtime, processes: ProcessExecutor) -> None:
    with pytest.raises(TaskError, match="cannot travel"):
        TaskManager(lambda: None, settings=LOCAL, executor=processes).start_task("x", parent)
    set_custom_model(FakeModel([]))
    try:
        manager = TaskManager(settings=LOCAL, executor=processes)
        with pytest.raises(TaskError, match="cannot travel"):
            manager.start_task("echo hi", parent)
        assert manager.tasks == {}
    finally:
        set_custom_model(None)
    manager = TaskManager(settings=LOCAL, executor=processes)
    with pytest.raises(TaskError, match="could not start"):
        manager.start_task("echo hi", parent, files=["missing.txt"])
    assert manager.tasks == {}


def test_every_task_elsewhere_shares_one_request_gate(parent: Runtime) -> None:
    class Recording(ThreadExecutor):
        kind = "recording"
        gates = 0

        def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
            self.sent = [*getattr(self, "sent", []), args]
            return Future()

        def gate(self, limit: int) -> Any:
            self.gates += 1
            return super().gate(limit)

    executor = Recording(1)
    from dataclasses import replace

    manager = TaskManager(settings=replace(LOCAL, max_requests=2), executor=executor)
    manager.start_task("echo one", parent)
    manager.start_task("echo two", parent)
    (_, _, first), (_, _, second) = executor.sent
    assert executor.gates == 1 and first["gate"] is second["gate"]
    assert first["gate"].limit == 2
    manager.close()
