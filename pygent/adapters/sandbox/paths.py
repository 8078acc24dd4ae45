"""Keep every path a model names inside the workspace, and never follow a link the sandbox made.

The sandbox can change the workspace while the host works in it (a command racing a
``write_file``), so the host walks each path one folder at a time from a handle on the
workspace, refusing symbolic links in every component (``O_NOFOLLOW``), opens files
non-blocking (a FIFO cannot hang it) and checks each one is a regular file before use.
Ownership and permission changes go through the open handle, never through a path.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from ...domain.errors import MissingFileError, PathEscapeError, ReadOnlyError, SandboxError
from ...domain.sandbox import is_script

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
SETID_BITS = stat.S_ISUID | stat.S_ISGID

#: Called with the handle of each folder or file the host creates (or fills) in the workspace,
#: so a sandbox can hand it to the user its commands run as.
Adopt = Callable[[int], None]


def relative_parts(workspace: Path, path: str, alias: Optional[str] = None) -> list[str]:
    """The components of ``path`` below the workspace, or PathEscapeError.

    ``path`` is relative, or absolute under ``workspace`` or ``alias`` (``/workspace`` in a
    container). ``..`` is applied to the words, never by following the folder it names.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise PathEscapeError(f"invalid path {path!r}")
    text = path
    for prefix in (alias, str(workspace)):
        if not prefix:
            continue
        base = prefix.rstrip("/") or "/"
        if text == base or text.startswith(base.rstrip("/") + "/"):
            text = text[len(base) :]
            break
    else:
        if text.startswith("/"):
            raise _escape(path, alias or str(workspace))
    parts: list[str] = []
    for word in text.split("/"):
        if word in ("", "."):
            continue
        if word == "..":
            if not parts:
                raise _escape(path, alias or str(workspace))
            parts.pop()
        else:
            parts.append(word)
    return parts


def _escape(path: str, root: str) -> PathEscapeError:
    return PathEscapeError(f"path {path!r} is outside the workspace {root}; use a path inside it")


def _file_error(verb: str, name: str, exc: OSError) -> SandboxError:
    """A symbolic link met on the way is an escape attempt; anything else a plain file error."""
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return PathEscapeError(f"refusing to {verb} {name}: a symbolic link is in its path")
    if exc.errno == errno.ENXIO:  # a FIFO with no reader, opened without blocking
        return SandboxError(f"cannot {verb} {name}: it is a FIFO or a device, not a file")
    if exc.errno == errno.ENOENT:
        return MissingFileError(f"cannot {verb} {name}: no such file or folder in the workspace")
    if exc.errno == errno.ENOTDIR:
        return SandboxError(f"cannot {verb} {name}: a part of its path is not a folder")
    return SandboxError(f"cannot {verb} {name}: {exc.strerror}")


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return word
    return "not a regular file"


