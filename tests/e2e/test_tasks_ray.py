"""Delegated tasks on a real Ray cluster on this machine (conftest): ``TaskManager(executor=...)``
with the Ray executor runs each task's agent on a node and brings its files back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pygent import Runtime, TaskManager, make_executor
from pygent.app.settings import Settings
from tests.processes import eventually, long_sleep, processes_running

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


@pytest.fixture
def manager(ray_cluster: Any) -> Iterator[TaskManager]:
    executor = make_executor("ray", 2, address=ray_cluster.address, settings=LOCAL)
    tasks = TaskManager(settings=LOCAL, executor=executor)
    try:
        yield tasks
    finally:
        tasks.close()
        executor.shutdown()


def test_a_task_on_the_cluster_gets_its_files_and_sends_its_own_back(
        manager: TaskManager, local_runtime: Runtime) -> None:
    local_runtime.write_file("in.txt", "from the parent")
    task_id = manager.start_task(
        'write_file path="out/made.txt" content="made on a node"\ncat in.txt > copy.txt',
        local_runtime, files=["in.txt"])
    assert manager.wait(task_id, 120) == "finished"
    assert manager.tasks[task_id].remote
    assert manager.files(task_id) == ["copy.txt", "in.txt", "out/"]
    manager.collect_file(local_runtime, task_id, "out")
    manager.collect_file(local_runtime, task_id, "copy.txt", "back.txt")
    assert local_runtime.read_file("out/made.txt") == "made on a node"
    assert local_runtime.read_file("back.txt") == "from the parent"


def test_stopping_a_task_on_the_cluster_ends_its_command_there(
        manager: TaskManager, local_runtime: Runtime) -> None:
    sleep = long_sleep()
    task_id = manager.start_task(sleep, local_runtime)
    assert eventually(lambda: bool(processes_running(sleep)), 60)
    local_runtime.cleanup()  # the parent ends: its tasks are stopped
    assert manager.status(task_id) == "cancelled: the parent session ended"
    assert eventually(lambda: not processes_running(sleep), 30)
