"""Let a container's stand-in user work in a root-owned workspace without chowning it.

When Pygent runs as root, commands in the container still run as a non-root user: a uid
that no host account has. Instead of handing the host's files to that uid, it gets an
extra POSIX ACL entry (``user:UID:rwx``, also as a default on folders); when the session
ends and nothing runs any more, what it created is given to the invoking user, the extra
entries are removed and no set-user-id or set-group-id bit survives. A read-only workspace
gets read entries only (no default ones), and its files' own modes are left as they were.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import struct
from pathlib import Path
from typing import Callable, Optional

from ...domain.errors import SandboxError
from .paths import SETID_BITS, walk_files

ACCESS = "system.posix_acl_access"
DEFAULT = "system.posix_acl_default"
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
_VERSION = 2
_NO_ID = 0xFFFFFFFF
STAND_IN_FIRST = 1000

Entry = tuple[int, int, int]  # (tag, permissions rwx as 4/2/1, uid or gid)


def stand_in_id(first: int = STAND_IN_FIRST) -> int:
    """The first id from ``first`` that no host user or group has (commands run as it)."""
    for number in range(first, 60000):
        try:
            pwd.getpwuid(number)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(number)
            continue
        except KeyError:
            return number
    raise SandboxError("no free user id for the container's user was found")


def decode(data: bytes) -> list[Entry]:
    """The entries of a binary ACL extended attribute."""
    if len(data) < _HEADER.size or _HEADER.unpack_from(data)[0] != _VERSION:
        return []
    return [_ENTRY.unpack_from(data, offset)
            for offset in range(_HEADER.size, len(data) - _ENTRY.size + 1, _ENTRY.size)]


def encode(entries: list[Entry]) -> bytes:
    """A binary ACL extended attribute, its entries in the order the kernel wants."""
    ordered = sorted(entries, key=lambda e: (e[0], e[2] if e[0] in (USER, GROUP) else 0))
    return _HEADER.pack(_VERSION) + b"".join(_ENTRY.pack(*e) for e in ordered)


def from_mode(mode: int) -> list[Entry]:
    """The three entries a file without an ACL has, read from its mode."""
    return [(USER_OBJ, (mode >> 6) & 7, _NO_ID), (GROUP_OBJ, (mode >> 3) & 7, _NO_ID),
            (OTHER, mode & 7, _NO_ID)]


def with_user(entries: list[Entry], uid: int, perms: int) -> list[Entry]:
    """``entries`` plus ``user:uid:perms``, with the mask widened to let it through."""
    kept = [e for e in entries if not (e[0] == USER and e[2] == uid) and e[0] != MASK]
    kept.append((USER, perms, uid))
    group_class = 0
    for tag, bits, _ in kept:
        if tag in (USER, GROUP, GROUP_OBJ):
            group_class |= bits
    return kept + [(MASK, group_class, _NO_ID)]


def without_user(entries: list[Entry], uid: int) -> Optional[list[Entry]]:
    """``entries`` less ``user:uid``; None when only the mode's three entries would remain."""
    kept = [e for e in entries if not (e[0] == USER and e[2] == uid)]
    if not any(tag in (USER, GROUP) for tag, _, _ in kept):
        return None
    group_class = 0
    for tag, bits, _ in kept:
        if tag in (USER, GROUP, GROUP_OBJ):
            group_class |= bits
    return [e for e in kept if e[0] != MASK] + [(MASK, group_class, _NO_ID)]


def _read(fd: int, name: str) -> Optional[bytes]:
    try:
        return os.getxattr(fd, name)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, getattr(errno, "ENOATTR", errno.ENODATA)):
            return None
        raise


