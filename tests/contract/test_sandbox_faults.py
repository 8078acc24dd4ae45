"""Sandbox faults: each gives a clear result, and the next command works."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent.domain.errors import SandboxError
from tests.contract.test_sandbox_contract import SANDBOX_KINDS, _open, every_sandbox

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a test filesystem needs root")


@pytest.fixture(params=SANDBOX_KINDS)
def sandbox(request: pytest.FixtureRequest, workspace: Path) -> Iterator:  # type: ignore[type-arg]
    box = _open(request.param, workspace, timeout=20)
    yield box
    box.close()


def test_a_command_that_kills_its_own_shell_is_reported_and_the_next_works(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run("cd /tmp")
    result = sandbox.run("kill -9 $$")
    assert "ended" in result.notice and "shell" in result.notice
    assert sandbox.run("echo alive").output == "alive\n"


def test_a_shell_killed_from_outside_between_commands_is_replaced_and_says_so(
    workspace: Path,
) -> None:
    from pygent.adapters.sandbox.local import LocalSandbox

    box = LocalSandbox(workspace, timeout=20)
    try:
        box.run("true")
        assert box._process is not None
        os.kill(box._process.pid, signal.SIGKILL)
        box._process.wait()
        result = box.run("echo alive")
        assert result.output == "alive\n" and "new one was started" in result.notice
    finally:
        box.close()


def test_a_command_that_closes_stdout_early_still_returns(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("echo before; exec 1>&-; echo after >&2", timeout=10)
    assert not result.timed_out and "before" in result.output
    assert sandbox.run("echo next").output == "next\n"


def test_catting_a_binary_file_gives_text(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run("head -c 20000 /dev/urandom > blob.bin")
    result = sandbox.run("cat blob.bin")
    assert result.exit_code == 0 and "\ufffd" in result.output  # bad bytes replaced, not lost
    assert result.truncated and "the full output (20000 bytes)" in result.output
    result.to_text().encode("utf-8")  # always encodable for the model


def test_a_command_waiting_on_stdin_gets_end_of_file_at_once(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("python3 -c 'import sys; print(repr(sys.stdin.read()))'", timeout=10)
    assert not result.timed_out and result.output.strip() == "''"


@needs_root
def test_a_full_workspace_fails_the_write_clearly_and_the_sandbox_goes_on(tmp_path: Path) -> None:
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        for kind in SANDBOX_KINDS:
            box = _open(kind, mount, timeout=20)
            try:
                result = box.run("head -c 1000000 /dev/zero > big")
                assert result.exit_code != 0 and "No space left" in result.output
                with pytest.raises(SandboxError, match="No space left"):
                    box.write_file("more.txt", "x" * 200_000)
                assert box.run("echo ok").output == "ok\n"
            finally:
                box.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@needs_root
def test_a_read_only_workspace_fails_writes_clearly_and_reads_still_work(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    (mount / "kept.txt").write_text("kept")
    subprocess.run(["mount", "--bind", str(mount), str(mount)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
    try:
        for kind in SANDBOX_KINDS:
            box = _open(kind, mount, timeout=20)
            try:
                result = box.run("touch new.txt")
                assert result.exit_code != 0 and "Read-only file system" in result.output
                with pytest.raises(SandboxError, match="Read-only file system"):
                    box.write_file("new.txt", "x")
                assert box.read_file("kept.txt") == "kept"
            finally:
                box.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@every_sandbox
def test_a_symlink_swapped_in_for_the_file_itself_is_not_followed(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "target.txt"
    outside.write_text("untouched")
    os.symlink(outside, sandbox.workspace / "swap.txt")
    with pytest.raises(SandboxError):
        sandbox.write_file("swap.txt", "overwritten")
    assert outside.read_text() == "untouched"
