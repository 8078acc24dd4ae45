"""How a persistent shell is asked to run one command and how its end is recognised.

The command is passed to ``eval`` as one ANSI-C quoted word, so a syntax error is an error
of that command, not a shell waiting for more input. Its output goes to a file (so memory
stays flat whatever it prints); only a status line with a per-sandbox token comes back on
the shell's stdout, which :class:`ShellStream` reads, whatever carries it.
"""

from __future__ import annotations

import os
import re
import secrets
import select
import time
from typing import Optional

from ...domain.sandbox import CommandResult
from .output import CapturedOutput


def ansi_c_quote(text: str) -> str:
    """Quote ``text`` as one bash ``$'...'`` word on a single line."""
    out = []
    for ch in text.replace("\x00", ""):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        elif code < 32 or code == 127:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


SHELL_TEXT_LIMIT = 65536  # bytes of stray shell output kept while looking for a status line

RUNNER = "__pygent_run() { trap 'return 130' INT; eval \"$1\"; }; trap : INT;"
COMMAND_VAR = "PYGENT_COMMAND"  # each command's processes inherit its number in this variable


class ShellProtocol:
    """Builds command lines and finds their status lines for one shell.

    Each status line carries the sequence number of its command, so a status left over from
    an interrupted command is never taken for the answer to the next one.
    """

    def __init__(self) -> None:
        self.token = "__PYGENT_" + secrets.token_hex(8)
        self.sequence = 0
        self._status = re.compile(re.escape(self.token).encode() + rb":(\d+):(-?\d+)\n")

    def status_line(self, value: str) -> bytes:
        """A new command's status report: ``value`` is a shell word such as ``"$?"``."""
        self.sequence += 1
        return f"printf '\\n{self.token}:{self.sequence}:%d\\n' {value}\n".encode()

    def command_line(self, command: str, output_path: str) -> bytes:
        """The line to write to the shell's stdin to run ``command``.

        The command runs in a function whose SIGINT trap returns from it, so an interrupt
        skips the rest of the command (builtin loops too) while ``cd`` and ``export`` persist;
        between commands SIGINT is trapped to do nothing, so a late one cannot end the shell.
        Its processes inherit ``PYGENT_COMMAND=<its number>``, so they can be told apart.
        """
        quoted_out = "'" + output_path.replace("'", "'\\''") + "'"
        run = (
            f"{RUNNER} {COMMAND_VAR}={self.sequence + 1} __pygent_run {ansi_c_quote(command)} "
            f"</dev/null >{quoted_out} 2>&1; "
            "set -- $?; trap : INT; "
        )
        return run.encode("utf-8", errors="surrogateescape") + self.status_line('"$1"')

    def find_status(self, buffer: bytes) -> Optional[tuple[bytes, int, bytes]]:
        """Split ``buffer`` into (text before, status, rest) once the current status is in it."""
        start = 0
        for match in self._status.finditer(buffer):
            if int(match.group(1)) != self.sequence:
                start = match.end()  # a stale report from an interrupted command
                continue
            before = buffer[start : match.start()]
            if before.endswith(b"\n"):
                before = before[:-1]
            return before, int(match.group(2)), buffer[match.end() :]
        return None


#: (shell text before the status, status, the shell's output ended), or None on a timeout
Status = Optional[tuple[bytes, int, bool]]
READY = 30.0  # seconds a new shell gets to answer its first round trip


class ShellGone(Exception):
    """The shell (or its container) is gone: its stdin takes no more, or it never answered."""


class ShellStream:
    """One persistent bash's stdin and stdout; subclasses say how bytes travel and end."""

    _fd: int  # what ``select`` waits on for the shell's output

    def __init__(self, protocol: ShellProtocol) -> None:
        self._protocol = protocol
        self._text = b""
        self.ended = False  # its stdout closed: it ended, or ``exec`` replaced it

    def send(self, data: bytes) -> None:
        """Write to the shell's stdin; ShellGone when it cannot."""
        raise NotImplementedError

    def _receive(self) -> bool:
        """Read what is there into :meth:`_keep`; False at the end of the output."""
        raise NotImplementedError

    def _exit_code(self, limit: float) -> Optional[int]:
        """The ended shell's exit status, waiting up to ``limit``; None if it still runs."""
        raise NotImplementedError

    def mark_command(self) -> None:
        """Note that a command begins, to tell the processes it starts from older ones."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the shell (what else it takes down is the subclass's business)."""
        raise NotImplementedError

    def _keep(self, data: bytes) -> None:
        self._text = (self._text + data)[-SHELL_TEXT_LIMIT:]

    def ask(self, value: str, before: str = "") -> int:
        """A number the shell reports (``value`` is a shell word; ``before`` runs first).

        The first answer also says the shell is ready; ShellGone with its last words if not.
        """
        try:
            self.send(before.encode() + self._protocol.status_line(value))
        except ShellGone:
            pass  # it died at once: its last words (bubblewrap's error) are still to be read
        found = self.read_status(READY)
        if found is None or found[2]:
            text = (found[0] if found else b"").decode("utf-8", errors="replace").strip()
            raise ShellGone(text.splitlines()[-1] if text else "the shell did not answer")
        return found[1]

    def sync(self, limit: float) -> Status:
        """One empty round trip, so bash's late "Killed" job notices land here, not later."""
        self.send(self._protocol.command_line(":", os.devnull))
        return self.read_status(limit)

    def read_status(self, limit: float) -> Status:
        """Read until the status line; once the output ends, wait (to the limit) for the exit."""
        deadline = time.monotonic() + limit
        while not self.ended:
            found = self._protocol.find_status(self._text)
            if found is not None:
                self._text = found[2]
                return found[0], found[1], False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if ready and not self._receive():
                self.ended = True
        code = self._exit_code(max(deadline - time.monotonic(), 0.001))
        if code is None:
            return None
        text, self._text = self._text, b""
        return text, code, True


def join_notices(*parts: str) -> str:
    """Notices for one result, in order, without empty ones."""
    return "; ".join(p for p in parts if p)


def result_from(
    output: CapturedOutput,
    status: int,
    shell_text: bytes,
    full_path: Optional[str],
    timed_out: bool = False,
    notice: str = "",
) -> CommandResult:
    """Combine the pieces of a finished command into a :class:`CommandResult`."""
    text = output.text
    extra = shell_text.decode("utf-8", errors="replace").strip("\n")
    if extra:
        text = f"{text}{'' if not text or text.endswith(chr(10)) else chr(10)}{extra}\n"
    return CommandResult(
        output=text,
        exit_code=status,
        timed_out=timed_out,
        truncated=output.truncated,
        full_output_path=full_path if output.truncated else None,
        notice=join_notices(notice, output.problem),
    )
