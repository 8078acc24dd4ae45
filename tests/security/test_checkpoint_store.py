"""Attacks on checkpoints: the sandbox writes the workspace, the host snapshots and restores it.

Whatever a step leaves in the workspace (git attributes and config, nested ``.git`` folders,
FIFOs, links to host files, a 1 TB sparse file, escape codes in names), a snapshot, a diff or
an undo must not run a program, read or write outside the workspace, hang, or lose a file.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from pygent import Agent
from pygent.adapters.checkpoint_store import GitCheckpointStore
from pygent.app.commands import Session, run_command
from pygent.app.settings import Settings
from pygent.domain.errors import CheckpointConflict, PygentError, SandboxError

Make = Callable[[], Agent]
CANARY = "host-secret-canary-4c1d"


@pytest.fixture
def make(workspace: Path) -> Iterator[Make]:
    made: list[Agent] = []

    def build() -> Agent:
        made.append(Agent(settings=Settings(
            backend="direct", use_docker=False, confine=False, workspace=str(workspace),
            ask_user=False, task_tools=False)))
        return made[-1]

    yield build
    for agent in made:
        agent.close()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A host folder next to the workspace, holding a secret."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text(CANARY)
    return path


def stored_bytes(agent: Agent) -> bytes:
    """Every object of the agent's checkpoint store, as git itself reads them."""
    checkpoints = agent.file_checkpoints
    assert checkpoints is not None and isinstance(checkpoints.store, GitCheckpointStore)
    checkpoints.store.objects.finish()
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"],
                          env={**os.environ, "GIT_DIR": str(checkpoints.store.git_dir)},
                          capture_output=True, check=True).stdout


