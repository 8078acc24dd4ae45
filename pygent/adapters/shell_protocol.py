"""How a persistent shell is asked to run one command and how its end is recognised.

The command is passed to ``eval`` as one ANSI-C quoted word, so a syntax error is an error
of that command, not a shell waiting for more input. Its output goes to a file (so memory
stays flat whatever it prints); only a status line with a per-sandbox token comes back on
the shell's stdout.
"""

from __future__ import annotations

import re
import secrets
from typing import Optional

from ..domain.sandbox import CommandResult
from .command_output import CapturedOutput


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
