"""Talking to the Docker engine: connect, make sure of the image, start and reap containers.

The ``docker`` SDK is imported inside these functions, so importing this module is cheap.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ...domain.errors import SandboxError

LABEL = "pygent"
OWNER_PID = "pygent.owner_pid"
OWNER_HOST = "pygent.owner_host"
WORKSPACE = "pygent.workspace"  # the host folder, when a stand-in user's ACLs are on it
STAND_IN = "pygent.stand_in"  # that stand-in uid
READ_ONLY = "pygent.read_only"  # "1": its ACL entries are read-only ones, no mode was changed
CONTAINER_WORKSPACE = "/workspace"
CONTAINER_OUTPUT = "/pygent-output"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOCAL_HINT = "or run commands locally with --no-docker / PYGENT_USE_DOCKER=0"


@dataclass(frozen=True)
class Limits:
    """What a sandbox container may use: network, memory, CPUs and processes."""

    network: str = "none"
    memory: str = "2g"
    cpus: float = 2.0
    pids: int = 512


class DockerUnavailable(SandboxError):
    """Docker cannot be used here: no SDK, no engine answering, or no image."""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__


def connect(timeout: float = 60.0) -> Any:
    """A docker client whose engine has answered a ping."""
    try:
        import docker
    except ImportError as exc:
        raise DockerUnavailable(
            "the docker Python package is not installed: pip install 'pygent[docker]', "
            + LOCAL_HINT
        ) from exc
    where = os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(
            f"no Docker engine answers at {where} ({_short(exc)}); start Docker or fix "
            f"DOCKER_HOST, {LOCAL_HINT}"
        ) from exc
    return client


def ensure_image(client: Any, image: str, progress: Optional[Callable[[str], None]] = None) -> None:
    """Pull ``image`` when the engine does not have it, reporting each layer's progress."""
    from docker.errors import DockerException, ImageNotFound
    from docker.utils import parse_repository_tag

    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    except DockerException as exc:
        raise DockerUnavailable(f"cannot look up the image {image}: {_short(exc)}") from exc
    report = progress or (lambda line: None)
    repository, tag = parse_repository_tag(image)
    report(f"pulling {image} ...")
    last: dict[str, str] = {}
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise DockerException(event["error"])
            layer, status = str(event.get("id", "")), str(event.get("status", ""))
            if last.get(layer) != status:
                last[layer] = status
                report(f"{layer}: {status}" if layer else status)
    except DockerException as exc:
        raise DockerUnavailable(
            f"the image {image} is not present and could not be pulled ({_short(exc)}); "
            f"pull or build it (docker pull {image}), set PYGENT_IMAGE to an image the engine "
            f"has, {LOCAL_HINT}"
        ) from exc
    report(f"pulled {image}")


def owner_labels() -> dict[str, str]:
    """Labels that mark a container as Pygent's and name the process that owns it."""
    return {LABEL: "1", OWNER_PID: str(os.getpid()), OWNER_HOST: socket.gethostname()}


def container_user() -> tuple[Optional[int], Optional[int]]:
    """The uid:gid commands run as: the invoking user's, or, for root, an id no host account
    has (never root: the container must not own the host's root files)."""
    if not hasattr(os, "getuid"):
        return None, None
    if os.getuid() == 0:
        from .owner import stand_in_id

        stand_in = stand_in_id()
        return stand_in, stand_in
    return os.getuid(), os.getgid()


def start_container(client: Any, *, image: str, workspace: Path, output_dir: Path,
                    user: Optional[str], env: dict[str, str], limits: Limits,
                    labels: Optional[dict[str, str]] = None, read_only: bool = False) -> Any:
    """Create and start a hardened, labelled container that idles until commands come.

    ``read_only`` mounts the workspace read-only; the output folder stays writable.
    """
    from docker.errors import DockerException

    container = None
    try:
        container = client.containers.create(
            image,
            entrypoint=["sleep"],
            command=["infinity"],
            init=True,
            user=user or "",
            working_dir=CONTAINER_WORKSPACE,
            environment=env,
            labels={**owner_labels(), **(labels or {})},
            volumes={
                str(workspace): {"bind": CONTAINER_WORKSPACE,
                                 "mode": "ro" if read_only else "rw"},
                str(output_dir): {"bind": CONTAINER_OUTPUT, "mode": "rw"},
            },
            network_mode=limits.network,
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
        container.start()
    except DockerException as exc:
        if container is not None:
            remove_container(client, container.id)
        raise SandboxError(f"cannot start a container from {image}: {_short(exc)}") from exc
    return container


def remove_container(client: Any, container_id: str) -> None:
    """Remove a container whatever its state; a missing one is fine."""
    from docker.errors import DockerException

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except DockerException:
        pass


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale(client: Any) -> list[dict[str, str]]:
    """Remove this host's Pygent containers whose owner process is gone; return their labels."""
    from docker.errors import DockerException

    host = socket.gethostname()
    try:
        found = client.api.containers(
            all=True, filters={"label": [f"{LABEL}=1", f"{OWNER_HOST}={host}"]}
        )
    except DockerException:
        return []
    reaped = []
    for entry in found:
        labels = entry.get("Labels") or {}
        try:
            pid = int(labels.get(OWNER_PID, "0"))
        except ValueError:
            pid = 0
        if not _alive(pid):
            remove_container(client, entry["Id"])
            reaped.append(labels)
    return reaped


def workspace_in_use(client: Any, workspace: str) -> bool:
    """True when a live Pygent container still works in ``workspace`` with a stand-in user."""
    from docker.errors import DockerException

    try:
        found = client.api.containers(all=True, filters={"label": [f"{WORKSPACE}={workspace}"]})
        return bool(found)
    except DockerException:
        return True  # cannot tell: leave it alone


def container_problem(client: Any, container_id: str) -> Optional[str]:
    """Why the container cannot run commands (stopped, OOM-killed, removed), or None."""
    from docker.errors import DockerException, NotFound

    try:
        state = client.api.inspect_container(container_id)["State"]
    except NotFound:
        return "the container was removed"
    except DockerException as exc:
        return f"the container cannot be inspected ({_short(exc)})"
    if state.get("Running") and not state.get("Paused"):
        return None
    if state.get("OOMKilled"):
        return "the container ran out of memory and was stopped"
    return (f"the container stopped (status {state.get('Status')}, "
            f"exit code {state.get('ExitCode')})")