def test_git_attributes_and_config_in_the_workspace_run_nothing_and_change_no_byte(
    make: Make, workspace: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    program = f"touch {marker}"
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text(
        f'[core]\n\tfsmonitor = "{program}"\n\tpager = "{program}"\n'
        f'[filter "evil"]\n\tclean = "{program}"\n\tsmudge = "{program}"\n\trequired = true\n'
        f'[diff "evil"]\n\ttextconv = "{program}"\n\tcommand = "{program}"\n'
        f'[diff]\n\texternal = "{program}"\n')
    (workspace / ".gitattributes").write_text("* filter=evil diff=evil text eol=crlf ident\n")
    original = b"line one\r\nline two\n$Id$\n"
    (workspace / "data.txt").write_bytes(original)
    agent = make()
    agent.step("printf 'changed\\n' > data.txt")
    assert "+changed" in agent.diff()
    agent.undo()
    assert (workspace / "data.txt").read_bytes() == original
    agent.redo()
    agent.undo()
    assert (workspace / "data.txt").read_bytes() == original
    assert not marker.exists()


@pytest.mark.timeout(60)  # a FIFO opened for reading would block forever
def test_nested_git_folders_fifos_and_gitdir_links_are_never_opened(
    make: Make, workspace: Path, outside: Path
) -> None:
    os.mkfifo(outside / "HEAD")
    agent = make()
    agent.step("mkdir -p sub/.git/refs sub/.git/objects && mkfifo sub/.git/HEAD && "
               "echo work > sub/file.txt && mkfifo pipe && "
               f"mkdir other && printf 'gitdir: {outside}\\n' > other/.git && echo o > other/o")
    [checkpoint] = agent.checkpoints
    assert set(checkpoint.paths) == {"sub/file.txt", "other/o"}  # no .git, no FIFO
    assert "sub/file.txt" in agent.diff()
    agent.undo()
    assert not (workspace / "sub" / "file.txt").exists()
    assert stat.S_ISFIFO(os.lstat(workspace / "sub" / ".git" / "HEAD").st_mode)  # left alone
    assert stat.S_ISFIFO(os.lstat(workspace / "pipe").st_mode)


def test_a_link_to_a_host_file_is_kept_as_a_link_and_never_read(
    make: Make, workspace: Path, outside: Path
) -> None:
    agent = make()
    agent.step(f"ln -s {outside / 'secret.txt'} leak && ln -s {outside} door")
    assert CANARY.encode() not in stored_bytes(agent)  # the link's text is kept, not its file
    assert str(outside / "secret.txt").encode() in stored_bytes(agent)
    agent.undo()
    assert not os.path.lexists(workspace / "leak") and not os.path.lexists(workspace / "door")
    agent.redo()
    assert os.readlink(workspace / "leak") == str(outside / "secret.txt")
    assert os.readlink(workspace / "door") == str(outside)
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_undo_never_writes_through_a_folder_the_step_made_a_link(
    make: Make, workspace: Path, outside: Path
) -> None:
    (workspace / "config").mkdir()
    (workspace / "config" / "secret.txt").write_text("workspace copy\n")
    agent = make()
    agent.step(f"rm -rf config && ln -s {outside} config")
    agent.undo()
    assert not (workspace / "config").is_symlink()
    assert (workspace / "config" / "secret.txt").read_text() == "workspace copy\n"
    assert (outside / "secret.txt").read_text() == CANARY


def test_a_link_planted_after_the_step_is_refused_even_with_force(
    make: Make, workspace: Path, outside: Path
) -> None:
    (workspace / "config").mkdir()
    (workspace / "config" / "secret.txt").write_text("workspace copy\n")
    agent = make()
    agent.step("rm config/secret.txt")
    agent.runtime.run(f"rmdir config && ln -s {outside} config")  # a later command, not a step
    with pytest.raises(CheckpointConflict, match="config changed after step 1"):
        agent.undo()
    with pytest.raises(SandboxError, match="a link or a file now"):
        agent.undo(force=True)
    assert (outside / "secret.txt").read_text() == CANARY
    assert sorted(os.listdir(outside)) == ["secret.txt"]


@pytest.mark.timeout(60)  # reading a terabyte of zeros would take hours
def test_a_huge_sparse_file_is_kept_by_size_and_never_read(make: Make, workspace: Path) -> None:
    agent = make()
    agent.step("truncate -s 1T huge && echo small > small.txt")
    assert len(stored_bytes(agent)) < 100_000
    assert "huge: too big to keep a copy of" in agent.diff()
    agent.undo()  # a file the step made goes, big or not
    assert not (workspace / "huge").exists() and not (workspace / "small.txt").exists()
    done = agent.redo()
    assert "Not restored (too big to keep a copy of): huge" in done.text
    assert (workspace / "small.txt").exists() and not (workspace / "huge").exists()


def test_the_hosts_git_settings_and_variables_never_reach_the_store(
    make: Make, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    (Path(os.environ["HOME"]) / ".gitconfig").write_text(
        f"[diff]\n\texternal = {script}\n[core]\n\tpager = {script}\n")
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", str(script))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'diff.external={script}'")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_PAGER", str(script))
    agent = make()
    agent.step("echo hello > a.txt")
    assert "+hello" in agent.diff()
    assert not marker.exists()
    assert not (tmp_path / "elsewhere").exists()


def test_names_with_escape_codes_are_shown_escaped(make: Make, workspace: Path) -> None:
    session = Session(make())
    session.agent.step("echo x > \"$(printf 'evil\\033[2J\\rname')\"")
    [checkpoint] = session.agent.checkpoints
    assert "\x1b" not in checkpoint.label and "\r" not in checkpoint.label
    for line in ("/diff", "/undo", "/redo"):
        text = run_command(session, line).text
        assert "\x1b" not in text and "\r" not in text, text


def test_the_store_is_private_outside_the_workspace_and_refuses_to_be_inside(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GitCheckpointStore(workspace)
    try:
        assert workspace not in store.folder.parents
        assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    finally:
        store.close()
    assert not store.folder.exists()
    monkeypatch.setattr(tempfile, "tempdir", str(workspace))
    with pytest.raises(SandboxError, match="would be inside the workspace"):
        GitCheckpointStore(workspace)
    assert os.listdir(workspace) == []  # and it left nothing there


def test_a_bad_path_for_diff_is_a_clear_error(make: Make) -> None:
    agent = make()
    agent.step("echo x > x.txt")
    for path in ("../x.txt", "/etc/passwd", "a/../../b"):
        with pytest.raises(PygentError, match="outside the workspace"):
            agent.diff(path)


def test_a_git_the_sandbox_puts_in_the_workspace_is_never_run(
    make: Make, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    planted = workspace / "git"
    planted.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    planted.chmod(0o755)
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("PATH", f"{workspace}:.:{os.environ['PATH']}")
    agent = make()
    agent.step("echo hello > a.txt")
    assert "+hello" in agent.diff()
    assert not marker.exists()
