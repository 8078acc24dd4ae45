"""A sandbox in a Docker container: one hardened container and one persistent bash per sandbox.

The workspace is bind-mounted at /workspace; a second bind mount (a host temporary folder)
holds the command output files, which the host reads through a handle on that folder,
never following a link the container made. Containers carry owner labels and are removed
by ``close()``, at exit, on SIGTERM, or by the next session's reaper.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..domain.sandbox import CommandResult, SandboxError
from .command_output import OutputFolder
from .command_watch import CommandWatch
from .docker_cleanup import track, untrack
from .docker_engine import (
    CONTAINER_OUTPUT,
    CONTAINER_PATH,
    CONTAINER_WORKSPACE,
    STAND_IN,
    WORKSPACE,
    Limits,
    connect,
    container_problem,
    container_user,
    ensure_image,
    reap_stale,
    remove_container,
    start_container,
    workspace_in_use,
)
from .docker_shell import KILL_SCRIPT, ExecShell, ShellGone
from .shell_env import sandbox_env
from .shell_protocol import ShellProtocol, join_notices, result_from
from .workspace_owner import WorkspaceGrant
from .workspace_paths import WorkspaceFiles, clear_setid_bits

# Git refuses a repository another uid owns; the stand-in user works in the root's files.
TRUST_ANY_REPOSITORY = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                        "GIT_CONFIG_VALUE_0": "*"}

GRACE = 2.0  # seconds the shell gets to report after its command was killed
OOM_PROBE = "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control"


class DockerSandbox:
    """Runs commands in a persistent shell inside a container that sees only the workspace."""

    kind = "docker"

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
    ) -> None:
        self._client = connect()
        hand_back_stale(self._client, reap_stale(self._client))
        ensure_image(self._client, image, progress)
        self._owns_workspace = workspace is None
        path = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix="pygent-ws-"))
        path.mkdir(parents=True, exist_ok=True)
        self.workspace = path.resolve()
        self.image = image
        self.timeout = timeout
        self.output_limit = output_limit
        self.limits = Limits(network, memory, cpus, pids)
        self._uid, self._gid = container_user()
        self._user = None if self._uid is None else f"{self._uid}:{self._gid}"
        self._output = OutputFolder()
        self._closed = False
        self._container: Any = None
        self._shell: Optional[ExecShell] = None
        self._grant: Optional[WorkspaceGrant] = None
        extra = dict(env or {})
        stand_in = self._uid
        if stand_in is not None and stand_in != os.getuid():  # root: a stand-in user
            self._grant = WorkspaceGrant(stand_in, (os.getuid(), os.getgid()))
            extra = {**TRUST_ANY_REPOSITORY, **extra}
        self._files = WorkspaceFiles(self.workspace, alias=CONTAINER_WORKSPACE,
                                     adopt=self._grant.grant if self._grant else None)
        self._env = sandbox_env(extra, host={"PATH": CONTAINER_PATH, "HOME": "/tmp",
                                             "LANG": "C.UTF-8"})
        self._protocol = ShellProtocol()
        self._watch = CommandWatch()
        self._count = 0
        self._oom_kills = 0
        self._command_ticks = 0  # when the running command began, by the container's clock
        self._notice = ""
        track(self)
        try:
            if self._grant is not None:
                os.fchown(self._output.fd, self._grant.uid, self._grant.uid)  # our folder
                self._grant.grant_tree(self.workspace)
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
            WORKSPACE: str(self.workspace), STAND_IN: str(self._grant.uid)}
        self._container = start_container(
            self._client, image=self.image, workspace=self.workspace, labels=labels,
            output_dir=self._output.path,
            user=self._user, env=self._env, limits=self.limits)
        self._oom_kills = 0
        self._start_shell(CONTAINER_WORKSPACE)

    def _start_shell(self, cwd: str) -> None:
        try:
            self._shell = ExecShell(self._client.api, self._container.id, user=self._user,
                                    workdir=cwd, protocol=self._protocol)
        except Exception as exc:
            self._shell = None
            raise SandboxError(f"cannot start a shell in the container: {exc}") from exc

    def _replace_container(self, why: str) -> str:
        """Start a fresh container on the same workspace; say so."""
        self._drop_shell()
        if self._container is not None:
            remove_container(self._client, self._container.id)
            self._container = None
        self._start_container()
        return (f"{why}; a fresh container was started on the same workspace "
                "(the working directory and exported variables were reset)")

    def _drop_shell(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            shell.close()

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
            args = [str(shell.pid), str(self._command_ticks), "", str(self._protocol.sequence)]
        return self._exec(KILL_SCRIPT, *args) is not None

    def _respawn_shell(self) -> str:
        """Replace a stuck or ended shell in its working directory; SandboxError if it fails."""
        assert self._shell is not None
        cwd = (self._exec('readlink "/proc/$1/cwd"', str(self._shell.pid)) or "").strip()
        cwd = cwd or CONTAINER_WORKSPACE
        self._kill_command(everything=True)
        self._drop_shell()
        self._start_shell(cwd)
        return f"the shell was restarted in {cwd}; exported variables and functions were reset"

    def _restart_shell(self) -> str:
        """Replace a stuck shell, or the whole container when that fails."""
        try:
            return self._respawn_shell()
        except SandboxError:
            return self._replace_container("the shell could not be restarted")

    def _recover(self) -> str:
        """After a timeout or interrupt: kill the command's processes, or restart the shell."""
        assert self._shell is not None
        why = "the shell did not stop"
        if self._kill_command():
            try:
                found = self._shell.read_status(GRACE)
                if found is not None and found[2]:
                    why = "the command ended or replaced the shell (exec)"
                elif found is not None:
                    synced = self._shell.sync(GRACE)
                    if synced is not None and not synced[2]:
                        return ""
            except BaseException:
                pass
        if container_problem(self._client, self._container.id) is None:
            return join_notices(why, self._restart_shell())
        return self._replace_container("the command could not be stopped")

    def _settled_problem(self, wait: float = 3.0) -> Optional[str]:
        """What is wrong with the container, giving the engine time to notice it stopped."""
        deadline = time.monotonic() + wait
        while True:
            problem = container_problem(self._client, self._container.id)
            if problem is not None or time.monotonic() > deadline:
                return problem
            time.sleep(0.1)

    def _out_of_memory(self) -> bool:
        """True when the kernel OOM-killed something since the last look."""
        text = self._exec(OOM_PROBE + " 2>/dev/null; true") or ""
        counts = [int(w[1]) for w in (line.split() for line in text.splitlines())
                  if len(w) == 2 and w[0] == "oom_kill" and w[1].isdigit()]
        count = max(counts, default=self._oom_kills)
        seen, self._oom_kills = self._oom_kills, count
        return count > seen

    # -- commands -----------------------------------------------------------------------------
    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command``; stdin is /dev/null, stdout and stderr come back together."""
        if self._closed:
            raise SandboxError("this sandbox has been cleaned up; start a new one")
        return self._watch.watch(lambda: self._run(command, timeout))

    def interrupt(self) -> None:
        """Stop the running command from another thread; nothing happens when idle."""
        shell = self._shell
        if shell is None:
            return
        self._watch.interrupt(
            lambda: self._kill_command(),
            lambda: self._exec('kill -9 "$1"', str(shell.pid)),
            GRACE,
        )

    def _run(self, command: str, timeout: Optional[float]) -> CommandResult:
        notice, self._notice = self._notice, ""
        if self._shell is None:
            notice = self._replace_container(notice or "the container had stopped")
        assert self._shell is not None
        self._count += 1
        name = f"out.{self._count}"
        shown = f"{CONTAINER_OUTPUT}/{name}"
        limit = self.timeout if timeout is None else timeout
        self._command_ticks = self._shell.ticks_now()
        try:
            self._shell.send(self._protocol.command_line(command, shown))
            try:
                found = self._shell.read_status(limit)
            except BaseException:  # Ctrl-C: kill what the command started, keep the shell
                self._recover()
                raise
        except ShellGone:
            found = (b"", -1, True)
        if found is None:
            extra = self._recover()
            output = self._output.read(name, self.output_limit, shown)
            return result_from(output, 124, b"", shown, timed_out=True, notice=join_notices(
                notice, f"timed out after {limit:g} s", extra))
        before, status, ended = found
        output = self._output.read(name, self.output_limit, shown)
        if ended:
            problem = container_problem(self._client, self._container.id)
            if problem is None:
                try:
                    return result_from(output, status, before, shown, notice=join_notices(
                        notice, "the command ended the shell", self._respawn_shell()))
                except SandboxError:  # the engine had not yet seen the container stop
                    problem = self._settled_problem()
            self._drop_shell()
            self._notice = problem = problem or "the shell could not be restarted"
            return CommandResult(output.text, 137 if status < 0 else status, notice=join_notices(
                notice, f"{problem} while the command ran; the next command starts a "
                "fresh container on the same workspace", output.problem))
        elif status == 137 and self._out_of_memory():
            notice = join_notices(notice, "killed by the kernel: out of memory (the container's "
                                  f"limit is {self.limits.memory}, PYGENT_DOCKER_MEMORY)")
        return result_from(output, status, before, shown, notice=notice)

    # -- files --------------------------------------------------------------------------------
    def write_file(self, path: str, text: str) -> Path:
        """Write a text file inside the workspace (``/workspace/...`` paths too)."""
        return self._files.write_text(path, text)

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""
        return self._files.read_text(path)

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace."""
        return self._files.copy_in(src, dest)

    def close(self) -> None:
        """Remove the container, then give the workspace back: the invoking user owns what
        the commands made and no set-id bit survives; a temporary workspace is removed."""
        if self._closed:
            return
        self._closed = True
        untrack(self)
        self._drop_shell()
        if self._container is not None:
            remove_container(self._client, self._container.id)
            self._container = None
        self._output.close()
        try:
            if self._owns_workspace:
                shutil.rmtree(self.workspace, ignore_errors=True)
            elif self._grant is not None:
                self._grant.hand_back(self.workspace)
            elif self.workspace.is_dir():
                clear_setid_bits(self.workspace)
        finally:
            self._client.close()


def hand_back_stale(client: Any, reaped: list[dict[str, str]]) -> None:
    """Give back the workspaces of sessions that died as root before they could close."""
    for labels in reaped:
        folder, uid = labels.get(WORKSPACE), labels.get(STAND_IN, "")
        if not folder or not uid.isdigit() or os.getuid() != 0 or not os.path.isdir(folder):
            continue
        if workspace_in_use(client, folder):
            continue  # another session still works there as that user
        try:
            WorkspaceGrant(int(uid), (os.getuid(), os.getgid())).hand_back(Path(folder))
        except (OSError, SandboxError):
            pass
