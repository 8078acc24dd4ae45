"""One file or link of the workspace as a git tree entry, read without trusting it.

A file is opened non-blocking without following links (a FIFO or a link swapped in after the
``lstat`` is skipped), checked to be a regular file, and read only up to a size limit: a
bigger one (a terabyte of sparse zeros costs a command nothing) is kept by its size and times.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import Optional

from .git_objects import EXECUTABLE, FILE, LINK, OPAQUE, Entry, GitObjects

READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK
              | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
#: A file changed this close to a scan may change again within the same timestamp tick.
RACY_NS = 50_000_000

StatKey = Optional[tuple[int, int, int, int, int]]  # mode, size, mtime, ctime, inode


def file_entry(fd: int, name: str, info: os.stat_result, known: Optional[tuple[Entry, StatKey]],
               objects: GitObjects, max_size: int,
               started: int) -> Optional[tuple[Entry, StatKey]]:
    """The entry of ``name`` in folder ``fd`` (``info``: its lstat), read again only when its
    stat changed since ``known``; None to leave it out. ``started``: when the scan began."""
    key = stat_key(info)
    if known is not None and known[1] is not None and known[1] == key:
        return known
    racy = max(info.st_mtime_ns, info.st_ctime_ns) >= started - RACY_NS
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.fsencode(os.readlink(name, dir_fd=fd))
        except OSError:
            return None
        return (LINK, objects.write("blob", target)), None if racy else key
    if not stat.S_ISREG(info.st_mode):
        return None  # FIFOs, sockets, devices: nothing to keep
    if info.st_size > max_size:
        return (OPAQUE, opaque_id(info)), key
    try:
        handle = os.open(name, READ_FLAGS, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return (OPAQUE, opaque_id(info)), key
        return None  # gone, or swapped for a link or a FIFO since the lstat
    try:
        opened = os.fstat(handle)
        if not stat.S_ISREG(opened.st_mode):
            return None
        data = read_capped(handle, max_size)
    except OSError:
        return None
    finally:
        os.close(handle)
    if data is None:
        return (OPAQUE, opaque_id(opened)), None
    mode = EXECUTABLE if opened.st_mode & stat.S_IXUSR else FILE
    return (mode, objects.write("blob", data)), None if racy else stat_key(opened)


def stat_key(info: os.stat_result) -> StatKey:
    """What says a file changed: its mode, size, times and inode."""
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def opaque_id(info: os.stat_result) -> str:
    """An id that changes whenever the file's size, times or inode do (its bytes are not read)."""
    seed = f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
    return hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324 (an id, not a secret)


def read_capped(fd: int, limit: int) -> Optional[bytes]:
    """The file's bytes, or None when it holds more than ``limit`` (it grew since the stat)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
