"""Local mode confined by bubblewrap (issue 11, item 11): what a confined command cannot reach.

Unconfined, a local command runs as the host user with everything that user can reach
(``/proc/$PPID/environ`` shows the API key); confined, it sees its own /proc, no network
unless allowed, the workspace writable and the rest read-only or hidden.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent.adapters.sandbox.local import LocalSandbox
from pygent.domain.errors import SandboxError
from tests.security.conftest import SECRET, bwrap_or_skip


@pytest.fixture
def confined(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSandbox]:
    """A confined local sandbox, opened while the host holds an API key and a home secret."""
    bwrap_or_skip()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ssh = Path(os.environ["HOME"]) / ".ssh"
    ssh.mkdir(exist_ok=True)
    (ssh / "id_ed25519").write_text(SECRET)
    box = LocalSandbox(workspace, confine=True, timeout=30)
    yield box
    box.close()


def test_the_parents_environment_and_other_processes_are_out_of_sight(
    confined: LocalSandbox,
) -> None:
    result = confined.run("cat /proc/$PPID/environ /proc/1/environ 2>&1; ps e -e 2>&1; "
                          "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo $OPENAI_API_KEY")
    assert SECRET not in result.output
    processes = confined.run("ps -e --no-headers | wc -l").output.strip()
    assert int(processes) < 10  # its own PID namespace: the shell, ps, wc and init


def test_the_host_outside_the_workspace_is_read_only_or_hidden(
    confined: LocalSandbox, tmp_path: Path,
) -> None:
    home = os.environ["HOME"]
    result = confined.run(f"cat {home}/.ssh/id_ed25519; ls -a {home}; touch /etc/pygent-probe; "
                          f"echo x > /tmp/pygent-probe; echo x > {home}/pygent-probe; "
                          "for s in /var/run/docker.sock /run/docker.sock; do "
                          "[ -e $s ] && echo REACHABLE $s; done; "
                          f"touch {tmp_path}/out")
    assert SECRET not in result.output
    assert "Read-only file system" in result.output
    assert not Path("/etc/pygent-probe").exists() and not Path("/tmp/pygent-probe").exists()
    assert not (Path(home) / "pygent-probe").exists()
    assert not (tmp_path / "out").exists()
    assert "REACHABLE" not in result.output  # the Docker socket would be root on the host
    assert confined.run("echo kept > inside.txt && cat inside.txt").output == "kept\n"
    assert (confined.workspace / "inside.txt").read_text() == "kept\n"


@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A TCP server on the host's 127.0.0.1 that answers "hello"."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"hello\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_no_network_unless_allowed(workspace: Path, loopback_server: int) -> None:
    bwrap_or_skip()
    probe = f"exec 3<>/dev/tcp/127.0.0.1/{loopback_server} && head -n 1 <&3"
    for network, reachable in ((False, False), (True, True)):
        box = LocalSandbox(workspace, confine=True, network=network, timeout=20)
        try:
            result = box.run(probe)
            assert ("hello" in result.output) is reachable, result.to_text()
        finally:
            box.close()


def test_confinement_that_is_required_but_impossible_is_a_clear_error(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink("/bin/bash", bin_dir / "bash")
    monkeypatch.setenv("PATH", str(bin_dir))  # no bwrap on the PATH
    with pytest.raises(SandboxError, match="bubblewrap"):
        LocalSandbox(workspace, confine=True)
    box = LocalSandbox(workspace)  # auto: runs, and says how
    try:
        assert box.label == "local (unconfined)" and "not installed" in box.unconfined_reason
    finally:
        box.close()


@pytest.mark.parametrize("confine, label", [("", "local (confined)"),
                                            ("0", "local (unconfined)")])
def test_the_banner_says_whether_local_commands_are_confined(
    workspace: Path, confine: str, label: str,
) -> None:
    if confine == "":
        bwrap_or_skip()
    env = {**os.environ, "PYGENT_CONFINE": confine, "PYGENT_USE_DOCKER": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "pygent", "--backend", "direct", "--workspace", str(workspace)],
        input="/exit\n", capture_output=True, text=True, env=env, timeout=60)
    assert f" - {label} - model: direct" in done.stdout, done.stdout + done.stderr
