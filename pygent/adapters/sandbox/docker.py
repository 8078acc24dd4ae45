"""A sandbox in a Docker container: one hardened container and one persistent bash per sandbox.

The workspace is bind-mounted at /workspace; a second bind mount (a host temporary folder)
holds the command output files, which the host reads through a handle on that folder,
never following a link the container made. Containers carry owner labels and are removed
by ``close()``, at exit, on SIGTERM, or by the next session's reaper. The shell machinery
is :mod:`.shell`'s.
"""

from __future__ import annotations

import atexit
import os
import signal
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Optional

from ...domain.errors import SandboxError
from ...domain.sandbox import CommandResult
from . import docker_engine as engine
from .docker_shell import KILL_SCRIPT, ExecShell
from .env import sandbox_env
from .output import CapturedOutput, OutputFolder
from .owner import WorkspaceGrant
from .paths import WorkspaceFiles
from .protocol import join_notices, result_from
from .shell import ShellSandbox

# Git refuses a repository another uid owns; the stand-in user works in the root's files.
TRUST_ANY_REPOSITORY = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                        "GIT_CONFIG_VALUE_0": "*"}

OOM_PROBE = "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control"


class DockerSandbox(ShellSandbox[ExecShell]):
    """Runs commands in a persistent shell inside a container that sees only the workspace."""

    kind = "docker"
    _output_home = engine.CONTAINER_OUTPUT

    def __init__(
        self,
        workspace: Optional[str | Path] = None,
        *,
        image: str = "python:3.12-slim",
        timeout: float = 600.0,
        output_limit: int = 65536,
        env: Optional[dict[str, str]] = None,
        network: str = "none",
        memory: str = "2g",
        cpus: float = 2.0,
        pids: int = 512,
        progress: Optional[Callable[[str], None]] = None,
        read_only: bool = False,
    ) -> None:
        self._client = engine.connect()
        hand_back_stale(self._client, engine.reap_stale(self._client))
        engine.ensure_image(self._client, image, progress)
        super().__init__(workspace, timeout, output_limit)
        self.read_only = self._sealed = read_only  # the workspace is mounted read-only
        self.image = image
        self.limits = engine.Limits(network, memory, cpus, pids)
        self._uid, self._gid = engine.container_user()
        self._user = None if self._uid is None else f"{self._uid}:{self._gid}"
        self._output = OutputFolder()
        self._container: Any = None
        extra = dict(env or {})
        if self._uid is not None and self._uid != os.getuid():  # root: a stand-in user
            self._grant = WorkspaceGrant(self._uid, (os.getuid(), os.getgid()), read_only)
            extra = {**TRUST_ANY_REPOSITORY, **extra}
        self._files = WorkspaceFiles(self.workspace, alias=engine.CONTAINER_WORKSPACE,
                                     adopt=self._grant.grant if self._grant else None,
                                     read_only=read_only)
        self._env = sandbox_env(extra, host={"PATH": engine.CONTAINER_PATH, "HOME": "/tmp",
                                             "LANG": "C.UTF-8"})
        self._oom_kills = 0
        self._notice = ""
        track(self)
        try:
            if self._grant is not None:
                os.fchown(self._output.fd, self._grant.uid, self._grant.uid)  # our folder
                self._grant.grant_tree(self.workspace)  # read-only: read entries only
            self._start_container()
        except BaseException:
            self.close()
            raise

    @property
    def label(self) -> str:
        """Where commands run, as the banner says it."""
        return "Docker"

    @property
    def container_id(self) -> Optional[str]:
        """The id of the container commands run in now."""
        return None if self._container is None else self._container.id

    # -- the container and its shell ----------------------------------------------------------
    def _start_container(self) -> None:
        labels = {} if self._grant is None else {
            engine.WORKSPACE: str(self.workspace), engine.STAND_IN: str(self._grant.uid),
            **({engine.READ_ONLY: "1"} if self.read_only else {})}
        self._container = engine.start_container(
            self._client, image=self.image, workspace=self.workspace, labels=labels,
            output_dir=self._output.path, read_only=self.read_only,
            user=self._user, env=self._env, limits=self.limits)
        self._oom_kills = 0
        self._start_shell(engine.CONTAINER_WORKSPACE)

    def _start_shell(self, cwd: str) -> None:
        try:
            self._shell = ExecShell(self._client.api, self._container.id, user=self._user,
                                    workdir=cwd, protocol=self._protocol)
        except Exception as exc:
            self._shell = None
            raise SandboxError(f"cannot start a shell in the container: {exc}") from exc

    def _remove_container(self) -> None:
        self._drop_shell()
        if self._container is not None:
            engine.remove_container(self._client, self._container.id)
            self._container = None

    def _replace_container(self, why: str) -> str:
        """Start a fresh container on the same workspace; say so."""
        self._remove_container()
        self._start_container()
        return (f"{why}; a fresh container was started on the same workspace "
                "(the working directory and exported variables were reset)")

    def _exec(self, script: str, *args: str) -> Optional[str]:
        """Run a short helper inside the container; None when it cannot run."""
        try:
            code, out = self._container.exec_run(["bash", "-c", script, "pygent", *args],
                                                 user=self._user or "")
        except Exception:
            return None
        return None if code is None else out.decode("utf-8", errors="replace")

    def _kill_command(self, everything: bool = False) -> bool:
        """Kill what the running command started, or with ``everything`` the shell and all it
        ever started; False when the helper cannot run."""
        shell = self._shell
        assert shell is not None
        if everything:
            args = [str(shell.pid), str(shell.started), "all", "0", str(shell.pid - 1)]
        else:
            args = [str(shell.pid), str(shell.mark), "", str(self._protocol.sequence)]
        return self._exec(KILL_SCRIPT, *args) is not None

    def _kill_shell(self, shell: ExecShell) -> None:
        self._exec('kill -9 "$1"', str(shell.pid))

    def _respawn_shell(self) -> str:
        """Replace a stuck or ended shell in its working directory; SandboxError if it fails."""
        assert self._shell is not None
        cwd = (self._exec('readlink "/proc/$1/cwd"', str(self._shell.pid)) or "").strip()
        cwd = cwd or engine.CONTAINER_WORKSPACE
        self._kill_command(everything=True)
        self._drop_shell()
        self._start_shell(cwd)
        return f"the shell was restarted in {cwd}; exported variables and functions were reset"

    def _restart(self, why: str) -> str:
        """Replace a stuck shell, or the whole container when that fails."""
        if engine.container_problem(self._client, self._container.id) is not None:
            return self._replace_container("the command could not be stopped")
        try:
            return join_notices(why, self._respawn_shell())
        except SandboxError:
            return self._replace_container("the shell could not be restarted")

    def _settled_problem(self, wait: float = 3.0) -> Optional[str]:
        """What is wrong with the container, giving the engine time to notice it stopped."""
        deadline = time.monotonic() + wait
        while True:
            problem = engine.container_problem(self._client, self._container.id)
            if problem is not None or time.monotonic() > deadline:
                return problem
            time.sleep(0.1)

    def _status_notice(self, status: int) -> str:
        """Name the kernel's OOM kill, when it killed something since the last look."""
        if status != 137:
            return ""
        text = self._exec(OOM_PROBE + " 2>/dev/null; true") or ""
        counts = [int(w[1]) for w in (line.split() for line in text.splitlines())
                  if len(w) == 2 and w[0] == "oom_kill" and w[1].isdigit()]
        count = max(counts, default=self._oom_kills)
        seen, self._oom_kills = self._oom_kills, count
        return ("killed by the kernel: out of memory (the container's limit is "
                f"{self.limits.memory}, PYGENT_DOCKER_MEMORY)") if count > seen else ""

    # -- commands -----------------------------------------------------------------------------
    def _revive(self) -> str:
        """A fresh container when the last one stopped; the notice saying so."""
        notice, self._notice = self._notice, ""
        if self._shell is None:
            notice = self._replace_container(notice or "the container had stopped")
        return notice

    def _ended(self, output: CapturedOutput, status: int, text: bytes, shown: str,
               notice: str) -> CommandResult:
        problem = engine.container_problem(self._client, self._container.id)
        if problem is None:
            try:
                return result_from(output, status, text, shown, notice=join_notices(
                    notice, "the command ended the shell", self._respawn_shell()))
            except SandboxError:  # the engine had not yet seen the container stop
                problem = self._settled_problem()
        self._drop_shell()
        self._notice = problem = problem or "the shell could not be restarted"
        return CommandResult(output.text, 137 if status < 0 else status, notice=join_notices(
            notice, f"{problem} while the command ran; the next command starts a "
            "fresh container on the same workspace", output.problem))

    def _shut_down(self) -> None:
        untrack(self)
        self._remove_container()
        self._client.close()


