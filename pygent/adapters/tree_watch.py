"""Which folders of a tree changed since the last look: Linux inotify through ctypes, no package.

A checkpoint on a tree nothing touched should cost next to nothing, and reading a queue of
events is far cheaper than stating 10,000 files. Each folder gets a watch through a handle the
scan opened without following links (``/proc/self/fd/N``), so a folder the sandbox swaps for a
link is never the one watched. A lost event (queue overflow) or a refused watch (the per-user
limit) is reported, and the caller looks at the whole tree instead: nothing slips silently.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
import weakref
from typing import Optional

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)

#: Everything that can change what a folder holds or what its files hold.
CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
           | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


class WatchLimit(Exception):
    """A watch was refused (the per-user limit, or no memory): the caller scans everything."""


class Overflow(Exception):
    """The kernel dropped events: what changed is unknown, so everything is looked at."""


def _libc() -> Optional[ctypes.CDLL]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for name in ("inotify_init1", "inotify_add_watch", "inotify_rm_watch"):
            getattr(libc, name)
    except (OSError, AttributeError):
        return None
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


class FolderWatch:
    """One inotify instance: watches folders by open handle, reads events without blocking."""

    def __init__(self) -> None:
        libc = _libc()
        if libc is None:
            raise OSError(errno.ENOSYS, "inotify is available on Linux only")
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            number = ctypes.get_errno()
            raise OSError(number, f"inotify_init1: {os.strerror(number)}")
        self._libc, self.fd = libc, fd
        self._close = weakref.finalize(self, os.close, fd)  # an agent never closed: at GC

    def add(self, folder_fd: int) -> int:
        """Watch the open folder ``folder_fd``; its watch id (the same one for the same folder)."""
        path = f"/proc/self/fd/{folder_fd}".encode()
        wd = self._libc.inotify_add_watch(self.fd, path, CHANGES | IN_ONLYDIR | IN_EXCL_UNLINK)
        if wd < 0:
            number = ctypes.get_errno()
            if number in (errno.ENOSPC, errno.ENOMEM):
                raise WatchLimit(os.strerror(number))
            raise OSError(number, f"inotify_add_watch: {os.strerror(number)}")
        return int(wd)

    def remove(self, wd: int) -> None:
        """Stop watching; a watch the kernel already dropped is fine."""
        self._libc.inotify_rm_watch(self.fd, wd)

    def changes(self) -> list[tuple[int, int, str]]:
        """Every event queued so far as (watch id, mask, name); [] at once when there is none.

        Raises Overflow when the kernel dropped some.
        """
        found: list[tuple[int, int, str]] = []
        overflow = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                name = os.fsdecode(data[start:start + length].rstrip(b"\0"))
                offset = start + length
                if mask & IN_Q_OVERFLOW:
                    overflow = True
                found.append((wd, mask, name))
        if overflow:
            raise Overflow("inotify queue overflow")
        return found

    def close(self) -> None:
        """Drop every watch; safe twice."""
        self._close()
        self.fd = -1
