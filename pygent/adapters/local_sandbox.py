"""A sandbox on the host: one persistent bash per workspace, confined by bubblewrap when it can.

See :mod:`.confinement` for what confinement protects; unconfined, commands run as the
host user with everything that user can reach.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from ..domain.sandbox import CommandResult, SandboxError
from .command_output import OutputFolder
from .command_watch import CommandWatch
from .confinement import (
    INSTALL_HINT,
    SANDBOX_OUTPUT,
    BwrapLayout,
    find_bwrap,
    unconfined_argv,
)
from .process_tree import (
    Mark,
    command_mark,
    descendants,
    kill_descendants,
    kill_tree,
    namespace_pid,
)
from .shell_env import sandbox_env
from .shell_protocol import SHELL_TEXT_LIMIT, ShellProtocol, join_notices, result_from
from .workspace_paths import WorkspaceFiles, clear_setid_bits, remove_tree

GRACE = 2.0  # seconds the shell gets to report after its command was killed
READY = 15.0  # seconds a new shell gets to answer its first round trip


class LocalSandbox:
    """Runs commands on this machine in a persistent shell started in the workspace."""

    kind = "local"

    def __init__(
        self,
        workspace: Optional[str | Path] = None,
        *,
        timeout: float = 600.0,
        output_limit: int = 65536,
        env: Optional[dict[str, str]] = None,
        confine: Optional[bool] = None,
        network: bool = False,
    ) -> None:
        self._owns_workspace = workspace is None
        path = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix="pygent-ws-"))
        path.mkdir(parents=True, exist_ok=True)
        self.workspace = path.resolve()
        self.timeout = timeout
        self.output_limit = output_limit
        self._env = sandbox_env(env)
        self._state = Path(tempfile.mkdtemp(prefix="pygent-local-"))
        self._output = OutputFolder(self._state / "out")
        self._files = WorkspaceFiles(self.workspace)
        self._protocol = ShellProtocol()
        self._watch = CommandWatch()
        self._count = 0
        self._closed = False
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._shell_pid = 0
        self._spare: set[int] = set()  # the shell and, confined, its namespace's init
        self._cwd_hint: Optional[Path] = None
        self._eof = False
        self._mark: Optional[Mark] = None  # when the running command began
        self._layout: Optional[BwrapLayout] = None
        self._bwrap = ""
        self.unconfined_reason = ""
        try:
            self._choose_confinement(confine, network)
        except BaseException:
            self.close()
            raise

    @property
    def confined(self) -> bool:
        """True when commands run inside bubblewrap's namespaces."""
        return self._layout is not None

    @property
    def label(self) -> str:
        """Where commands run, as the banner says it."""
        return "local (confined)" if self.confined else "local (unconfined)"

    # -- the shell --------------------------------------------------------------------------
    def _choose_confinement(self, confine: Optional[bool], network: bool) -> None:
        reason = "confinement is switched off (PYGENT_CONFINE=0)"
        if confine is not False:
            bwrap = find_bwrap()
            if bwrap is None:
                reason = "bubblewrap (bwrap) is not installed"
            else:
                self._bwrap = bwrap
                self._layout = BwrapLayout(self.workspace, self._state, self._output.path,
                                           network, self._env)
                self._layout.prepare()
                problem = self._start_shell(self.workspace)
                if problem is None:
                    return
                self._layout = None
                reason = f"bubblewrap cannot confine commands here: {problem}"
        if confine:
            raise SandboxError(f"local commands cannot be confined: {reason}; {INSTALL_HINT}")
        self.unconfined_reason = reason
        problem = self._start_shell(self.workspace)
        if problem is not None:
            raise SandboxError(f"cannot start a local shell: {problem}")

    def _start_shell(self, cwd: Path) -> Optional[str]:
        """Start the shell in ``cwd``; the reason it did not come up, or None."""
        argv = ([self._bwrap, *self._layout.argv(cwd)] if self._layout is not None
                else unconfined_argv())
        self._eof = False
        try:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                cwd=self.workspace if self._layout is not None else cwd, env=self._env,
                start_new_session=True, bufsize=0)
        except OSError as exc:
            self._process = None
            return str(exc)
        self._shell_pid = self._process.pid
        self._spare = {self._process.pid}
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(self._protocol.status_line('"$$"'))
            found = self._wait_status(READY)
        except OSError:
            found = None
        if found is None or found[2]:
            text = (found[0] if found else b"").decode("utf-8", errors="replace").strip()
            self._stop_shell()
            return text.splitlines()[-1] if text else "the shell did not answer"
        if self._layout is not None:
            self._find_confined_shell(found[1])
        return None

    def _find_confined_shell(self, inner_pid: int) -> None:
        """The host pid of the confined shell (``inner_pid`` inside its namespace)."""
        assert self._process is not None
        for pid in descendants(self._process.pid):
            if namespace_pid(pid) == inner_pid:
                self._shell_pid = pid
                break
        self._spare = {self._process.pid, *descendants(self._process.pid)}

    def _shell_cwd(self) -> Path:
        """Where the shell is now: kept for a restart when it lies inside the workspace."""
        hint, self._cwd_hint = self._cwd_hint, None
        try:
            cwd = Path(os.readlink(f"/proc/{self._shell_pid}/cwd"))
        except OSError:
            cwd = hint or self.workspace
        inside = cwd == self.workspace or self.workspace in cwd.parents
        if (self.confined and not inside) or not cwd.is_dir():
            return self.workspace
        return cwd

    def _restart(self) -> str:
        cwd = self._shell_cwd()
        self._stop_shell()
        problem = self._start_shell(cwd)
        if problem is not None:
            raise SandboxError(f"the shell could not be restarted: {problem}")
        return f"the shell was restarted in {cwd}; exported variables and functions were reset"

    def _revive(self) -> str:
        """Start a new shell when the old one died between commands; say so."""
        code = self._process.returncode if self._process is not None else None
        self._stop_shell()
        problem = self._start_shell(self.workspace)
        if problem is not None:
            raise SandboxError(f"the shell had ended and could not be restarted: {problem}")
        return f"the shell had ended (status {code}); a new one was started in {self.workspace}"

    def _stop_shell(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if self._layout is not None:
            for pid in self._spare - {process.pid}:  # the namespace's init takes all with it
                _kill(pid)
        kill_tree(process.pid)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
            pass

    def _kill_command(self) -> None:
        """SIGINT to the shell (its trap skips the rest of the line), SIGKILL to what it started."""
        _kill(self._shell_pid, signal.SIGINT)
        if self._process is not None and self._mark is not None:
            kill_descendants(self._process.pid, self._mark, self._spare)

    # -- commands ---------------------------------------------------------------------------
    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command``; stdin is /dev/null, stdout and stderr come back together."""
        if self._closed:
            raise SandboxError("this sandbox has been cleaned up; start a new one")
        return self._watch.watch(lambda: self._run(command, timeout))

    def interrupt(self) -> None:
        """Stop the running command from another thread; nothing happens when idle."""
        process = self._process
        if process is None:
            return

        def kill_shell() -> None:
            self._cwd_hint = self._shell_cwd()
            kill_tree(process.pid)

        self._watch.interrupt(self._kill_command, kill_shell, GRACE)

    def _run(self, command: str, timeout: Optional[float]) -> CommandResult:
        notice = ""
        if self._process is None or self._process.poll() is not None:
            notice = self._revive()
        assert self._process is not None and self._process.stdin is not None
        self._count += 1
        name = f"out.{self._count}"
        shown = f"{SANDBOX_OUTPUT}/{name}" if self.confined else str(self._output.path / name)
        limit = self.timeout if timeout is None else timeout
        self._mark = command_mark()
        try:
            self._process.stdin.write(self._protocol.command_line(command, shown))
            found = self._wait_status(limit)
        except OSError:
            notice = join_notices(notice, "the shell had died", self._restart())
            return CommandResult("", 1, notice=f"{notice}; the command did not run, run it again")
        except BaseException:  # Ctrl-C: kill what the command started, keep the shell
            self._recover()
            raise
        if found is None:
            extra = self._recover()
            output = self._output.read(name, self.output_limit, shown)
            return result_from(output, 124, b"", shown, timed_out=True, notice=join_notices(
                notice, f"timed out after {limit:g} s", extra))
        before, status, ended = found
        output = self._output.read(name, self.output_limit, shown)
        if ended:
            notice = join_notices(notice, f"the shell ended (status {status})", self._restart())
        return result_from(output, status, before, shown, notice=notice)

    def _wait_status(self, limit: float) -> Optional[tuple[bytes, int, bool]]:
        """Read the shell's stdout until the status line; None on timeout.

        Returns (shell text, status, shell ended). When the shell's stdout closes (it ended,
        or ``exec`` replaced it), waits until the deadline for it to exit.
        """
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + limit
        buffer = b""
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self._eof = True
                break
            buffer = (buffer + chunk)[-SHELL_TEXT_LIMIT:]
            found = self._protocol.find_status(buffer)
            if found is not None:
                return found[0], found[1], False
        try:
            code = self._process.wait(timeout=max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            return None
        return buffer, code if code >= 0 else 128 - code, True

    def _recover(self) -> str:
        """After a timeout or interrupt: kill the command's processes, or restart the shell."""
        self._kill_command()
        if not self._eof:
            try:
                found = self._wait_status(GRACE)
                if found is not None and not found[2] and self._sync():
                    return ""
            except BaseException:
                pass
        why = ("the command replaced the shell (exec) or closed its output"
               if self._eof else "the shell did not stop")
        return join_notices(why, self._restart())

    def _sync(self) -> bool:
        """One empty round trip, so bash's late "Killed" job notices land here, not later.

        False when the shell ended meanwhile (the command closed what it reads commands from).
        """
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(self._protocol.command_line(":", os.devnull))
        found = self._wait_status(GRACE)
        return found is not None and not found[2]

    # -- files ------------------------------------------------------------------------------
    def write_file(self, path: str, text: str) -> Path:
        """Write a text file inside the workspace."""
        return self._files.write_text(path, text)

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""
        return self._files.read_text(path)

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace."""
        return self._files.copy_in(src, dest)

    def close(self) -> None:
        """Stop the shell and everything it started; remove the workspace if it was temporary.

        A kept workspace loses any set-user-id or set-group-id bit a command set on a file.
        """
        if self._closed:
            return
        self._closed = True
        self._stop_shell()
        self._output.close()
        remove_tree(self._state)
        if self._owns_workspace:
            shutil.rmtree(self.workspace, ignore_errors=True)
        elif self.workspace.is_dir():
            clear_setid_bits(self.workspace)


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
