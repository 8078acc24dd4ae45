"""The Ray executor against a real Ray cluster on this machine: placement, faults, no leaks.

The session's cluster (``ray_cluster`` in conftest) is a head node with 2 CPUs and a second
node with 1 CPU and ``{"docker": 1}``; a test that stops a node starts its own third node.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pygent.domain.errors import ConfigError
from tests import executor_jobs as jobs
from tests.processes import eventually, long_sleep, processes_running


@pytest.fixture
def cluster(ray_cluster: Any) -> Any:
    """The session's Ray cluster (conftest), by a shorter name."""
    return ray_cluster


@pytest.fixture
def executors() -> Iterator[list[Any]]:
    """Executors a test made, shut down after it even when it fails."""
    made: list[Any] = []
    yield made
    for executor in made:
        executor.shutdown()


def _executor(made: list[Any], workers: int, address: Any, **options: Any) -> Any:
    from pygent.adapters.executors.ray import RayExecutor

    executor = RayExecutor(workers, address=address, **options)
    made.append(executor)
    return executor


def _children_running(word: str) -> list[int]:
    """This process's child processes whose command line has ``word``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == os.getpid() and stat[0] != "Z" and word in line:
            found.append(int(entry.name))
    return found


def test_jobs_spread_over_both_nodes(cluster: Any, executors: list[Any]) -> None:
    executor = _executor(executors, 3, cluster.address)
    futures = [executor.submit(jobs.where, 1.0) for _ in range(3)]
    nodes = {future.result(timeout=60)[0] for future in futures}
    assert len(nodes) == 2


def test_jobs_that_ask_for_docker_run_only_on_the_docker_node(
        cluster: Any, executors: list[Any]) -> None:
    import ray

    executor = _executor(executors, 1, cluster.address, resources={"docker": 1.0})
    docker_nodes = {node["NodeID"] for node in ray.nodes()
                    if node["Alive"] and node["Resources"].get("docker")}
    futures = [executor.submit(jobs.where) for _ in range(3)]
    assert {future.result(timeout=60)[0] for future in futures} == docker_nodes
    assert len(docker_nodes) == 1


def test_a_jobs_own_error_is_told_apart_from_the_clusters(
        cluster: Any, executors: list[Any]) -> None:
    from pygent.adapters.executors.ray import infrastructure_error, job_error, job_error_text

    executor = _executor(executors, 1, cluster.address)
    error = executor.submit(jobs.fail, "bad input").exception(timeout=60)
    assert error is not None and type(error).__name__ == "RayTaskError(ValueError)"
    assert not infrastructure_error(error)
    assert type(job_error(error)) is ValueError
    assert job_error_text(error) == "ValueError: bad input"


def test_a_worker_that_dies_mid_job_fails_its_future_as_the_clusters_fault(
        cluster: Any, executors: list[Any]) -> None:
    from pygent.adapters.executors.ray import infrastructure_error, job_error_text

    executor = _executor(executors, 1, cluster.address)
    error = executor.submit(jobs.die).exception(timeout=60)
    assert type(error).__name__ == "WorkerCrashedError"
    assert error is not None and infrastructure_error(error)
    assert job_error_text(error).startswith("WorkerCrashedError")
    assert executor.submit(jobs.add, 1, 2).result(timeout=60) == 3  # the slot is free again


def test_a_node_that_leaves_mid_batch_fails_its_jobs_and_the_rest_go_on(
        cluster: Any, executors: list[Any]) -> None:
    from pygent.adapters.executors.ray import infrastructure_error

    node = cluster.start_node(num_cpus=1, resources={"doomed": 1})
    marker = long_sleep()
    executor = _executor(executors, 1, cluster.address, resources={"doomed": 1.0})
    running = executor.submit(jobs.run_command, marker.split())
    queued = executor.submit(jobs.run_command, ["true"])  # its slot was on that node
    assert eventually(lambda: bool(processes_running(marker)), within=60)
    node.kill()
    started = time.monotonic()
    error = running.exception(timeout=60)
    assert time.monotonic() - started < 60
    assert type(error).__name__ == "NodeDiedError"
    assert error is not None and infrastructure_error(error)
    assert not processes_running(marker)
    assert queued.running()  # it has the slot now, though Ray has no node to run it on
    executor.cancel(queued)  # what the batch does when a job is far past its time limit
    assert type(queued.exception(timeout=30)).__name__ == "TaskCancelledError"
    executor.shutdown()
    others = _executor(executors, 2, cluster.address)
    assert others.submit(jobs.add, 2, 2).result(timeout=60) == 4


def test_shutdown_kills_running_jobs_and_what_they_started(
        cluster: Any, executors: list[Any]) -> None:
    marker = long_sleep()
    executor = _executor(executors, 2, cluster.address)
    futures = [executor.submit(jobs.run_command, marker.split()) for _ in range(3)]  # one
    assert eventually(lambda: len(processes_running(marker)) == 2, within=60)  # function:
    started = time.monotonic()  # Ray starts them in order, so the third one waits
    executor.shutdown()
    assert time.monotonic() - started < 15
    assert all(future.done() for future in futures)  # killed (or their child was, first)
    assert futures[2].cancelled()
    assert eventually(lambda: not processes_running(marker), within=30)
    assert eventually(lambda: not processes_running("ray::run_command"), within=30)


def test_a_worker_reports_its_jobs_subprocess_exit_codes(
        cluster: Any, executors: list[Any]) -> None:
    executor = _executor(executors, 1, cluster.address)  # (Ray's subreaper mode breaks this)
    assert executor.submit(jobs.run_command, ["sh", "-c", "exit 3"]).result(timeout=60) == 3


def test_with_an_interrupt_hook_a_cancelled_job_stops_and_cleans_up_itself(
        cluster: Any, executors: list[Any], tmp_path: Path) -> None:
    from pygent.adapters.executors.ray import infrastructure_error, job_error_text

    marker, note = long_sleep(), tmp_path / "closed"
    executor = _executor(executors, 1, cluster.address,
                         interrupt=jobs.interrupt_sandboxes, grace=60.0)
    future = executor.submit(jobs.sandbox_command, marker, str(note))
    assert eventually(lambda: bool(processes_running(marker)), within=60)
    started = time.monotonic()
    executor.cancel(future)
    error = future.exception(timeout=30)
    assert time.monotonic() - started < 10  # well inside the grace: the job stopped itself
    assert error is not None and infrastructure_error(error)
    assert job_error_text(error).startswith("TaskCancelledError")
    assert note.read_text() == "closed"
    assert not processes_running(marker)


def test_a_cluster_that_cannot_hold_the_workers_fails_fast_and_lets_go(
        cluster: Any) -> None:
    import ray

    from pygent.adapters.executors.ray import RayExecutor

    with pytest.raises(ConfigError, match="cannot hold 1 workers"):
        RayExecutor(1, address=cluster.address, resources={"tpu": 1.0}, start_timeout=1.0)
    assert not ray.is_initialized()


def test_an_address_nobody_answers_on_fails_at_once(ray_auth: None) -> None:
    import ray

    from pygent.adapters.executors.ray import RayExecutor

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        with pytest.raises(ConfigError, match=f"cannot reach the Ray cluster at {address}"):
            RayExecutor(1, address=address)
    assert not ray.is_initialized()


def test_without_an_address_a_local_instance_lives_as_long_as_the_executor(
        ray_auth: None, executors: list[Any]) -> None:
    executor = _executor(executors, 2, None)
    assert executor.submit(jobs.add, 3, 4).result(timeout=60) == 7
    assert _children_running("raylet")
    executor.shutdown()
    assert eventually(lambda: not _children_running("ray"), within=30)


def test_a_slot_held_by_a_worker_that_died_is_freed_when_its_lease_ends(
        cluster: Any, executors: list[Any], tmp_path: Path) -> None:
    executor = _executor(executors, 2, cluster.address, lease=4.0)
    gate = executor.gate(1)
    error = executor.submit(jobs.die_holding_slot, gate).exception(timeout=60)
    assert type(error).__name__ == "WorkerCrashedError"
    assert gate.held() == 1  # nobody will release it
    assert eventually(lambda: gate.held() == 0, within=30)
    executor.submit(jobs.hold_slot, gate, 0.0, str(tmp_path)).result(timeout=30)


def test_a_gate_whose_actor_died_is_restarted_and_still_gives_slots(
        cluster: Any, executors: list[Any], tmp_path: Path) -> None:
    import ray

    executor = _executor(executors, 2, cluster.address, lease=4.0)
    gate = executor.gate(1)
    assert gate.held() == 0
    ray.kill(gate._actor, no_restart=False)  # as when the node it ran on is lost
    executor.submit(jobs.hold_slot, gate, 0.0, str(tmp_path)).result(timeout=60)
    assert gate.held() == 0


def test_a_request_longer_than_the_lease_keeps_its_slot_by_renewing_it(
        cluster: Any, executors: list[Any], tmp_path: Path) -> None:
    executor = _executor(executors, 2, cluster.address, lease=1.0)
    gate = executor.gate(1)
    futures = [executor.submit(jobs.hold_slot, gate, 3.0, str(tmp_path)) for _ in range(2)]
    for future in futures:
        future.result(timeout=60)
    assert jobs.most_at_once(str(tmp_path)) == 1
    assert gate.held() == 0
