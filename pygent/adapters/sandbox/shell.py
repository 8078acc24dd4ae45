"""The persistent-shell machinery every sandbox shares, written once.

One bash runs per sandbox; each command goes to it as one line (see :mod:`.protocol`). On a
timeout or an interrupt what the command started is killed and the shell kept, or restarted
and the result says so. Local and Docker supply only how their shell starts, dies and restarts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Generic, Optional, TypeVar

from ...domain.errors import SandboxError
from ...domain.sandbox import CommandResult
from .output import CapturedOutput, OutputFolder
from .owner import WorkspaceGrant
from .paths import Adopt, WorkspaceFiles, clear_setid_bits
from .protocol import ShellGone, ShellProtocol, ShellStream, join_notices, result_from

GRACE = 2.0  # seconds the shell gets to report after its command was killed
Shell = TypeVar("Shell", bound=ShellStream)


class SandboxFiles:
    """The sandbox port's file operations, over the workspace's :class:`WorkspaceFiles`."""

    _files: WorkspaceFiles

    def write_file(self, path: str, text: str) -> Path:
        """Write a text file inside the workspace (a container's ``/workspace/...`` too)."""
        return self._files.write_text(path, text)

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""
        return self._files.read_text(path)

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace."""
        return self._files.copy_in(src, dest)

    def copy_out(self, path: str, dest: str | Path) -> Path:
        """Copy a workspace file or folder to the host."""
        return self._files.copy_out(path, dest)

    @property
    def adopt(self) -> Optional[Adopt]:
        """Hands a file or folder the host made (by handle) to the user commands run as; None
        when they run as the invoking user. Restoring a checkpoint calls it."""
        return self._files.adopt


class ShellSandbox(SandboxFiles, Generic[Shell]):
    """Runs commands in a persistent shell; subclasses start, kill and restart it.

    ``temporary``: the workspace is a fresh folder made here, which ``close()`` removes unless
    ``keep`` is set (an entrypoint keeps one that holds files). ``read_only``: the file
    operations refuse writes; ``_sealed`` when a read-only mount also stops the commands.
    """

    _output: OutputFolder
    _output_home: str  # the output folder as the shell sees it
    _shell: Optional[Shell] = None
    _grant: Optional[WorkspaceGrant] = None  # commands run as a stand-in user
    keep = False
    read_only = False
    _sealed = False

    def __init__(self, workspace: Optional[str | Path], timeout: float,
                 output_limit: int) -> None:
        self.temporary = workspace is None
        path = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix="pygent-ws-"))
        path.mkdir(parents=True, exist_ok=True)
        self.workspace = path.resolve()
        self.timeout = timeout
        self.output_limit = output_limit
        self._protocol = ShellProtocol()
        self._count = 0
        self._closed = False
        self._interrupted = False
        self._idle = threading.Event()  # set while no command runs
        self._idle.set()

    # -- what a sandbox supplies -----------------------------------------------------------
    def _revive(self) -> str:
        """Before a command: make sure a shell runs; what happened to the old one, or ""."""
        raise NotImplementedError

    def _kill_command(self) -> bool:
        """Kill what the running command started; False when that cannot be done."""
        raise NotImplementedError

    def _kill_shell(self, shell: Shell) -> None:
        """Kill the shell itself (an interrupted builtin loop); the run then restarts it."""
        raise NotImplementedError

    def _restart(self, why: str) -> str:
        """Replace a stuck or ended shell; the notice saying ``why`` and what was reset."""
        raise NotImplementedError

    def _ended(self, output: CapturedOutput, status: int, text: bytes, shown: str,
               notice: str) -> CommandResult:
        """The result of a command that ended its shell (status -1: it never reached it)."""
        raise NotImplementedError

    def _status_notice(self, status: int) -> str:
        """What a command's exit status means beyond itself (the kernel's OOM kill)."""
        return ""

    def _shut_down(self) -> None:
        """Stop the shell and everything it started, for good."""
        self._drop_shell()

    # -- commands ---------------------------------------------------------------------------
    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command``; stdin is /dev/null, stdout and stderr come back together."""
        if self._closed:
            raise SandboxError("this sandbox has been cleaned up; start a new one")
        self._interrupted = False
        self._idle.clear()
        try:
            result = self._run(command, timeout)
        finally:
            interrupted, self._interrupted = self._interrupted, False
            self._idle.set()
        if interrupted:
            result.notice = join_notices("interrupted by the user", result.notice)
        return result

    def interrupt(self) -> None:
        """Stop the running command from another thread; nothing happens when idle.

        A run not over within GRACE is stuck in a shell builtin: the shell is killed too."""
        shell = self._shell
        if shell is None or self._idle.is_set():
            return
        self._interrupted = True
        self._kill_command()
        if not self._idle.wait(GRACE):
            self._kill_shell(shell)  # the run ends and restarts the shell
            self._idle.wait(GRACE)

    def _run(self, command: str, timeout: Optional[float]) -> CommandResult:
        notice = self._revive()
        shell = self._shell
        assert shell is not None
        self._count += 1
        name = f"out.{self._count}"
        shown = f"{self._output_home}/{name}"
        limit = self.timeout if timeout is None else timeout
        shell.mark_command()
        try:
            shell.send(self._protocol.command_line(command, shown))
            try:
                found = shell.read_status(limit)
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
            return self._ended(output, status, before, shown, notice)
        return result_from(output, status, before, shown,
                           notice=join_notices(notice, self._status_notice(status)))

    def _recover(self) -> str:
        """After a timeout or interrupt: kill the command's processes, or restart the shell."""
        shell = self._shell
        assert shell is not None
        if self._kill_command() and not shell.ended:
            try:
                found = shell.read_status(GRACE)
                if found is not None and not found[2]:
                    synced = shell.sync(GRACE)
                    if synced is not None and not synced[2]:
                        return ""
            except BaseException:
                pass
        return self._restart("the command ended the shell, replaced it (exec) or closed its "
                             "output" if shell.ended else "the shell did not stop")

    def _drop_shell(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            shell.close()

    def close(self) -> None:
        """Stop the shell and all it started, then give the workspace back (the invoking user
        owns what commands made, no set-id bit survives); a temporary one is removed, unless
        it is kept and holds something."""
        if self._closed:
            return
        self._closed = True
        self._shut_down()
        self._output.close()
        if self.temporary and not (self.keep and holds_anything(self.workspace)):
            shutil.rmtree(self.workspace, ignore_errors=True)
        elif self._grant is not None:
            self._grant.hand_back(self.workspace)  # read-only: only its ACL entries go
        elif self._sealed:
            pass  # mounted read-only: nothing in it was made or changed
        elif self.workspace.is_dir():
            clear_setid_bits(self.workspace)


def holds_anything(folder: Path) -> bool:
    """True when ``folder`` has an entry, or cannot be read (then it is kept, to be safe)."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except FileNotFoundError:
        return False
    except OSError:
        return True
