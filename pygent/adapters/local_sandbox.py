"""A sandbox on the host: one persistent bash per workspace, run through subprocess."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from ..domain.sandbox import CommandResult, SandboxError
from .command_watch import CommandWatch
from .process_tree import kill_command_processes, kill_session
from .shell_env import sandbox_env
from .shell_protocol import ShellProtocol, read_capped_output, result_from
from .workspace_paths import copy_into, read_text, resolve_in_workspace, write_text

GRACE = 2.0  # seconds the shell gets to report after its command was killed


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
    ) -> None:
        self._owns_workspace = workspace is None
        path = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix="pygent-ws-"))
        path.mkdir(parents=True, exist_ok=True)
        self.workspace = path.resolve()
        self.timeout = timeout
        self.output_limit = output_limit
        self._env = sandbox_env(env)
        self._state = Path(tempfile.mkdtemp(prefix="pygent-out-"))
        self._protocol = ShellProtocol()
        self._count = 0
        self._closed = False
        self._shell: Optional[subprocess.Popen[bytes]] = None
        self._watch = CommandWatch()
        self._cwd_hint: Optional[Path] = None
        self._start_shell(self.workspace)

    # -- the shell --------------------------------------------------------------------------
    def _start_shell(self, cwd: Path) -> None:
        self._shell = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=self._env,
            start_new_session=True,
            bufsize=0,
        )

    def _shell_cwd(self) -> Path:
        assert self._shell is not None
        hint, self._cwd_hint = self._cwd_hint, None
        try:
            cwd = Path(os.readlink(f"/proc/{self._shell.pid}/cwd"))
        except OSError:
            cwd = hint or self.workspace
        return cwd if cwd.is_dir() else self.workspace

    def _restart(self) -> str:
        cwd = self._shell_cwd()
        self._stop_shell()
        self._start_shell(cwd)
        return f"the shell was restarted in {cwd}; exported variables and functions were reset"

    def _revive(self) -> str:
        """Start a new shell when the old one died between commands; say so."""
        code = self._shell.returncode if self._shell is not None else None
        self._stop_shell()
        self._start_shell(self.workspace)
        return f"the shell had ended (status {code}); a new one was started in {self.workspace}"

    def _stop_shell(self) -> None:
        shell, self._shell = self._shell, None
        if shell is None:
            return
        kill_session(shell.pid)
        for stream in (shell.stdin, shell.stdout):
            if stream is not None:
                stream.close()
        try:
            shell.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
            pass

    # -- commands ---------------------------------------------------------------------------
    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command``; stdin is /dev/null, stdout and stderr come back together."""
        if self._closed:
            raise SandboxError("this sandbox has been cleaned up; start a new one")
        return self._watch.watch(lambda started: self._run(command, timeout, started))

    def interrupt(self) -> None:
        """Stop the running command from another thread; nothing happens when idle."""
        shell = self._shell
        if shell is None:
            return

        def kill_shell() -> None:
            self._cwd_hint = self._shell_cwd()
            kill_session(shell.pid)

        self._watch.interrupt(
            lambda started: kill_command_processes(shell.pid, started), kill_shell, GRACE
        )

    def _run(self, command: str, timeout: Optional[float], started: Optional[int]) -> CommandResult:
        revived = ""
        if self._shell is None or self._shell.poll() is not None:
            revived = self._revive()
        assert self._shell is not None and self._shell.stdin is not None
        self._count += 1
        out = self._state / f"out.{self._count}"
        limit = self.timeout if timeout is None else timeout
        try:
            self._shell.stdin.write(self._protocol.command_line(command, str(out)))
            found = self._wait_status(limit)
        except (BrokenPipeError, OSError):
            notice = self._restart()
            return CommandResult("", 1, notice=f"the shell had died; {notice}; run it again")
        except BaseException:  # Ctrl-C: kill what the command started, keep the shell
            self._recover(started)
            raise
        if found is None:
            notice = self._recover(started)
            text, truncated = read_capped_output(out, self.output_limit)
            return result_from(
                text,
                124,
                b"",
                truncated,
                str(out),
                timed_out=True,
                notice=f"timed out after {limit:g} s" + (f"; {notice}" if notice else ""),
            )
        before, status, eof = found
        text, truncated = read_capped_output(out, self.output_limit)
        notice = revived
        if eof:
            notice = f"the shell ended (status {status}); {self._restart()}"
        return result_from(text, status, before, truncated, str(out), notice=notice)

    def _wait_status(self, limit: float) -> Optional[tuple[bytes, int, bool]]:
        """Read the shell's stdout until the status line; None on timeout.

        Returns (shell text, status, shell ended)."""
        assert self._shell is not None and self._shell.stdout is not None
        fd = self._shell.stdout.fileno()
        deadline = time.monotonic() + limit
        buffer = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self._shell.wait()
                return buffer, code if code >= 0 else 128 - code, True
            buffer += chunk
            found = self._protocol.find_status(buffer)
            if found is not None:
                return found[0], found[1], False

    def _recover(self, started: Optional[int]) -> str:
        """After a timeout or interrupt: kill the command's processes, or restart the shell."""
        assert self._shell is not None
        kill_command_processes(self._shell.pid, started)
        try:
            if self._wait_status(GRACE) is not None:
                self._sync()
                return ""
        except BaseException:
            pass
        return self._restart()

    def _sync(self) -> None:
        """One empty round trip, so bash's late "Killed" job notices land here, not later."""
        assert self._shell is not None and self._shell.stdin is not None
        self._shell.stdin.write(self._protocol.command_line(":", os.devnull))
        self._wait_status(GRACE)

    # -- files ------------------------------------------------------------------------------
    def write_file(self, path: str, text: str) -> Path:
        """Write a text file inside the workspace."""
        target = resolve_in_workspace(self.workspace, path)
        write_text(target, text)
        return target

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""
        return read_text(resolve_in_workspace(self.workspace, path))

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace."""
        return copy_into(self.workspace, src, dest)

    def close(self) -> None:
        """Stop the shell; remove the output files, and the workspace if it was temporary."""
        if self._closed:
            return
        self._closed = True
        self._stop_shell()
        shutil.rmtree(self._state, ignore_errors=True)
        if self._owns_workspace:
            shutil.rmtree(self.workspace, ignore_errors=True)
