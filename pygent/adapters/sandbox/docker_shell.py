"""One persistent bash inside a container, kept open as a single ``docker exec`` stream.

The exec runs without a TTY, so the engine frames what it sends back: an 8-byte header
(stream type, three zero bytes, big-endian payload size) before each payload. This module
demultiplexes it itself, so reads stay plain ``select`` + ``recv`` on the raw socket.
Reading up to a status line is :class:`~.protocol.ShellStream`'s.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any, Optional

from .protocol import ShellGone, ShellProtocol, ShellStream

HEADER = struct.Struct(">BxxxL")
# stderr joins stdout, so the shell's messages and status lines keep their order
SHELL = ["bash", "-c", "exec bash --noprofile --norc 2>&1"]
TICKS_PER_SECOND = 100  # USER_HZ: the unit of start times in /proc/PID/stat on Linux

# Kill what a shell's command started: every process of the container but init and this
# script (and, unless $3 = all, the shell $1) started after $2, the command's start in
# clock ticks since boot by the container's clock. Near that tick (10 ms apart, and the host
# only estimates it) a process counts when it inherited PYGENT_COMMAND=$4, so a job an
# earlier command started just before is spared. With all, $2 is the shell's own start and
# $5 its pid minus one (what started in the same tick with a lower pid was there before).
# By start, not by session or parent, so `setsid` and double forks are found too. Only bash
# builtins are used, so it needs no new process inside a container that may be out of pids.
KILL_SCRIPT = r"""s=$1; t=$2; all=$3; n=$4; low=${5:-0}
[ -z "$all" ] && kill -INT "$s" 2>/dev/null  # the shell's trap skips the rest of the command
for round in 1 2 3 4 5 6 7 8 9 10; do
  hit=
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    { [ "$p" = 1 ] || [ "$p" = "$$" ]; } && continue
    [ "$p" = "$s" ] && [ -z "$all" ] && continue
    read -r l < "$d/stat" 2>/dev/null || continue
    set -- ${l##*) }
    [ "$1" = Z ] && continue
    if [ -n "$all" ]; then
      [ "${20}" -gt "$t" ] || { [ "${20}" -eq "$t" ] && [ "$p" -gt "$low" ]; } || continue
    elif [ "${20}" -le $((t + 2)) ]; then
      [ "${20}" -ge $((t - 2)) ] || continue
      mine=
      while IFS= read -r -d '' e; do
        [ "$e" = "PYGENT_COMMAND=$n" ] && { mine=1; break; }
      done < "$d/environ" 2>/dev/null
      [ -n "$mine" ] || continue
    fi
    kill -9 "$p" 2>/dev/null && hit=1
  done
  [ -z "$hit" ] && break
done
exit 0
"""

# The shell's own start time in clock ticks since boot, with builtins only.
START_TICKS = 'read -r __l < /proc/$$/stat; set -- ${__l##*) }; unset __l; printf %s "${20}"'


class ExecShell(ShellStream):
    """A ``bash`` started with one ``docker exec``; commands go to its stdin."""

    def __init__(self, api: Any, container_id: str, *, user: Optional[str], workdir: str,
                 protocol: ShellProtocol) -> None:
        super().__init__(protocol)
        self._api = api
        created = api.exec_create(
            container_id, SHELL, stdin=True, stdout=True,
            stderr=True, tty=False, user=user or "", workdir=workdir,
        )
        self._exec_id = created["Id"]
        self._handle = api.exec_start(self._exec_id, socket=True)
        self._sock: socket.socket = getattr(self._handle, "_sock", self._handle)
        self._sock.settimeout(None)
        self._fd = self._sock.fileno()
        self._pending = b""
        self.mark = 0  # when the running command began, by the container's clock
        self.pid = self.ask('"$$"')
        self.started = self.ask(f'"$({START_TICKS})"')  # by the container's own clock
        uptime = self.ask('"$((10#${__u/./}))"', "read -r __u __ </proc/uptime; ")
        self._clock = (uptime, time.monotonic())

    def mark_command(self) -> None:
        """The container's clock now, in the ticks of process start times: read in the
        container once, then advanced by ours (right where the engine runs in a VM with
        another boot time, and free on every command)."""
        ticks, then = self._clock
        self.mark = ticks + int((time.monotonic() - then) * TICKS_PER_SECOND)

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ShellGone(str(exc)) from exc

    def _receive(self) -> bool:
        """Demultiplex what the engine sent: each payload follows its 8-byte header."""
        try:
            chunk = self._sock.recv(65536)
        except OSError:
            chunk = b""
        self._pending += chunk
        while len(self._pending) >= HEADER.size:
            _, size = HEADER.unpack_from(self._pending)
            end = HEADER.size + size
            if len(self._pending) < end:
                break
            self._keep(self._pending[HEADER.size : end])
            self._pending = self._pending[end:]
        return bool(chunk)

    def _exit_code(self, limit: float) -> Optional[int]:  # -1 when the engine cannot say
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
