"""Checkpoints of a Docker session: the container writes the bind-mounted workspace, the host
sees it (inotify included), undoes it, and the container can go on writing what was restored."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent import Agent
from pygent.adapters.checkpoint_store import GitCheckpointStore
from pygent.app.settings import Settings

pytestmark = pytest.mark.docker


@pytest.fixture
def agent(docker_image: str, workspace: Path) -> Iterator[Agent]:
    with Agent(settings=Settings(backend="direct", use_docker=True, image=docker_image,
                                 workspace=str(workspace), ask_user=False,
                                 task_tools=False)) as made:
        assert made.runtime.kind == "docker"
        yield made


def test_container_writes_are_checkpointed_through_the_hosts_watch_and_undone(
    agent: Agent, workspace: Path
) -> None:
    (workspace / "keep.txt").write_text("one\n")
    agent.step("ls")  # the first snapshot: the store starts watching
    store = agent.file_checkpoints.store if agent.file_checkpoints else None
    assert isinstance(store, GitCheckpointStore) and store.watching
    agent.step("echo two >> keep.txt && mkdir -p /workspace/new && printf '\\x00\\x01' > "
               "new/data.bin && mv keep.txt kept.txt")
    assert store.watching  # the snapshot saw the container's writes through inotify events
    assert set(agent.checkpoints[0].paths) == {"keep.txt", "kept.txt", "new/data.bin"}
    assert "rename from keep.txt\nrename to kept.txt" in agent.diff()
    agent.step('write_file path="new/note.txt" content="from the tool"')
    agent.undo()
    agent.undo()
    assert sorted(p.name for p in workspace.iterdir()) == ["keep.txt"]
    assert (workspace / "keep.txt").read_text() == "one\n"
    agent.redo()
    agent.redo()
    assert (workspace / "new" / "data.bin").read_bytes() == b"\x00\x01"
    # what the host restored, the container's user may change again
    out = agent.runtime.bash("echo three >> kept.txt && echo more >> new/note.txt && "
                             "rm new/data.bin && echo ok")
    assert out.strip().endswith("ok"), out
    assert (workspace / "kept.txt").read_text() == "one\ntwo\nthree\n"


def test_a_dirty_user_repository_in_a_docker_workspace_stays_as_it_was(
    agent: Agent, workspace: Path
) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=workspace,
                              check=True, capture_output=True, text=True).stdout

    git("init", "-q", "-b", "main")
    (workspace / "t.txt").write_text("v1\n")
    git("add", "t.txt")
    git("-c", "user.email=me@example.com", "-c", "user.name=Me", "commit", "-qm", "first")
    (workspace / "t.txt").write_text("stash me\n")
    git("stash", "-q")
    (workspace / "t.txt").write_text("staged\n")
    git("add", "t.txt")
    (workspace / "t.txt").write_text("dirty\n")

    def state() -> tuple[object, ...]:
        meta = {p.relative_to(workspace).as_posix(): p.read_bytes()
                for p in (workspace / ".git").rglob("*") if p.is_file()}
        return git("status", "--porcelain=v2"), git("stash", "list"), git("show-ref"), meta

    start = state()
    agent.step("echo agent >> t.txt && echo x > x.txt")
    agent.undo()
    assert state() == start
    agent.redo()
    agent.undo()
    assert state() == start
