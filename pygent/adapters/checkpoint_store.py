"""Checkpoints of a workspace in a shadow git directory of their own, outside the workspace.

The store is a private (0700) temporary folder, removed on ``close()``: never the user's
repository, whose ``.git`` the scan does not even open. Snapshots are written by
:class:`~.tree_scan.TreeMirror` in git's object format; the ``git`` binary only diffs two
snapshots, inside that folder, with a bare repository and an environment of ours (no system
or global config, no hooks, no pager, no external diff or textconv, no work tree), so nothing
the sandbox wrote can make it run a program or read a file.

A restore writes through handles too: each folder on the way is opened without following
links (a link the sandbox planted where a folder was is refused, never written through), each
file lands under a temporary name and is renamed over the old entry, so a reader sees the old
file or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Callable, Optional

from ..domain.errors import PathEscapeError, SandboxError
from .git_objects import EXECUTABLE, LINK, OPAQUE, TREE, GitObjects
from .host_git import find_git, host_path
from .tree_scan import DIR_FLAGS, TreeMirror
from .tree_watch import FolderWatch

#: A file bigger than this is kept by size and times, not copied (a 1 TB sparse file costs
#: nothing to make and hours to read).
MAX_FILE = 64 * 1024 * 1024
#: A workspace with more files than this gets no checkpoints (a count the scan checks).
MAX_FILES = 200_000
#: A diff longer than this is cut, saying so.
MAX_DIFF = 2 * 1024 * 1024
GIT_TIMEOUT = 60.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

PREFIX = "pygent-checkpoints-"  # then the pid of the process whose store it is

Adopt = Callable[[int], None]


class GitCheckpointStore:
    """Snapshots of ``workspace`` as git trees in a private folder; restores from them.

    ``adopt`` is called with each file and folder a restore creates, so a sandbox whose
    commands run as another user can hand it over (Docker as root). ``watch`` False scans the
    whole tree at every snapshot (what happens anyway where inotify is missing).
    """

    def __init__(self, workspace: Path, *, git: Optional[str] = None,
                 adopt: Optional[Adopt] = None,
                 watch: bool = True, max_file: int = MAX_FILE, max_files: int = MAX_FILES,
                 on_fallback: Callable[[str], None] = lambda why: None) -> None:
        self.workspace = Path(workspace).resolve()
        reap_stale(Path(tempfile.gettempdir()))
        self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        try:
            if self.folder == self.workspace or self.workspace in self.folder.parents:
                raise SandboxError(f"the checkpoint store {self.folder} would be inside the "
                                   "workspace, where the sandbox could change it")
            self.git_dir = self.folder / "git"
            found = git or find_git(self.workspace)
            if found is None:
                raise SandboxError("git is not installed")
            self.git = found
            self._git("init", "--quiet", "--bare", str(self.git_dir))
            self.objects = GitObjects(self.git_dir / "objects")
            self.adopt = adopt
            watcher: Optional[FolderWatch] = None
            if watch:
                try:
                    watcher = FolderWatch()
                except OSError as exc:
                    on_fallback(f"no inotify here ({exc}); each step scans the tree")
            self.mirror = TreeMirror(self.workspace, self.objects, watcher, max_files,
                                     max_file, on_fallback)
        except BaseException:
            self._cleanup()
            raise

    @property
    def watching(self) -> bool:
        """True while snapshots look only where inotify saw changes."""
        return self.mirror.watch is not None

    # -- the port ------------------------------------------------------------------------------
    def snapshot(self, recheck: Sequence[str] = ()) -> str:
        """The workspace's tree id now."""
        try:
            return self.mirror.snapshot(tuple(recheck))
        except OSError as exc:
            raise SandboxError(f"cannot snapshot the workspace: {exc.strerror or exc}") from exc

    def changed(self, before: str, after: str) -> list[str]:
        """The files (and links) that differ between two snapshots."""
        return list(self.objects.changed(before, after))

    def diff(self, before: str, after: str, paths: Optional[Sequence[str]] = None,
             binary: bool = False) -> str:
        """A unified diff (``git diff``, renames found, paths without ``a/`` and ``b/``)."""
        if paths is not None:
            wanted = set(paths)
            before = self.objects.subset(before, wanted)
            after = self.objects.subset(after, wanted)
        if before == after:
            return ""
        self.objects.finish()  # git reads only indexed packs
        args = ["diff-tree", "-r", "-p", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
                "--ignore-submodules=all", "--no-prefix", *(["--binary"] if binary else []),
                before, after]
        text = self._git(*args, limit=MAX_DIFF)
        skipped = [f"{path}: too big to keep a copy of (or not readable); changed"
                   for path in self.objects.changed(before, after)
                   if OPAQUE in (self._mode(before, path), self._mode(after, path))]
        return text + "".join(f"{line}\n" for line in skipped)

    def restore(self, tree: str, paths: Sequence[str]) -> list[str]:
        """Make each of ``paths`` what it is in ``tree`` (absent: removed); return those it
        could not bring back (kept by size only)."""
        targets = {}
        for path in paths:  # a folder there in ``tree`` is made by the files below it
            entry = self.objects.lookup(tree, path)
            targets[path] = None if entry is None or entry[0] == TREE else entry
        skipped = sorted(p for p, e in targets.items() if e is not None and e[0] == OPAQUE)
        root = os.open(self.workspace, DIR_FLAGS)
        path = ""
        try:
            for path in sorted(targets, key=lambda p: -p.count("/")):  # deepest first
                if targets[path] is None:
                    self._remove(root, path)
            for path in sorted(targets):
                entry = targets[path]
                if entry is not None and entry[0] != OPAQUE:
                    self._place(root, path, entry[0], entry[1])
        except OSError as exc:
            raise _restore_error(path, exc) from None
        finally:
            os.close(root)
        return skipped

    def close(self) -> None:
        """Stop watching and remove the store; safe twice."""
        watch = self.mirror.watch if hasattr(self, "mirror") else None
        if watch is not None:
            watch.close()
        if hasattr(self, "objects"):
            self.objects.close()
        self._cleanup()

    # -- git ------------------------------------------------------------------------------------
    def _git(self, *args: str, limit: int = 0) -> str:
        """Run git on the store alone: our config only, no hooks, no work tree, no pager."""
        env = {"PATH": host_path(self.workspace), "HOME": str(self.folder),
               "XDG_CONFIG_HOME": str(self.folder), "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
               "GIT_ATTR_NOSYSTEM": "1", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0",
               "GIT_PAGER": "cat", "PAGER": "cat"}
        if args[0] != "init":
            env["GIT_DIR"] = str(self.git_dir)
        command = [self.git, "-c", "core.hooksPath=" + os.devnull, "-c", "core.fsmonitor=false",
                   "-c", "core.autocrlf=false", "-c", "gc.auto=0", "-c", "diff.external=",
                   "-c", "core.quotePath=true", "-c", "diff.renames=true", *args]
        try:
            done = subprocess.run(command, cwd=self.folder, env=env, capture_output=True,
                                  timeout=GIT_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxError(f"git failed: {exc}") from exc
        if done.returncode != 0:
            problem = done.stderr.decode("utf-8", "replace").strip().splitlines()
            said = problem[-1] if problem else f"exit status {done.returncode}"
            raise SandboxError(f"git {args[0]} failed: {said}")
        out = done.stdout
        if limit and len(out) > limit:
            out = out[:limit] + b"\n[diff cut at %d bytes]\n" % limit
        return out.decode("utf-8", "replace")

    def _mode(self, tree: str, path: str) -> str:
        entry = self.objects.lookup(tree, path)
        return "" if entry is None else entry[0]

    # -- restoring -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _parent(self, root: int, path: str, create: bool) -> Iterator[Optional[int]]:
        """A handle on the folder holding ``path`` (None when it is missing and not created)."""
        fd = os.dup(root)
        try:
            for word in path.split("/")[:-1]:
                try:
                    child = os.open(word, DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        yield None
                        return
                    os.mkdir(word, 0o755, dir_fd=fd)
                    child = os.open(word, DIR_FLAGS, dir_fd=fd)
                    if self.adopt is not None:
                        self.adopt(child)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise PathEscapeError(
                            f"not restoring {path}: {word} on its way is a link or a file now, "
                            "which a restore never writes through") from None
                    raise
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _remove(self, root: int, path: str) -> None:
        """Remove the file or link at ``path``; then its folders that became empty."""
        with self._parent(root, path, create=False) as folder:
            if folder is None:
                return
            name = path.rsplit("/", 1)[-1]
            try:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except FileNotFoundError:
                info = None
            if info is not None and not stat.S_ISDIR(info.st_mode):
                os.unlink(name, dir_fd=folder)
        self._prune(root, path)

    def _prune(self, root: int, path: str) -> None:
        """Remove the folders of ``path`` left empty, deepest first."""
        words = path.split("/")[:-1]
        while words:
            with self._parent(root, "/".join(words), create=False) as folder:
                if folder is None:
                    return
                try:
                    os.rmdir(words[-1], dir_fd=folder)
                except OSError:
                    return  # not empty, or not a folder: kept
            words.pop()

    def _place(self, root: int, path: str, mode: str, hexsha: str) -> None:
        """Write a file or link at ``path`` under a temporary name, then rename it over."""
        kind, data = self.objects.read(hexsha)
        if kind != "blob":
            raise SandboxError(f"the checkpoint of {path} is damaged")
        with self._parent(root, path, create=True) as folder:
            assert folder is not None
            name = path.rsplit("/", 1)[-1]
            temporary = f".pygent-restore-{secrets.token_hex(8)}"
            if mode == LINK:
                os.symlink(os.fsdecode(data), temporary, dir_fd=folder)
            else:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
                fd = os.open(temporary, flags, 0o600, dir_fd=folder)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fchmod(fd, 0o755 if mode == EXECUTABLE else 0o644)
                    if self.adopt is not None:
                        self.adopt(fd)
                finally:
                    os.close(fd)
            try:
                os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            except OSError:
                os.unlink(temporary, dir_fd=folder)
                raise


def reap_stale(folder: Path) -> int:
    """Remove the stores of our own processes that died without closing them (killed);
    return how many. A folder of another user, a link, or a live pid's is left alone."""
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(PREFIX)]
    except OSError:
        return 0
    for name in names:
        pid = name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            info = os.lstat(folder / name)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(folder / name, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's: alive
    return True


def _restore_error(path: str, exc: OSError) -> SandboxError:
    if exc.errno in (errno.EISDIR, errno.ENOTEMPTY):
        return SandboxError(f"cannot restore {path}: a folder with other files is in the way")
    return SandboxError(f"cannot restore {path}: {exc.strerror or exc}")


