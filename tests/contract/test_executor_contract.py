"""One suite every Executor adapter passes: threads here, and Ray on a real local cluster."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import CancelledError, wait
from pathlib import Path
from typing import Any, Callable

import pytest

from pygent.domain.ports import Executor, RequestGate
from tests import executor_jobs as jobs
from tests.processes import eventually

EXECUTORS = ["threads", "ray"]
MakeExecutor = Callable[[int], Executor]  # workers -> a new executor of the kind tested


@pytest.fixture(params=EXECUTORS)
def make_executor(request: pytest.FixtureRequest) -> Iterator[MakeExecutor]:
    """Builds executors of one kind (one at a time: Ray has one connection per process)."""
    made: list[Any] = []

    def make(workers: int) -> Executor:
        if request.param == "threads":
            from pygent.adapters.executors.threads import ThreadExecutor

            executor: Any = ThreadExecutor(workers)
        else:
            cluster = request.getfixturevalue("ray_cluster")
            from pygent.adapters.executors.ray import RayExecutor

            executor = RayExecutor(workers, address=cluster.address)
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.shutdown()


def test_a_job_runs_and_its_result_comes_back_in_its_future(make_executor: MakeExecutor) -> None:
    executor = make_executor(2)
    assert isinstance(executor, Executor) and executor.workers == 2
    futures = [executor.submit(jobs.add, n, 1) for n in range(4)]
    assert [future.result(timeout=60) for future in futures] == [1, 2, 3, 4]


def test_an_exception_in_the_job_is_its_futures_exception(make_executor: MakeExecutor) -> None:
    future = make_executor(1).submit(jobs.fail, "bad input")
    with pytest.raises(ValueError, match="bad input"):
        future.result(timeout=60)


def test_a_queued_job_is_cancelled_and_the_running_one_goes_on(make_executor: MakeExecutor) -> None:
    executor = make_executor(1)
    first = executor.submit(jobs.nap, 1.5, "first")
    assert eventually(first.running)
    second = executor.submit(jobs.nap, 0.0, "second")
    assert not second.running()
    executor.cancel(second)
    assert second.cancelled()
    with pytest.raises(CancelledError):
        second.result(timeout=1)
    assert second in wait([second], timeout=30).done  # the batch loop waits this way
    assert first.result(timeout=60) == "first"


def test_shutdown_ends_every_job_and_is_safe_twice(make_executor: MakeExecutor) -> None:
    executor = make_executor(1)
    futures = [executor.submit(jobs.nap, 0.5, n) for n in range(4)]
    assert eventually(futures[0].running)
    executor.shutdown()
    executor.shutdown()
    assert all(future.done() for future in futures)
    assert all(future.cancelled() for future in futures[1:])
    with pytest.raises(RuntimeError):
        executor.submit(jobs.add, 1, 1)


def test_the_executors_gate_bounds_the_jobs_holding_it_at_once_wherever_they_run(
        make_executor: MakeExecutor, tmp_path: Path) -> None:
    executor = make_executor(3)
    gate = executor.gate(2)
    assert isinstance(gate, RequestGate) and gate.limit == 2
    futures = [executor.submit(jobs.hold_slot, gate, 1.0, str(tmp_path)) for _ in range(6)]
    for future in futures:
        future.result(timeout=120)
    assert len(list(tmp_path.iterdir())) == 6
    assert jobs.most_at_once(str(tmp_path)) == 2  # three jobs ran at once; two held slots


def test_without_the_gate_the_same_jobs_overlap_more(
        make_executor: MakeExecutor, tmp_path: Path) -> None:
    executor = make_executor(3)  # so the check above could not pass by accident
    futures = [executor.submit(jobs.hold_slot, jobs.OpenGate(), 1.0, str(tmp_path))
               for _ in range(6)]
    for future in futures:
        future.result(timeout=120)
    assert jobs.most_at_once(str(tmp_path)) == 3
