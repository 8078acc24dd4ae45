"""Keep every path a model names inside the workspace."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Optional

from ..domain.sandbox import PathEscapeError, SandboxError


def resolve_in_workspace(workspace: Path, path: str, alias: Optional[str] = None) -> Path:
    """Resolve ``path`` (relative, or absolute under ``workspace`` or ``alias``) or refuse it."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise PathEscapeError(f"invalid path {path!r}")
    root = workspace.resolve()
    candidate = Path(path)
    if alias and (path == alias or path.startswith(alias.rstrip("/") + "/")):
        candidate = root / path[len(alias) :].lstrip("/")
    elif not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise PathEscapeError(
            f"path {path!r} is outside the workspace {alias or root}; use a path inside it"
        )
    return resolved


def write_text(target: Path, text: str) -> int:
    """Write ``text`` without following a symlink swapped in at the last component."""
    data = text.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, flags, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise _file_error("write", target, exc) from None
    return len(data)


def read_text(target: Path) -> str:
    """Read a file as UTF-8 (bad bytes replaced), refusing a symlink at the last component."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
        with os.fdopen(fd, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise _file_error("read", target, exc) from None


def _file_error(verb: str, target: Path, exc: OSError) -> SandboxError:
    """A symlink swapped in is an escape attempt; anything else is a plain file error."""
    if exc.errno == errno.ELOOP:
        return PathEscapeError(f"refusing to {verb} {target.name}: it is a symbolic link")
    return SandboxError(f"cannot {verb} {target.name}: {exc.strerror}")


def copy_into(workspace: Path, src: str, dest: Optional[str], alias: Optional[str] = None) -> Path:
    """Copy a host file or folder into the workspace under ``dest`` (default: its name)."""
    source = Path(src).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"no such file or folder: {src}")
    target = resolve_in_workspace(workspace, dest or source.name, alias)
    if target.is_dir() and source.is_file():
        target = resolve_in_workspace(workspace, str(target / source.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
    return target
