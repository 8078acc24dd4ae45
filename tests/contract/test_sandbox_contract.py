"""One suite every SandboxPort adapter must pass (Docker joins through the fixture's params).

The test fake runs no shell, so it joins only the tests marked ``every_sandbox``: the file
operations, path escapes, closing, and what a sandbox says about itself.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent.domain.errors import PathEscapeError, SandboxError


def _open(kind: str, workspace: Path, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    if kind == "local":
        from pygent.adapters.sandbox.local import LocalSandbox

        return LocalSandbox(workspace, timeout=timeout, output_limit=4096)
    if kind == "docker":
        from pygent.adapters.sandbox.docker import DockerSandbox
        from tests.docker_image import docker_image_or_skip

        return DockerSandbox(
            workspace, image=docker_image_or_skip(), timeout=timeout, output_limit=4096
        )
    if kind == "fake":
        from tests.fakes import FakeSandbox

        return FakeSandbox(workspace)
    raise AssertionError(f"unknown sandbox kind {kind}")


SANDBOX_KINDS = ["local", "docker"]
EVERY_KIND = [*SANDBOX_KINDS, "fake"]
every_sandbox = pytest.mark.parametrize("sandbox", EVERY_KIND, indirect=True)


@pytest.fixture(params=SANDBOX_KINDS)
def sandbox(request: pytest.FixtureRequest, workspace: Path) -> Iterator:  # type: ignore[type-arg]
    box = _open(request.param, workspace)
    yield box
    box.close()


def test_cwd_and_exported_variables_carry_over(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run("mkdir -p sub && cd sub && export GREETING=hello")
    result = sandbox.run('pwd; echo "$GREETING"')
    assert result.output.splitlines()[0].endswith("/sub")
    assert result.output.splitlines()[1] == "hello"


def test_stdout_and_stderr_come_back_together_with_the_exit_status(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("echo out; echo err >&2; exit_code() { return 3; }; exit_code")
    assert "out" in result.output and "err" in result.output
    assert result.exit_code == 3
    assert "[exit status 3]" in result.to_text()


def test_a_timed_out_command_is_killed_with_its_children_and_the_shell_stays_usable(
    sandbox,
) -> None:  # type: ignore[no-untyped-def]
    marker = f"pygent-contract-{os.getpid()}-{time.monotonic_ns()}"
    result = sandbox.run(f"bash -c 'sleep 300; echo {marker}' & sleep 300", timeout=1)
    assert result.timed_out
    assert "timed out" in result.to_text()
    left = sandbox.run("ps -eo args | grep -c '[s]leep 300' || true")
    assert left.output.strip() == "0"
    assert sandbox.run("echo still here").output == "still here\n"


def test_a_busy_shell_builtin_loop_is_stopped_and_the_shell_keeps_its_state(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run("mkdir -p deep && cd deep && export KEPT=yes")
    result = sandbox.run("while :; do :; done", timeout=1)
    assert result.timed_out
    cwd, kept = sandbox.run('pwd; echo "$KEPT"').output.split()
    assert cwd.endswith("/deep") and kept == "yes"


def test_the_rest_of_a_timed_out_command_line_never_runs(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run("touch precious")
    result = sandbox.run("sleep 30; rm precious; echo removed", timeout=1)
    assert result.timed_out and "removed" not in result.output
    assert sandbox.run("ls precious").output == "precious\n"


def test_output_is_capped_to_head_and_tail_with_the_full_text_kept_in_a_file(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("seq 1 100000")
    assert result.truncated
    assert result.output.startswith("1\n2\n")
    assert result.output.rstrip().endswith("100000")
    assert "omitted" in result.output and result.full_output_path
    assert len(result.output) < 4096 + 300
    assert sandbox.run(f"tail -n 1 {result.full_output_path}").output == "100000\n"


def test_a_200_megabyte_flood_keeps_memory_flat(sandbox) -> None:  # type: ignore[no-untyped-def]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = sandbox.run("head -c 200000000 /dev/zero | tr '\\0' x")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.truncated and result.exit_code == 0
    assert (after - before) < 50_000  # KiB: the flood never sits in our memory


def test_a_background_job_returns_at_once(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("sleep 100 & echo started", timeout=10)
    assert not result.timed_out and "started" in result.output


def test_stdin_never_blocks_a_command(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run('read line; echo "got:$line"; cat', timeout=10)
    assert not result.timed_out
    assert result.output.startswith("got:")


def test_binary_output_is_decoded_with_replacement(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("printf 'ok\\377\\376\\000end'")
    assert result.output.startswith("ok") and "end" in result.output
    assert "\ufffd" in result.output


def test_a_syntax_error_is_reported_not_hung(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("if then fi", timeout=10)
    assert not result.timed_out and result.exit_code != 0
    assert "syntax error" in result.output


def test_exit_in_a_command_restarts_the_shell_and_says_so(sandbox) -> None:  # type: ignore[no-untyped-def]
    result = sandbox.run("exit 4")
    assert result.exit_code == 4 and "restarted" in result.notice
    assert sandbox.run("echo back").output == "back\n"


@every_sandbox
def test_files_round_trip_inside_the_workspace(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.write_file("dir/a.txt", "héllo\n")
    assert sandbox.read_file("dir/a.txt") == "héllo\n"
    assert sandbox.run("cat dir/a.txt").output == "héllo\n"


def test_a_written_script_runs_and_other_files_stay_unexecutable(sandbox) -> None:  # type: ignore[no-untyped-def]
    # A small model wrote backup_name.sh with write_file, then could not chmod it (it called
    # an invented chmod tool): a file that opens with #! is meant to be run.
    sandbox.write_file("bin/hello.sh", '#!/bin/sh\necho "hello $1"\n')
    sandbox.write_file("notes.txt", "#not a script\n")
    assert sandbox.run("./bin/hello.sh you").output == "hello you\n"
    assert sandbox.run("test -x notes.txt").exit_code == 1
    mode = (sandbox.workspace / "bin" / "hello.sh").stat().st_mode & 0o7777
    assert mode & 0o111 and not mode & 0o6000  # executable, never set-id


@every_sandbox
@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd-pygent", "a/../../b", "/"])
def test_paths_outside_the_workspace_are_refused(sandbox, path: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PathEscapeError):
        sandbox.write_file(path, "x")
    with pytest.raises(PathEscapeError):
        sandbox.read_file(path)


@every_sandbox
def test_a_symlink_pointing_out_of_the_workspace_is_refused(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, sandbox.workspace / "link")
    with pytest.raises(PathEscapeError):
        sandbox.write_file("link/x.txt", "x")
    assert not (outside / "x.txt").exists()


@every_sandbox
def test_copy_in_puts_a_host_file_in_the_workspace_and_refuses_escapes(
    sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "notes.txt"
    src.write_text("copied")
    sandbox.copy_in(str(src))
    assert sandbox.run("cat notes.txt").output == "copied"
    with pytest.raises(PathEscapeError):
        sandbox.copy_in(str(src), "../../elsewhere.txt")


def test_host_secrets_never_reach_a_command(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    for kind in SANDBOX_KINDS:
        box = _open(kind, workspace)
        try:
            env = box.run("env").output
        finally:
            box.close()
        assert "sk-test-secret-value" not in env and "OPENAI_API_KEY" not in env
        assert "aws-secret-value" not in env
        assert "PAGER=cat" in env and "GIT_TERMINAL_PROMPT=0" in env


def test_a_closed_sandbox_refuses_commands_and_closing_twice_is_fine(workspace: Path) -> None:
    for kind in EVERY_KIND:
        box = _open(kind, workspace)
        box.close()
        box.close()
        with pytest.raises(SandboxError):
            box.run("true")


def _run_in_thread(sandbox, command: str):  # type: ignore[no-untyped-def]
    import threading

    results: list = []  # type: ignore[type-arg]
    worker = threading.Thread(target=lambda: results.append(sandbox.run(command, timeout=120)))
    worker.start()
    return worker, results


def _wait_until_started(sandbox, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the command in the other thread to touch ``started`` in the workspace."""
    deadline = time.monotonic() + within
    while not (sandbox.workspace / "started").exists():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.02)


