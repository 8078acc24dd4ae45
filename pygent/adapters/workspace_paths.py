"""Keep every path a model names inside the workspace."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from ..domain.sandbox import PathEscapeError


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
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except OSError as exc:
        raise PathEscapeError(f"cannot write {target.name}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return len(data)


def read_text(target: Path) -> str:
    """Read a file as UTF-8 (bad bytes replaced), refusing a symlink at the last component."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise PathEscapeError(f"cannot read {target.name}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8", errors="replace")


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
