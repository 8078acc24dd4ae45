"""What only the Docker sandbox promises: hardening, fault recovery, and no leaked containers."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pygent.adapters.sandbox.docker import DockerSandbox
from pygent.adapters.sandbox.docker_engine import DockerUnavailable, remove_container
from pygent.adapters.sandbox.local import LocalSandbox
from pygent.adapters.sandbox.owner import stand_in_id
from pygent.app.settings import Settings
from pygent.container import open_sandbox
from pygent.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(docker_image: str) -> Iterator[Any]:
    """A docker client for looking at what the sandbox did."""
    import docker

    api = docker.from_env()
    yield api
    api.close()


@pytest.fixture
def box(docker_image: str, workspace: Path) -> Iterator[DockerSandbox]:
    """A Docker sandbox with the default hardening on the test image."""
    sandbox = DockerSandbox(workspace, image=docker_image, timeout=30)
    yield sandbox
    sandbox.close()


def _ours(client: Any) -> list[dict[str, Any]]:
    label = f"pygent.owner_pid={os.getpid()}"
    return client.api.containers(all=True, filters={"label": ["pygent=1", label]})


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_container_has_no_network_route(box: DockerSandbox) -> None:
    result = box.run("ls /sys/class/net; tail -n +2 /proc/net/route | wc -l")
    assert result.output.split() == ["lo", "0"]


def test_commands_run_without_capabilities_as_a_non_root_user(box: DockerSandbox) -> None:
    status = box.run("grep CapEff /proc/self/status; id -u").output.split()
    assert status[:2] == ["CapEff:", "0000000000000000"]
    uid = int(status[2])
    assert uid != 0
    assert uid == (stand_in_id() if os.getuid() == 0 else os.getuid())
    if os.getuid() == 0:  # the stand-in is no host account's uid
        with pytest.raises(KeyError):
            pwd.getpwuid(uid)


def test_limits_and_owner_labels_are_set_on_the_container(box: DockerSandbox, client: Any) -> None:
    info = client.api.inspect_container(box.container_id)
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == 2 * 1024**3 and host["MemorySwap"] == 2 * 1024**3
    assert host["NanoCpus"] == 2_000_000_000 and host["PidsLimit"] == 512
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    labels = info["Config"]["Labels"]
    assert labels["pygent"] == "1" and labels["pygent.owner_pid"] == str(os.getpid())
    assert labels["pygent.owner_host"] == socket.gethostname()


def test_files_from_either_side_can_be_edited_by_the_other(box: DockerSandbox) -> None:
    box.write_file("/workspace/notes/todo.txt", "one\n")
    assert (box.workspace / "notes" / "todo.txt").read_text() == "one\n"
    result = box.run("echo two >> notes/todo.txt && echo made > notes/new.txt")
    assert result.exit_code == 0, result.to_text()
    assert box.read_file("notes/todo.txt") == "one\ntwo\n"
    owner = (box.workspace / "notes" / "new.txt").stat().st_uid
    assert owner == (stand_in_id() if os.getuid() == 0 else os.getuid())
    box.close()  # when the session ends, the invoking user owns what the commands made
    assert (box.workspace / "notes" / "new.txt").stat().st_uid == os.getuid()


def test_a_truncated_output_names_the_path_inside_the_container(box: DockerSandbox) -> None:
    result = box.run("seq 1 100000")
    assert result.truncated and result.full_output_path
    assert result.full_output_path.startswith("/pygent-output/")
    assert box.run(f"tail -n 1 {result.full_output_path}").output == "100000\n"


def test_a_container_killed_mid_command_is_reported_and_replaced(
    box: DockerSandbox, client: Any
) -> None:
    first = box.container_id
    started = box.workspace / "started"

    def kill_when_started() -> None:
        for _ in range(300):
            if started.exists():
                client.api.kill(first)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    result = box.run("touch started; sleep 60", timeout=60)
    killer.join()
    assert result.exit_code != 0 and not result.timed_out
    assert "container stopped" in result.notice and "fresh container" in result.notice
    after = box.run("echo back")
    assert after.output == "back\n"
    assert "fresh container" in after.notice
    assert box.container_id != first
    assert box.run("ls").output.split() == ["started"]


def test_a_fork_bomb_is_bounded_and_the_sandbox_survives(docker_image: str,
                                                         workspace: Path) -> None:
    sandbox = DockerSandbox(workspace, image=docker_image, pids=64)
    try:
        result = sandbox.run(":(){ :|: ; }; :", timeout=3)
        assert result.timed_out or result.exit_code != 0
        assert sandbox.run("ls / > /dev/null && echo alive", timeout=30).output == "alive\n"
    finally:
        sandbox.close()


def test_filling_memory_is_reported_as_out_of_memory(docker_image: str, workspace: Path) -> None:
    sandbox = DockerSandbox(workspace, image=docker_image, memory="64m")
    try:
        result = sandbox.run("python3 -c \"b = b'x' * (300 * 1024 * 1024)\"")
        assert result.exit_code == 137 and "out of memory" in result.notice
        assert sandbox.run("echo fine").output == "fine\n"
    finally:
        sandbox.close()


def test_twenty_sandboxes_opened_and_closed_leave_no_container(
    docker_image: str, client: Any, tmp_path: Path
) -> None:
    for i in range(20):
        sandbox = DockerSandbox(tmp_path / f"ws{i}", image=docker_image)
        sandbox.run("true")
        sandbox.close()
    assert _ours(client) == []


def test_stale_containers_of_dead_owners_are_reaped_whatever_their_state(
    docker_image: str, client: Any, workspace: Path
) -> None:
    labels = {"pygent": "1", "pygent.owner_pid": str(_dead_pid()),
              "pygent.owner_host": socket.gethostname()}
    created = client.containers.create(docker_image, ["true"], labels=labels)
    exited = client.containers.create(docker_image, ["true"], labels=labels)
    exited.start()
    exited.wait(timeout=30)
    live = client.containers.create(docker_image, ["true"], labels={**labels,
                                    "pygent.owner_pid": str(os.getpid())})
    try:
        DockerSandbox(workspace, image=docker_image).close()
        remaining = {c["Id"] for c in client.api.containers(all=True)}
        assert created.id not in remaining and exited.id not in remaining
        assert live.id in remaining
    finally:
        for container in (created, exited, live):
            remove_container(client, container.id)


def test_sigterm_removes_the_container_of_the_process(docker_image: str, client: Any,
                                                      workspace: Path) -> None:
    script = (
        "import sys, time\nfrom pygent.adapters.sandbox.docker import DockerSandbox\n"
        f"s = DockerSandbox({str(workspace)!r}, image={docker_image!r})\n"
        "print(s.container_id, flush=True)\ntime.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    container_id = child.stdout.readline().strip()
    assert container_id
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=60) == -signal.SIGTERM
    assert container_id not in {c["Id"] for c in client.api.containers(all=True)}


def test_a_missing_image_that_cannot_be_pulled_fails_clearly(docker_image: str,
                                                            workspace: Path) -> None:
    with pytest.raises(DockerUnavailable, match="could not be pulled.*PYGENT_IMAGE"):
        DockerSandbox(workspace, image="127.0.0.1:9/pygent-missing:none")


def test_no_engine_makes_forced_docker_fail_and_auto_fall_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, workspace: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DockerUnavailable, match="PYGENT_USE_DOCKER=0"):
        open_sandbox(Settings(use_docker=True, workspace=str(workspace)))
    caplog.set_level(logging.WARNING, logger="pygent")
    runtime = Runtime(settings=Settings(use_docker=None, workspace=str(workspace)))
    try:
        assert isinstance(runtime.sandbox, LocalSandbox) and runtime.use_docker is False
    finally:
        runtime.cleanup()
    warnings = [r.getMessage() for r in caplog.records if r.name == "pygent"]
    assert len(warnings) == 1 and "running commands locally" in warnings[0]


def test_auto_mode_uses_docker_when_the_engine_and_image_are_there(
    docker_image: str, workspace: Path
) -> None:
    runtime = Runtime(settings=Settings(use_docker=None, image=docker_image,
                                        workspace=str(workspace)))
    try:
        assert runtime.use_docker is True and runtime.kind == "docker"
        assert runtime.bash("cat /etc/debian_version").strip().startswith("12")
    finally:
        runtime.cleanup()
