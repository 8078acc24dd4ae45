"""A mirror of the workspace as git trees, brought up to date by looking only where it changed.

The sandbox owns the workspace, so the scan trusts nothing in it: every folder is opened from
a handle on its parent without following links, entries are judged by ``lstat``, a file is read
only after ``fstat`` says it is a regular one (opened non-blocking: a FIFO cannot hang it),
links are kept as links, and entries named ``.git`` (the user's repository, or one the sandbox
planted) are never opened. Nothing is skipped because an ignore file says so: a ``.gitignore``
is a file the sandbox can rewrite (``*`` would hide every new file), so what a checkpoint
protects cannot depend on one. A file bigger than ``max_size``, or one Pygent may not read, is
kept by its size and times only (an OPAQUE entry): changes to it are seen, its bytes are not.

With a :class:`FolderWatch`, a snapshot of a tree nothing touched is one ``read`` that finds no
event; otherwise only the named entries of the folders with events are looked at again.
Without one (not Linux, or the watch limit reached), every snapshot scans the whole tree,
reusing the ids of files whose size, times and inode are unchanged.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Callable, Optional

from ..domain.errors import SandboxError
from .git_objects import EMPTY_TREE, OPAQUE, TREE, Entry, GitObjects
from .tree_entry import StatKey, file_entry, opaque_id, stat_key
from .tree_watch import IN_DELETE_SELF, IN_IGNORED, IN_MOVE_SELF, FolderWatch, Overflow, WatchLimit

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
SKIPPED = ".git"


class TooManyFiles(SandboxError):
    """The workspace holds more files than a checkpoint keeps."""


class Folder:
    """One folder of the mirror: its files and links, its subfolders, its tree id when known."""

    __slots__ = ("name", "parent", "files", "folders", "tree", "wd", "ino", "dirty", "gone")

    def __init__(self, name: str, parent: Optional[Folder], ino: int) -> None:
        self.name, self.parent, self.ino = name, parent, ino
        self.files: dict[str, tuple[Entry, StatKey]] = {}
        self.folders: dict[str, Folder] = {}
        self.tree: Optional[str] = None
        self.wd = -1
        self.dirty: set[str] = set()
        self.gone = False

    def parts(self) -> list[str]:
        """Its path below the root, as words."""
        words: list[str] = []
        folder: Optional[Folder] = self
        while folder is not None and folder.parent is not None:
            words.append(folder.name)
            folder = folder.parent
        return words[::-1]

    def stale(self) -> None:
        """Forget its tree id and its parents'."""
        folder: Optional[Folder] = self
        while folder is not None and folder.tree is not None:
            folder.tree = None
            folder = folder.parent


