"""Files between a parent and its delegated tasks: nothing a task's commands or a model's paths
do reaches outside either workspace, and nothing a task plants is followed on the host."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent import Agent
from pygent.app.settings import Settings

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


@pytest.fixture
def parent() -> Iterator[Agent]:
    with Agent(settings=LOCAL) as agent:
        yield agent


def finished_task(parent: Agent, prompt: str) -> str:
    answer, is_error = parent.dispatch("delegate_task", json.dumps({"prompt": prompt}))
    assert not is_error, answer
    task_id = answer.split()[1]
    assert parent.tasks.wait(task_id, 30) == "finished"
    return task_id


def collect(parent: Agent, task_id: str, path: str, dest: str = "") -> tuple[str, bool]:
    arguments = {"task_id": task_id, "path": path, **({"dest": dest} if dest else {})}
    return parent.dispatch("collect_file", json.dumps(arguments))


def test_a_link_a_task_planted_to_a_host_file_is_not_followed(parent: Agent,
                                                              tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host only")
    task_id = finished_task(parent, f"ln -s {secret} leak.txt\nmkdir d && ln -s {secret} d/leak")
    answer, is_error = collect(parent, task_id, "leak.txt")
    assert is_error and not (parent.runtime.workspace / "leak.txt").exists()
    answer, is_error = collect(parent, task_id, "d")
    assert not is_error, answer
    assert list((parent.runtime.workspace / "d").iterdir()) == []  # the link was left behind


def test_a_link_to_a_host_folder_is_not_entered(parent: Agent, tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key").write_text("k")
    task_id = finished_task(parent, f"ln -s {tmp_path / 'private'} p")
    answer, is_error = collect(parent, task_id, "p/key")
    assert is_error and "key" not in os.listdir(parent.runtime.workspace)


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "a/../../x"])
def test_a_path_out_of_the_tasks_workspace_is_refused(parent: Agent, path: str) -> None:
    task_id = finished_task(parent, "true")
    answer, is_error = collect(parent, task_id, path)
    assert is_error and "outside" in answer.lower()


@pytest.mark.parametrize("dest", ["../escaped.txt", "/tmp/escaped-by-a-task.txt"])
def test_a_destination_out_of_the_parents_workspace_is_refused(parent: Agent, dest: str) -> None:
    task_id = finished_task(parent, 'write_file path="r.txt" content="r"')
    answer, is_error = collect(parent, task_id, "r.txt", dest)
    assert is_error and "outside" in answer.lower()
    assert not (parent.runtime.workspace.parent / "escaped.txt").exists()
    assert not Path("/tmp/escaped-by-a-task.txt").exists()


def test_files_given_to_a_task_cannot_come_from_outside_the_parents_workspace(
        parent: Agent) -> None:
    answer, is_error = parent.dispatch("delegate_task", json.dumps(
        {"prompt": "true", "files": ["/etc/passwd"]}))
    assert is_error and "outside" in answer.lower() and parent.tasks.tasks == {}


def test_a_fifo_in_a_tasks_workspace_does_not_hang_the_parent(parent: Agent) -> None:
    task_id = finished_task(parent, "mkfifo pipe && mkdir d && mkfifo d/pipe")
    answer, is_error = collect(parent, task_id, "pipe")
    assert is_error and "not a file" in answer
    assert not collect(parent, task_id, "d")[1]
    assert list((parent.runtime.workspace / "d").iterdir()) == []


def test_a_link_planted_in_the_parents_workspace_does_not_redirect_a_collected_file(
        parent: Agent, tmp_path: Path) -> None:
    target = tmp_path / "host-target.txt"
    target.write_text("untouched")
    parent.runtime.bash(f"ln -s {target} out.txt")
    task_id = finished_task(parent, 'write_file path="out.txt" content="overwrite"')
    answer, is_error = collect(parent, task_id, "out.txt")
    assert target.read_text() == "untouched"
