"""A read-only session (``workspace_mode = "read-only"``) leaves the workspace exactly as it was.

Docker and confined local sessions mount it read-only, so commands fail with the system's own
error; every sandbox's file operations (write_file, /cp, uploads, files a task brings back)
refuse before touching anything. Unconfined local commands are not held to it, and the start
says so. A project file the agent can write cannot lift it.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pygent import Agent, ReadOnlyError, Runtime
from pygent.app.agent import AgentLoop
from pygent.app.commands import Session, run_command
from pygent.app.settings import Settings, load_settings
from pygent.app.tasks import copy_between
from pygent.container import UNENFORCED_READ_ONLY, task_settings
from tests.fakes import FakeModel, say
from tests.security.conftest import open_sandbox

#: What a command run in a read-only workspace tries; every part of it must fail.
WRITES = ("touch new.txt; echo more >> a.txt; rm -f sub/b.txt; mkdir made; chmod 777 a.txt; "
          "ln -s / link; mv a.txt moved.txt; : > sub/b.txt; true")


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything a write could change: names, types, modes, owners, sizes, times, bytes,
    ACLs (ctime aside, which an ACL given and taken back moves)."""
    found: dict[str, tuple[Any, ...]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = os.lstat(path)
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        attrs = sorted(os.listxattr(path, follow_symlinks=False)) if not path.is_symlink() \
            else []
        found[str(path.relative_to(root))] = (
            info.st_mode, info.st_uid, info.st_gid, info.st_size, info.st_mtime_ns, data, attrs)
    return found


@pytest.fixture
def project(workspace: Path) -> Path:
    """A small project: a file, a folder, an executable."""
    (workspace / "a.txt").write_text("original\n")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "b.txt").write_text("kept\n")
    (workspace / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (workspace / "run.sh").chmod(0o755)
    return workspace


@pytest.fixture(params=["docker", "confined", "unconfined"])
def read_only_box(request: pytest.FixtureRequest, project: Path) -> Iterator[Any]:
    box = open_sandbox(request.param, project, read_only=True)
    yield box
    box.close()


def test_every_file_operation_is_refused_and_nothing_changes(
    read_only_box: Any, project: Path, tmp_path: Path
) -> None:
    before = snapshot(project)
    (tmp_path / "host.txt").write_text("from the host")
    (tmp_path / "host-dir").mkdir()
    (tmp_path / "host-dir" / "x.txt").write_text("x")
    attempts = [
        lambda: read_only_box.write_file("a.txt", "overwritten"),
        lambda: read_only_box.write_file("new/deep/c.txt", "new"),
        lambda: read_only_box.write_file(f"{read_only_box.workspace}/abs.txt", "absolute"),
        lambda: read_only_box.copy_in(str(tmp_path / "host.txt")),
        lambda: read_only_box.copy_in(str(tmp_path / "host-dir"), "sub/dir"),
    ]
    if read_only_box.kind == "docker":
        attempts.append(lambda: read_only_box.write_file("/workspace/alias.txt", "alias"))
    for attempt in attempts:
        with pytest.raises(ReadOnlyError, match="read-only"):
            attempt()
    assert read_only_box.read_file("a.txt") == "original\n"  # reading still works
    assert snapshot(project) == before


def test_a_read_only_write_is_refused_before_any_path_is_walked(
    read_only_box: Any, project: Path, tmp_path: Path
) -> None:
    """A link the sandbox planted never decides anything: the refusal comes first."""
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, project / "escape")
    with pytest.raises(ReadOnlyError):
        read_only_box.write_file("escape/planted.txt", "x")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("kind", ["docker", "confined"])
def test_commands_cannot_change_a_read_only_mount_but_output_and_tmp_still_work(
    kind: str, project: Path
) -> None:
    before = snapshot(project)
    box = open_sandbox(kind, project, read_only=True)
    try:
        result = box.run(WRITES)
        assert "Read-only file system" in result.output, result.output
        scratch = box.run("echo scratch > /tmp/s && cat /tmp/s && cat a.txt && ./run.sh && pwd")
        assert scratch.exit_code == 0, scratch.to_text()
        assert scratch.output.split("\n")[:3] == ["scratch", "original", "ran"]
        assert box.run("seq 1 100000 | tail -1").output == "100000\n"  # captured output
    finally:
        box.close()
    assert snapshot(project) == before