class TreeMirror:
    """The workspace ``root`` kept as trees in ``objects``; :meth:`snapshot` gives the root's id."""

    def __init__(self, root: Path, objects: GitObjects, watch: Optional[FolderWatch],
                 max_files: int, max_size: int,
                 on_fallback: Callable[[str], None] = lambda why: None) -> None:
        self.root, self.objects, self.watch = root, objects, watch
        self.max_files, self.max_size = max_files, max_size
        self.on_fallback = on_fallback
        self.top: Optional[Folder] = None
        self.by_wd: dict[int, Folder] = {}
        self.count = 0
        self._everything = True  # the next snapshot looks at every entry
        self._pending: set[Folder] = set()  # folders with entries to look at again
        self._started = 0

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self, recheck: tuple[str, ...] = ()) -> str:
        """The root's tree id now; ``recheck`` paths are looked at whatever the watch says.

        A snapshot cut short (an error, Ctrl-C) may have dropped events it had read: the
        next one looks at every entry.
        """
        try:
            return self._snapshot(recheck)
        except BaseException:
            self._everything = True
            raise

    def _snapshot(self, recheck: tuple[str, ...]) -> str:
        self._started = time.time_ns()
        if self.watch is not None and self.top is not None and not self._everything:
            self._read_events()
            for path in recheck:
                self._mark(path)
            if not self._pending and self.top.tree is not None:
                return self.top.tree  # nothing happened: the common case, one read()
        root = os.open(self.root, DIR_FLAGS)
        try:
            if self.top is None:
                self.top = Folder("", None, os.fstat(root).st_ino)
                self._watch(self.top, root)
                self._everything = True
            if not self._everything and self.watch is not None:
                pending, self._pending = self._pending, set()
                for folder in sorted(pending, key=lambda f: len(f.parts())):
                    self._rescan(folder, root)
            if self._everything or self.watch is None:
                self._everything = False
                self._pending.clear()
                self._scan(self.top, root)
        finally:
            os.close(root)
        return self._tree(self.top)

    def _read_events(self) -> None:
        assert self.watch is not None
        try:
            events = self.watch.changes()
        except Overflow:
            self._everything = True
            return
        for wd, mask, name in events:
            folder = self.by_wd.get(wd)
            if folder is None:
                continue
            if mask & IN_IGNORED:  # the folder went away: its parent has the event
                del self.by_wd[wd]
                folder.wd = -1
            if folder is self.top and mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                self._everything = True
            if name:
                folder.dirty.add(name)
                self._pending.add(folder)

    def _mark(self, path: str) -> None:
        """Look at ``path`` again: its deepest folder the mirror knows marks the next word."""
        folder = self.top
        assert folder is not None
        for word in (w for w in path.split("/") if w):
            child = folder.folders.get(word)
            if child is None:
                folder.dirty.add(word)
                self._pending.add(folder)
                return
            folder = child
        if folder.parent is not None:
            folder.parent.dirty.add(folder.name)
            self._pending.add(folder.parent)

    def _rescan(self, folder: Folder, root: int) -> None:
        names, folder.dirty = folder.dirty, set()
        if folder.gone or self._everything:
            return
        fd = self._open_path(root, folder.parts())
        if fd is None:  # moved or replaced meanwhile: look at everything instead
            self._everything = True
            return
        try:
            for name in sorted(names):
                self._look(folder, fd, name, deep=False)
        finally:
            os.close(fd)

    def _scan(self, folder: Folder, fd: int) -> None:
        """Look at every entry of ``folder`` (open as ``fd``) and below."""
        folder.dirty.clear()
        found: dict[str, Optional[os.stat_result]] = {}
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    try:
                        found[entry.name] = entry.stat(follow_symlinks=False)
                    except OSError:
                        found[entry.name] = None
        except OSError:
            pass
        for name in list(folder.files) + list(folder.folders):
            if name not in found:
                self._drop(folder, name)
        files = folder.files
        for name, info in found.items():
            known = files.get(name)
            if known is not None and info is not None and known[1] == (
                    info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino):
                continue  # the common case of a full scan, kept short: nothing changed
            self._look(folder, fd, name, deep=True, info=info)

    # -- one entry ----------------------------------------------------------------------------
    def _look(self, folder: Folder, fd: int, name: str, deep: bool,
              info: Optional[os.stat_result] = None) -> None:
        """Bring ``name`` in ``folder`` up to date; ``deep`` also looks inside known subfolders.

        ``info`` is its ``lstat`` when the caller has it."""
        if name == SKIPPED or name in (".", "..") or "/" in name:
            return
        try:
            if info is None:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            self._drop(folder, name)
            return
        if stat.S_ISDIR(info.st_mode):
            if name in folder.files:
                self._drop(folder, name)
            child = folder.folders.get(name)
            if child is not None and (child.ino != info.st_ino
                                      or (self.watch is not None and child.wd < 0)):
                self._drop(folder, name)  # another folder under the same name
                child = None
            if child is None or deep:
                self._enter(folder, fd, name, info, child)
            return
        if name in folder.folders:
            self._drop(folder, name)
        known = folder.files.get(name)
        found = file_entry(fd, name, info, known, self.objects, self.max_size, self._started)
        if found is None:
            if known is not None:
                del folder.files[name]
                self._count(-1)
                folder.stale()
            return
        if known is None:
            self._count(1)
        if known is None or known[0] != found[0]:
            folder.stale()
        folder.files[name] = found

    def _enter(self, folder: Folder, fd: int, name: str, info: os.stat_result,
               child: Optional[Folder]) -> None:
        try:
            sub = os.open(name, DIR_FLAGS, dir_fd=fd)
        except OSError:  # a folder we may not open: kept by its times, like a big file
            self._drop(folder, name)
            folder.files[name] = ((OPAQUE, opaque_id(info)), stat_key(info))
            self._count(1)
            folder.stale()
            return
        try:
            if child is None:
                child = Folder(name, folder, info.st_ino)
                folder.folders[name] = child
                folder.stale()
                self._watch(child, sub)
            self._scan(child, sub)
        finally:
            os.close(sub)

    def _drop(self, folder: Folder, name: str) -> None:
        """Forget ``name`` in ``folder`` (and everything below it, watches included)."""
        if folder.files.pop(name, None) is not None:
            self._count(-1)
            folder.stale()
        child = folder.folders.pop(name, None)
        if child is None:
            return
        folder.stale()
        stack = [child]
        while stack:
            gone = stack.pop()
            gone.gone = True
            self._count(-len(gone.files))
            if gone.wd >= 0 and self.by_wd.get(gone.wd) is gone:
                del self.by_wd[gone.wd]
                if self.watch is not None:
                    self.watch.remove(gone.wd)
            stack.extend(gone.folders.values())

    def _count(self, change: int) -> None:
        self.count += change
        if self.count > self.max_files:
            raise TooManyFiles(f"the workspace holds more than {self.max_files:,} files")

    # -- watches, paths and trees -------------------------------------------------------------
    def _watch(self, folder: Folder, fd: int) -> None:
        if self.watch is None:
            return
        try:
            folder.wd = self.watch.add(fd)
        except (WatchLimit, OSError) as exc:
            self.watch.close()
            self.watch = None
            self.by_wd.clear()
            self.on_fallback(f"cannot watch every folder ({exc}); each step scans the tree")
            return
        self.by_wd[folder.wd] = folder

    def _open_path(self, root: int, parts: list[str]) -> Optional[int]:
        fd = os.dup(root)
        for word in parts:
            try:
                child = os.open(word, DIR_FLAGS, dir_fd=fd)
            except OSError:
                os.close(fd)
                return None
            os.close(fd)
            fd = child
        return fd

    def _tree(self, folder: Folder) -> str:
        if folder.tree is not None:
            return folder.tree
        entries: dict[str, Entry] = {name: entry for name, (entry, _) in folder.files.items()}
        for name, child in folder.folders.items():
            tree = self._tree(child)
            if tree != EMPTY_TREE:
                entries[name] = (TREE, tree)
        folder.tree = self.objects.write_tree(entries)
        return folder.tree