def _open_folder(name: str, parent: int) -> int:
    """A handle on folder ``name`` in ``parent``; a link there raises ELOOP, never followed."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except NotADirectoryError:
        if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name) from None
        raise


class WorkspaceFiles:
    """File operations inside one workspace that never follow a path the sandbox can change.

    ``read_only``: every write is refused (``workspace_mode = "read-only"``), whatever the
    sandbox's mounts allow, since the host's own writes never go through them.
    """

    def __init__(self, root: Path, alias: Optional[str] = None,
                 adopt: Optional[Adopt] = None, read_only: bool = False) -> None:
        self.root = root
        self.alias = alias
        self.adopt = adopt
        self.read_only = read_only

    def _writable(self, path: str) -> None:
        """Refuse a write to a read-only workspace, before anything is touched."""
        if self.read_only:
            raise ReadOnlyError(
                f"cannot write {path}: the workspace {self.alias or self.root} is read-only "
                "(workspace_mode = read-only); read files and run commands instead, or start "
                "Pygent with --workspace-mode write to let it change files")

    @contextmanager
    def _folder(self, parts: list[str], create: bool) -> Iterator[int]:
        """A handle on the folder ``parts`` names, walked without following links."""
        fd = os.open(self.root, DIR_FLAGS)
        try:
            for word in parts:
                try:
                    child = _open_folder(word, fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(word, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    child = _open_folder(word, fd)
                    if self.adopt is not None:
                        self.adopt(child)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_file(self, parts: list[str], flags: int, create: bool) -> int:
        """An open regular file at ``parts`` (``flags`` add the access mode)."""
        if not parts:
            raise SandboxError("the workspace itself is a folder, not a file")
        with self._folder(parts[:-1], create) as folder:
            fd = os.open(parts[-1], flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o644,
                         dir_fd=folder)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SandboxError(f"{'/'.join(parts)} is {_kind(info.st_mode)}, not a file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write_bytes(self, path: str, data: bytes, mode: Optional[int] = None,
                    executable: bool = False) -> Path:
        """Create or overwrite a file; the folders on the way are created as needed.

        ``executable`` adds the execute bits wherever the file is readable, like ``chmod +x``.
        """
        return self._write(path, lambda handle: handle.write(data), mode, executable)

    def _write(self, path: str, fill: Callable[[BinaryIO], object],
               mode: Optional[int] = None, executable: bool = False) -> Path:
        self._writable(path)
        parts = relative_parts(self.root, path, self.alias)
        try:
            fd = self._open_file(parts, os.O_WRONLY | os.O_CREAT, create=True)
            with os.fdopen(fd, "wb") as handle:
                os.ftruncate(fd, 0)
                fill(handle)
                handle.flush()
                if executable:
                    mode = stat.S_IMODE(os.fstat(fd).st_mode) if mode is None else mode
                    mode |= (mode & 0o444) >> 2
                if mode is not None:
                    os.fchmod(fd, mode & ~SETID_BITS & 0o7777)
                if self.adopt is not None:
                    self.adopt(fd)
        except OSError as exc:
            raise _file_error("write", path, exc) from None
        return self.root.joinpath(*parts)

    def write_text(self, path: str, text: str) -> Path:
        """Create or overwrite a UTF-8 text file; one that opens with ``#!`` is a script, so
        it is made executable, as it is meant to be run."""
        return self.write_bytes(path, text.encode("utf-8"), executable=is_script(text))

    def read_bytes(self, path: str, limit: Optional[int] = None) -> bytes:
        """The bytes of a regular file (at most ``limit`` of them)."""
        parts = relative_parts(self.root, path, self.alias)
        try:
            fd = self._open_file(parts, os.O_RDONLY, create=False)
            with os.fdopen(fd, "rb") as handle:
                return handle.read() if limit is None else handle.read(limit)
        except OSError as exc:
            raise _file_error("read", path, exc) from None

    def read_text(self, path: str) -> str:
        """A file as UTF-8 text, bad bytes replaced."""
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def make_folder(self, path: str) -> Path:
        """Create a folder (and its parents) inside the workspace."""
        self._writable(path)
        parts = relative_parts(self.root, path, self.alias)
        try:
            with self._folder(parts, create=True):
                pass
        except OSError as exc:
            raise _file_error("create", path, exc) from None
        return self.root.joinpath(*parts)

    def is_folder(self, path: str) -> bool:
        """True when ``path`` is a folder reached without links."""
        try:
            with self._folder(relative_parts(self.root, path, self.alias), create=False):
                return True
        except OSError:
            return False

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace under ``dest`` (default: its name).

        Links inside a copied folder are copied as links; set-id bits are not copied.
        """
        source = Path(src).expanduser()
        if not source.exists():
            raise FileNotFoundError(f"no such file or folder: {src}")
        target = dest or source.name
        self._writable(target)
        relative_parts(self.root, target, self.alias)  # refuse an escape before any work
        if source.is_file() and self.is_folder(target):
            target = f"{target.rstrip('/')}/{source.name}"
        if not source.is_dir():
            return self._copy_file(source, target)
        top = self.make_folder(target)
        for folder, dirs, files in os.walk(source):
            here = posixpath.join(target, Path(folder).relative_to(source).as_posix())
            for name in dirs + files:
                item = Path(folder, name)
                if item.is_symlink():
                    self._copy_link(item, posixpath.join(here, name))
                elif item.is_dir():
                    self.make_folder(posixpath.join(here, name))
                else:
                    self._copy_file(item, posixpath.join(here, name))
        return top

    def copy_out(self, path: str, dest: str | Path) -> Path:
        """Copy a workspace file or folder to the host path ``dest``; return what was written.

        Nothing on the way is followed: links and special files inside a folder are skipped.
        """
        target = Path(dest).expanduser()
        parts = relative_parts(self.root, path, self.alias)
        top = target / parts[-1] if target.is_dir() and parts else target
        try:
            with self._folder(parts, create=False) as folder:
                for where, _, files, here in os.fwalk(".", dir_fd=folder, follow_symlinks=False):
                    out = top / where
                    out.mkdir(parents=True, exist_ok=True)
                    for name in files:
                        self._export(here, name, out / name)
                return top
        except NotADirectoryError:
            pass  # a file: copied below
        except OSError as exc:
            raise _file_error("export", path, exc) from None
        top.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = self._open_file(parts, os.O_RDONLY, create=False)
            with os.fdopen(fd, "rb") as handle, top.open("wb") as copy:
                shutil.copyfileobj(handle, copy)  # in pieces: a huge file never fills memory
        except OSError as exc:
            raise _file_error("export", path, exc) from None
        return top

    @staticmethod
    def _export(folder: int, name: str, out: Path) -> None:
        """One regular file of a folder being exported; anything else is left behind."""
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=folder)
        except OSError:
            return  # a link (ELOOP), a FIFO without a writer: not copied
        with os.fdopen(fd, "rb") as handle:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                with out.open("wb") as copy:
                    shutil.copyfileobj(handle, copy)

    def _copy_file(self, source: Path, target: str) -> Path:
        with source.open("rb") as original:
            info = os.fstat(original.fileno())
            landed = self._write(target, lambda handle: shutil.copyfileobj(original, handle),
                                 mode=info.st_mode)
        parts = relative_parts(self.root, target, self.alias)
        with self._folder(parts[:-1], create=False) as folder:
            os.utime(parts[-1], ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=folder,
                     follow_symlinks=False)
        return landed

    def _copy_link(self, source: Path, target: str) -> None:
        self._writable(target)
        parts = relative_parts(self.root, target, self.alias)
        try:
            with self._folder(parts[:-1], create=True) as folder:
                os.symlink(os.readlink(source), parts[-1], dir_fd=folder)
        except FileExistsError:
            pass
        except OSError as exc:
            raise _file_error("copy", target, exc) from None


def walk_files(root: Path) -> Iterator[tuple[int, str, os.stat_result]]:
    """Every entry below ``root`` as (folder handle, name, lstat), never entering a link."""
    for _, dirs, files, folder in os.fwalk(root, follow_symlinks=False):
        for name in dirs + files:
            try:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except OSError:
                continue
            yield folder, name, info


def clear_setid_bits(root: Path) -> int:
    """Remove set-user-id and set-group-id bits from regular files below ``root``.

    Run when nothing in the sandbox is left running, so no link can be swapped in between
    the check and the change; returns how many files were changed.
    """
    changed = 0
    for folder, name, info in walk_files(root):
        if stat.S_ISREG(info.st_mode) and info.st_mode & SETID_BITS:
            try:
                os.chmod(name, stat.S_IMODE(info.st_mode) & ~SETID_BITS, dir_fd=folder)
                changed += 1
            except OSError:
                pass
    return changed


def remove_tree(path: Path) -> None:
    """Remove a folder of ours without following links inside it."""
    shutil.rmtree(path, ignore_errors=True)