def test_unconfined_local_commands_are_not_held_to_it_and_the_start_says_so(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(backend="direct", use_docker=False, confine=False,
                        workspace=str(project), workspace_mode="read-only")
    with caplog.at_level(logging.WARNING, logger="pygent"):
        agent = Agent(settings=settings)
    try:
        assert UNENFORCED_READ_ONLY in caplog.text
        assert "local commands run unconfined" in UNENFORCED_READ_ONLY
        refused = agent.dispatch("write_file", '{"path": "a.txt", "content": "x"}')[0]
        assert "read-only" in refused
        assert agent.runtime.run("touch unconfined.txt").exit_code == 0  # said, not enforced
    finally:
        agent.close()
    assert (project / "a.txt").read_text() == "original\n"


def test_the_cp_command_and_a_task_s_files_are_refused_in_a_read_only_session(
    project: Path, tmp_path: Path
) -> None:
    (tmp_path / "host.txt").write_text("host")
    before = snapshot(project)
    runtime = Runtime(sandbox=open_sandbox("unconfined", project, read_only=True))
    scratch = Runtime(sandbox=open_sandbox("unconfined", tmp_path / "task-ws"))
    try:
        session = Session(AgentLoop(FakeModel(default=say("ok")), runtime))
        outcome = run_command(session, f"/cp {tmp_path / 'host.txt'}")
        assert outcome.is_error and "read-only" in outcome.text
        scratch.write_file("result.txt", "from a task")
        with pytest.raises(ReadOnlyError):
            copy_between(scratch, "result.txt", runtime, "result.txt")
    finally:
        runtime.cleanup()
        scratch.cleanup()
    assert snapshot(project) == before
    # a delegated task's own scratch workspace stays writable
    parent = Settings(workspace=str(project), workspace_mode="read-only")
    assert task_settings(parent, "local").workspace_mode == "write"


def _settings(home: Path, project: Path, **environ: str) -> Settings:
    return load_settings(environ={"HOME": str(home), **environ}, cwd=project,
                         workspace=str(project))


def test_a_project_file_cannot_switch_a_read_only_session_to_write(
    tmp_path: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pygent.toml").write_text('workspace_mode = "read-only"\n')
    (project / "pygent.toml").write_text('workspace_mode = "write"\nkeep_workspace = "never"\n')
    with caplog.at_level(logging.WARNING, logger="pygent"):
        settings = _settings(home, project)
    assert settings.workspace_mode == "read-only"
    assert settings.keep_workspace == "ask"
    assert "ignored workspace_mode = write, keep_workspace:" in caplog.text
    (home / ".pygent.toml").unlink()
    assert _settings(home, project, PYGENT_WORKSPACE_MODE="read-only").workspace_mode == \
        "read-only"


def test_a_project_file_may_make_a_session_read_only(tmp_path: Path, project: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (project / "pygent.toml").write_text('workspace_mode = "read-only"\n')
    assert _settings(home, project).workspace_mode == "read-only"
    assert _settings(home, project, PYGENT_WORKSPACE_MODE="write").workspace_mode == "write"


@pytest.mark.skipif(os.getuid() != 0, reason="the stand-in user exists only when run as root")
def test_as_root_docker_reads_another_user_s_private_folder_and_leaves_no_trace(
    project: Path,
) -> None:
    (project / "setuid").write_bytes(b"#!/bin/sh\n")
    for path in [project, *project.rglob("*")]:
        os.chown(path, 1234, 1234, follow_symlinks=False)
        path.chmod(0o700 if path.is_dir() else 0o600)
    (project / "setuid").chmod(0o4755)
    before = snapshot(project)
    box = open_sandbox("docker", project, read_only=True)
    try:
        shown = box.run("cat sub/b.txt && ls")
        assert shown.exit_code == 0 and shown.output.startswith("kept\n"), shown.to_text()
        assert box.run("echo x >> sub/b.txt").exit_code != 0
    finally:
        box.close()
    assert snapshot(project) == before  # owners, modes (set-user-id too), no ACL left
