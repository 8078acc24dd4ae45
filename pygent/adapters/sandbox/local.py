"""A sandbox on the host: one persistent bash per workspace, confined by bubblewrap when it can.

See :mod:`.confinement` for what confinement protects; unconfined, commands run as the
host user with everything that user can reach. The shell machinery is :mod:`.shell`'s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from ...domain.errors import SandboxError
from ...domain.sandbox import CommandResult
from . import processes
from .confinement import INSTALL_HINT, SANDBOX_OUTPUT, BwrapLayout, find_bwrap, unconfined_argv
from .env import sandbox_env
from .output import CapturedOutput, OutputFolder
from .paths import WorkspaceFiles, remove_tree
from .protocol import ShellGone, ShellProtocol, ShellStream, join_notices, result_from
from .shell import ShellSandbox

#: Python that puts SIGINT back to its default, then runs its arguments.
_DEFAULT_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execvp(sys.argv[1], sys.argv[1:])")


def _with_default_sigint(argv: list[str]) -> list[str]:
    """``argv``, run with SIGINT at its default when Pygent itself has it ignored: started in
    the background (``nohup pygent run ... &``), it has, and a shell cannot trap a signal
    ignored when it started, so an interrupt or a timeout killed the command and the rest of
    its line ran on. Only then does the shell's start cost a Python start more."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return argv
    return [sys.executable, "-c", _DEFAULT_SIGINT, *argv]


class PipeShell(ShellStream):
    """A bash started as a child process (bare or in bubblewrap), talked to through pipes."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str],
                 protocol: ShellProtocol, confined: bool) -> None:
        super().__init__(protocol)
        self.process = subprocess.Popen(
            _with_default_sigint(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd, env=env, start_new_session=True, bufsize=0)
        self.pid = self.process.pid  # the shell's host pid (confined: found below)
        self.spare = {self.process.pid}  # the shell and, confined, its namespace's init
        self.mark: Optional[processes.Mark] = None  # when the running command began
        assert self.process.stdout is not None
        self._fd = self.process.stdout.fileno()
        try:
            inner = self.ask('"$$"')
        except BaseException:
            self.close()
            raise
        if confined:  # the shell is ``inner`` inside its PID namespace
            for pid in processes.descendants(self.process.pid):
                if processes.namespace_pid(pid) == inner:
                    self.pid = pid
                    break
            self.spare = {self.process.pid, *processes.descendants(self.process.pid)}

    def mark_command(self) -> None:
        self.mark = processes.command_mark()

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
        except OSError as exc:
            raise ShellGone(str(exc)) from exc

    def _receive(self) -> bool:
        try:
            chunk = os.read(self._fd, 65536)
        except OSError:
            chunk = b""
        self._keep(chunk)
        return bool(chunk)

    def _exit_code(self, limit: float) -> Optional[int]:
        try:
            code = self.process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            return None
        return code if code >= 0 else 128 - code

    def close(self) -> None:
        """Kill the shell and everything below it."""
        for pid in self.spare - {self.process.pid}:  # the namespace's init takes all with it
            processes.kill(pid)
        processes.kill_tree(self.process.pid)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
            pass


class LocalSandbox(ShellSandbox[PipeShell]):
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
        read_only: bool = False,
    ) -> None:
        super().__init__(workspace, timeout, output_limit)
        self.read_only = read_only
        self._env = sandbox_env(env)
        self._state = Path(tempfile.mkdtemp(prefix="pygent-local-"))
        self._output = OutputFolder(self._state / "out")
        self._output_home = str(self._output.path)
        self._files = WorkspaceFiles(self.workspace, read_only=read_only)
        self._cwd_hint: Optional[Path] = None
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

    @property
    def _process(self) -> Optional[subprocess.Popen[bytes]]:
        """The shell's host process (confined, bubblewrap's), while there is one."""
        return None if self._shell is None else self._shell.process

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
                                           network, self._env, self.read_only)
                self._layout.prepare()
                problem = self._start_shell(self.workspace)
                if problem is None:
                    self._output_home = SANDBOX_OUTPUT
                    self._sealed = self.read_only
                    return
                self._layout = None
                reason = f"bubblewrap cannot confine commands here: {problem}"
        if confine:
            raise SandboxError(f"local commands cannot be confined: {reason}; {INSTALL_HINT}")
        self.unconfined_reason = reason
        self._respawn(self.workspace, "cannot start a local shell")

    def _start_shell(self, cwd: Path) -> Optional[str]:
        """Start the shell in ``cwd``; the reason it did not come up, or None."""
        layout = self._layout
        argv = [self._bwrap, *layout.argv(cwd)] if layout is not None else unconfined_argv()
        try:
            self._shell = PipeShell(argv, self.workspace if layout is not None else cwd,
                                    self._env, self._protocol, layout is not None)
        except (OSError, ShellGone) as exc:
            return str(exc)
        return None

    def _respawn(self, cwd: Path, failure: str) -> None:
        """A new shell in ``cwd`` for the old one; SandboxError saying ``failure`` if none."""
        self._drop_shell()
        problem = self._start_shell(cwd)
        if problem is not None:
            raise SandboxError(f"{failure}: {problem}")

    def _shell_cwd(self) -> Path:
        """Where the shell is now: kept for a restart when it lies inside the workspace."""
        hint, self._cwd_hint = self._cwd_hint, None
        try:
            cwd = Path(os.readlink(f"/proc/{self._shell.pid if self._shell else 0}/cwd"))
        except OSError:
            cwd = hint or self.workspace
        inside = cwd == self.workspace or self.workspace in cwd.parents
        if (self.confined and not inside) or not cwd.is_dir():
            return self.workspace
        return cwd

    def _revive(self) -> str:
        """Start a new shell when the old one died between commands; say so."""
        shell = self._shell
        if shell is not None and shell.process.poll() is None:
            return ""
        code = None if shell is None else shell.process.returncode
        self._respawn(self.workspace, "the shell had ended and could not be restarted")
        return f"the shell had ended (status {code}); a new one was started in {self.workspace}"

    def _restart(self, why: str) -> str:
        cwd = self._shell_cwd()
        self._respawn(cwd, "the shell could not be restarted")
        return join_notices(why, f"the shell was restarted in {cwd}; exported variables and "
                            "functions were reset")

    def _kill_command(self) -> bool:
        """SIGINT to the shell (its trap skips the rest of the line), SIGKILL to what it started."""
        shell = self._shell
        if shell is not None:
            processes.kill(shell.pid, signal.SIGINT)
            if shell.mark is not None:
                processes.kill_descendants(shell.process.pid, shell.mark, shell.spare)
        return True

    def _kill_shell(self, shell: PipeShell) -> None:
        self._cwd_hint = self._shell_cwd()
        processes.kill_tree(shell.process.pid)

    def _ended(self, output: CapturedOutput, status: int, text: bytes, shown: str,
               notice: str) -> CommandResult:
        if status < 0:  # the shell was gone before the command reached it
            notice = join_notices(notice, self._restart("the shell had died"))
            return CommandResult("", 1, notice=f"{notice}; the command did not run, run it again")
        return result_from(output, status, text, shown, notice=join_notices(
            notice, self._restart(f"the shell ended (status {status})")))

    def _shut_down(self) -> None:
        """Stop the shell and everything it started; remove its private /tmp and home."""
        self._drop_shell()
        remove_tree(self._state)
