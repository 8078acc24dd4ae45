"""The folder commands write their output files into, read by the host through a handle.

The sandbox can replace an output file while its command runs (with a link to a host file,
a FIFO, a device), so the host opens it relative to a handle on the folder, never follows
a link, never blocks, reads only a regular file and at most ``limit`` bytes of it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .paths import DIR_FLAGS, remove_tree

_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


@dataclass
class CapturedOutput:
    """What the host read of one command's output file."""

    text: str = ""
    truncated: bool = False
    problem: str = ""  # why the file was not read, for the result's notice


class OutputFolder:
    """A private host folder (made here) for output files, opened once as a handle."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path if path is not None else Path(tempfile.mkdtemp(prefix="pygent-out-"))
        self.path.mkdir(mode=0o700, exist_ok=True)
        self._fd: Optional[int] = os.open(self.path, DIR_FLAGS)

    @property
    def fd(self) -> int:
        """The folder's handle (for handing the folder to the sandbox's user)."""
        if self._fd is None:
            raise ValueError("the output folder is closed")
        return self._fd

    def read(self, name: str, limit: int, shown: Optional[str] = None) -> CapturedOutput:
        """All of output file ``name``, or its head and tail with a marker when it is longer.

        When the output is cut the file is kept (under ``shown`` in the marker) so the model
        can page through it; otherwise it is removed.
        """
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=self.fd)
        except FileNotFoundError:
            return CapturedOutput()
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                return CapturedOutput(problem="the command replaced its output file with a "
                                      "symbolic link; the output was not read")
            return CapturedOutput(problem=f"the output could not be read: {exc.strerror}")
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return CapturedOutput(problem="the command replaced its output file with "
                                      "something that is not a file; the output was not read")
            size = info.st_size
            half = max(limit // 2, 1)
            if size <= limit:
                data, truncated = os.pread(fd, max(size, 0), 0), False
            else:
                omitted = size - 2 * half
                marker = (f"\n[... {omitted} bytes of output omitted; the full output "
                          f"({size} bytes) is in {shown or self.path / name} ...]\n").encode()
                data = os.pread(fd, half, 0) + marker + os.pread(fd, half, size - half)
                truncated = True
        finally:
            os.close(fd)
        if not truncated:
            try:
                os.unlink(name, dir_fd=self.fd)
            except OSError:
                pass
        return CapturedOutput(data.decode("utf-8", errors="replace"), truncated)

    def close(self) -> None:
        """Close the handle and remove the folder (links inside it are not followed)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        remove_tree(self.path)
