"""One persistent bash inside a container, kept open as a single ``docker exec`` stream.

The exec runs without a TTY, so the engine frames what it sends back: an 8-byte header
(stream type, three zero bytes, big-endian payload size) before each payload. This module
demultiplexes it itself, so reads stay plain ``select`` + ``recv`` on the raw socket.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Any, Optional

from .shell_protocol import ShellProtocol

HEADER = struct.Struct(">BxxxL")

# Kill what a shell's command started: members of the shell's session ($1) started at or
# after $2 (clock ticks since boot); with $3 = all, the shell too. Only bash builtins are
# used, so it needs no new process inside a container that may be out of pids.
KILL_SCRIPT = r"""s=$1; t=$2; all=$3
[ -z "$all" ] && kill -INT "$s" 2>/dev/null  # the shell's trap skips the rest of the command
for round in 1 2 3 4 5 6; do
  hit=
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    read -r l < "$d/stat" 2>/dev/null || continue
    set -- ${l##*) }
    [ "$4" = "$s" ] || continue
    [ "$p" = "$s" ] && [ -z "$all" ] && continue
    [ "${20}" -ge "$t" ] || [ "$p" = "$s" ] || continue
    kill -9 "$p" 2>/dev/null && hit=1
  done
  [ -z "$hit" ] && break
done
exit 0
"""


class ShellGone(Exception):
    """The exec stream could not be written to: the shell or its container is gone."""


class ExecShell:
    """A ``bash`` started with one ``docker exec``; commands go to its stdin."""

    def __init__(self, api: Any, container_id: str, *, user: Optional[str], workdir: str,
                 protocol: ShellProtocol) -> None:
        self._api = api
        self._protocol = protocol
        created = api.exec_create(
            container_id, ["bash", "--noprofile", "--norc"], stdin=True, stdout=True,
            stderr=True, tty=False, user=user or "", workdir=workdir,
        )
        self._exec_id = created["Id"]
        self._handle = api.exec_start(self._exec_id, socket=True)
        self._sock: socket.socket = getattr(self._handle, "_sock", self._handle)
        self._sock.settimeout(None)
        self._pending = b""
        self._text = b""
        self.pid = self._ask_pid()

    def _ask_pid(self) -> int:
        """The shell's pid inside the container; its answer also says the shell is ready."""
        found = self.sync(30.0)
        if found is None or found[2]:
            raise ShellGone("the shell in the container did not start")
        return found[1]

    def sync(self, limit: float) -> Optional[tuple[bytes, int, bool]]:
        """Round-trip an empty command: flushes what the shell printed between commands."""
        self.send(self._protocol.status_line('"$$"'))
        return self.read_status(limit)

    def send(self, data: bytes) -> None:
        """Write to the shell's stdin."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ShellGone(str(exc)) from exc

    def read_status(self, limit: float) -> Optional[tuple[bytes, int, bool]]:
        """Read until the status line: (shell text, status, stream ended), or None on timeout."""
        deadline = time.monotonic() + limit
        while True:
            found = self._protocol.find_status(self._text)
            if found is not None:
                self._text = found[2]
                return found[0], found[1], False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._sock], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                text, self._text = self._text, b""
                return text, self.exit_code(), True
            self._demux(chunk)

    def _demux(self, chunk: bytes) -> None:
        self._pending += chunk
        while len(self._pending) >= HEADER.size:
            _, size = HEADER.unpack_from(self._pending)
            end = HEADER.size + size
            if len(self._pending) < end:
                break
            self._text += self._pending[HEADER.size : end]
            self._pending = self._pending[end:]

    def exit_code(self) -> int:
        """The shell's exit status once it has ended (-1 when the engine cannot say)."""
        try:
            code = self._api.exec_inspect(self._exec_id).get("ExitCode")
        except Exception:
            return -1
        return -1 if code is None else int(code)

    def close(self) -> None:
        """Close the stream (the caller kills the shell's processes)."""
        for closer in (lambda: self._sock.shutdown(socket.SHUT_RDWR), self._sock.close,
                       getattr(self._handle, "close", lambda: None)):
            try:
                closer()
            except OSError:
                pass