class WorkspaceGrant:
    """Gives uid ``uid`` access to a workspace by ACL, and hands everything back afterwards.

    ``read_only``: read (and enter folders) only, for a workspace mounted read-only.
    """

    def __init__(self, uid: int, owner: tuple[int, int], read_only: bool = False) -> None:
        self.uid = uid
        self.owner = owner
        self.read_only = read_only

    def grant(self, fd: int) -> None:
        """Let the stand-in read and write the open file or folder ``fd`` (never a link)."""
        info = os.fstat(fd)
        folder = stat.S_ISDIR(info.st_mode)
        perms = 7 if folder or info.st_mode & 0o111 else 6
        if self.read_only:
            perms &= 5
        current = _read(fd, ACCESS)
        entries = decode(current) if current else from_mode(info.st_mode)
        try:
            os.setxattr(fd, ACCESS, encode(with_user(entries, self.uid, perms)))
            if folder and not self.read_only:
                inherited = _read(fd, DEFAULT)
                base = decode(inherited) if inherited else from_mode(info.st_mode)
                os.setxattr(fd, DEFAULT, encode(with_user(base, self.uid, 7)))
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
                return  # nothing can be written there anyway (read-only, immutable)
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTSUP):
                raise SandboxError(
                    "the workspace's file system does not support POSIX ACLs, which Pygent "
                    "needs to let the container's non-root user write a root-owned workspace; "
                    "run Pygent as a regular user, or use --no-docker") from exc
            raise

    def grant_tree(self, root: Path) -> None:
        """Grant the workspace folder and everything in it (links are skipped)."""
        self._each(root, self.grant)

    def hand_back(self, root: Path) -> None:
        """Give the invoking user what the stand-in made, drop the extra ACL entries and
        set-id bits. Call it only once nothing runs in the sandbox any more."""
        self._each(root, self._restore, links=True)

    def _restore(self, fd: int) -> None:
        info = os.fstat(fd)
        if info.st_uid == self.uid or info.st_gid == self.uid:
            os.fchown(fd, self.owner[0] if info.st_uid == self.uid else -1,
                      self.owner[1] if info.st_gid == self.uid else -1)
        for name in (ACCESS, DEFAULT):
            try:
                current = _read(fd, name)
            except OSError:
                continue
            if not current:
                continue
            entries = decode(current)
            remaining = without_user(entries, self.uid)
            if remaining is None:
                os.removexattr(fd, name)
                if name == ACCESS:  # the mask stood in the group bits: restore them
                    group = next((b for t, b, _ in entries if t == GROUP_OBJ), None)
                    if group is not None:
                        os.fchmod(fd, (stat.S_IMODE(info.st_mode) & ~0o070) | group << 3)
            elif remaining != entries:
                os.setxattr(fd, name, encode(remaining))
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if stat.S_ISREG(info.st_mode) and mode & SETID_BITS and not self.read_only:
            os.fchmod(fd, mode & ~SETID_BITS)

    def _restore_special(self, folder: int, name: str, info: os.stat_result) -> None:
        """Give back a link, FIFO or socket by name (it is never opened)."""
        if self.uid in (info.st_uid, info.st_gid):
            os.chown(name, self.owner[0], self.owner[1], dir_fd=folder, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            return  # links carry no ACL
        path = f"/proc/self/fd/{folder}/{name}"
        for key in (ACCESS, DEFAULT):
            try:
                entries = decode(os.getxattr(path, key, follow_symlinks=False))
            except OSError:
                continue
            remaining = without_user(entries, self.uid)
            if remaining is None:
                os.removexattr(path, key, follow_symlinks=False)
            elif remaining != entries:
                os.setxattr(path, key, encode(remaining), follow_symlinks=False)

    def _each(self, root: Path, action: Callable[[int], None], links: bool = False) -> None:
        """Apply ``action(fd)`` to ``root`` and each file and folder below it, by handle.

        With ``links``, links, FIFOs and sockets the stand-in owns are given back by name
        (only safe once nothing in the sandbox runs)."""
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            action(fd)
        finally:
            os.close(fd)
        for folder, name, info in walk_files(root):
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                if links:
                    self._restore_special(folder, name, info)
                continue  # never opened: a FIFO could block, a link lead anywhere
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=folder)
            except OSError:
                continue
            try:
                action(fd)
            finally:
                os.close(fd)