def hand_back_stale(client: Any, reaped: list[dict[str, str]]) -> None:
    """Give back the workspaces of sessions that died as root before they could close."""
    for labels in reaped:
        folder, uid = labels.get(engine.WORKSPACE), labels.get(engine.STAND_IN, "")
        read_only = labels.get(engine.READ_ONLY) == "1"
        if not folder or not uid.isdigit() or os.getuid() != 0 or not os.path.isdir(folder):
            continue
        if engine.workspace_in_use(client, folder):
            continue  # another session still works there as that user
        try:
            WorkspaceGrant(int(uid), (os.getuid(), os.getgid()), read_only).hand_back(
                Path(folder))
        except (OSError, SandboxError):
            pass


# -- never leak a container: close every open Docker sandbox at exit and on SIGTERM ------
_LIVE: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()
_PREVIOUS: dict[str, Any] = {}  # "installed" once the clean-ups are set, "sigterm" the old handler


def close_all() -> None:
    """Close every open Docker sandbox (at exit and on SIGTERM)."""
    for sandbox in list(_LIVE):
        try:
            sandbox.close()
        except Exception:
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    close_all()
    previous = _PREVIOUS.get("sigterm", signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def untrack(sandbox: DockerSandbox) -> None:
    """Forget a sandbox that closed itself."""
    _LIVE.discard(sandbox)


def track(sandbox: DockerSandbox) -> None:
    """Track ``sandbox`` and install the exit and SIGTERM clean-ups once."""
    _LIVE.add(sandbox)
    if _PREVIOUS:
        return
    _PREVIOUS["installed"] = True
    atexit.register(close_all)
    try:
        _PREVIOUS["sigterm"] = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: atexit still cleans up
        pass