def test_interrupt_from_another_thread_stops_the_command_and_the_shell_goes_on(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.run('export STARTED="$PWD/started" && cd /tmp && export KEPT=yes')
    worker, results = _run_in_thread(sandbox, 'touch "$STARTED"; sleep 100; echo never')
    _wait_until_started(sandbox)
    sandbox.interrupt()
    worker.join(30)
    assert not worker.is_alive()
    result = results[0]
    assert "interrupted by the user" in result.notice and "never" not in result.output
    assert not result.timed_out
    assert sandbox.run('pwd; echo "$KEPT"').output == "/tmp\nyes\n"


def test_interrupt_ends_a_builtin_loop_by_restarting_the_shell(sandbox) -> None:  # type: ignore[no-untyped-def]
    worker, results = _run_in_thread(sandbox, "touch started; while :; do :; done")
    _wait_until_started(sandbox)
    sandbox.interrupt()
    worker.join(30)
    assert not worker.is_alive()
    assert "interrupted by the user" in results[0].notice
    assert sandbox.run("echo back").output == "back\n"


@every_sandbox
def test_interrupt_when_idle_does_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.interrupt()
    assert sandbox.run("echo fine").output == "fine\n"


@every_sandbox
def test_a_sandbox_names_its_kind_and_works_in_the_workspace_it_was_given(
    sandbox, workspace: Path,
) -> None:  # type: ignore[no-untyped-def]
    assert sandbox.kind in EVERY_KIND
    assert Path(sandbox.workspace).resolve() == workspace.resolve()
    sandbox.write_file("here.txt", "x")
    assert (workspace / "here.txt").read_text() == "x"


@every_sandbox
def test_a_missing_file_is_a_file_not_found_error_that_says_so(sandbox) -> None:  # type: ignore[no-untyped-def]
    for missing in ("nope.txt", "no/such/folder.txt"):
        with pytest.raises(FileNotFoundError, match="no such file or folder in the workspace"):
            sandbox.read_file(missing)
    with pytest.raises(SandboxError):  # still a sandbox error for code that catches those
        sandbox.read_file("nope.txt")


@every_sandbox
def test_files_and_folders_export_to_the_host_without_following_links(  # type: ignore[no-untyped-def]
    sandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("sk-host-only")
    sandbox.write_file("out/a.txt", "A")
    sandbox.write_file("out/sub/b.txt", "B")
    os.symlink(secret, sandbox.workspace / "out" / "link.txt")  # planted by a command
    single = sandbox.copy_out("out/a.txt", tmp_path / "single.txt")
    assert single.read_text() == "A"
    exported = sandbox.copy_out("out", tmp_path / "fresh")
    assert exported == tmp_path / "fresh"
    assert sorted(str(p.relative_to(exported)) for p in exported.rglob("*")) == [
        "a.txt", "sub", "sub/b.txt"]
    (tmp_path / "existing").mkdir()
    assert sandbox.copy_out("out", tmp_path / "existing") == tmp_path / "existing" / "out"
    with pytest.raises(PathEscapeError):
        sandbox.copy_out("out/link.txt", tmp_path / "stolen.txt")
    with pytest.raises(FileNotFoundError):
        sandbox.copy_out("gone", tmp_path / "gone")
    assert not (tmp_path / "stolen.txt").exists()
    copies = [single, *(tmp_path / "fresh").rglob("*"), *(tmp_path / "existing").rglob("*")]
    assert all(not p.is_symlink() for p in copies)
    assert "sk-host-only" not in "".join(p.read_text() for p in copies if p.is_file())


def test_runtime_export_file_copies_a_workspace_file_to_the_host(tmp_path: Path) -> None:
    from pygent import Runtime

    with Runtime(use_docker=False, workspace=tmp_path / "ws") as runtime:
        runtime.write_file("report.md", "# done\n")
        assert runtime.export_file("report.md", tmp_path).read_text() == "# done\n"
    assert (tmp_path / "report.md").read_text() == "# done\n"
