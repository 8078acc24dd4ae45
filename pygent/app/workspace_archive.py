"""A workspace as bytes, so a task that ran on another machine can send its files back.

Only plain files and folders travel. Packing reads a private folder the sandbox exported into
(no link followed there); unpacking writes nothing but plain files and folders under the
destination, whatever names or member kinds the archive holds.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

from ..domain.errors import TaskError

#: The most bytes of files a task may send back; a bigger workspace stays on its node.
ARCHIVE_LIMIT = 256 * 1024 * 1024


def pack(folder: Path, limit: int = ARCHIVE_LIMIT) -> bytes:
    """The plain files and folders under ``folder`` as a gzipped tar; TaskError past ``limit``."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for where, folders, files in os.walk(folder):
            folders.sort()
            for name in sorted(folders) + sorted(files):
                path = Path(where, name)
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    continue
                total += path.stat().st_size if path.is_file() else 0
                if total > limit:
                    raise TaskError(f"the workspace holds more than {limit // 2**20} MiB of "
                                    "files; they were not sent back")
                tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def names(archive: bytes) -> list[str]:
    """The top-level entries, folders with a trailing ``/``: what a parent can collect."""
    top: dict[str, bool] = {}
    for member, parts in _members(archive):
        is_folder = len(parts) > 1 or member.isdir()
        top[parts[0]] = top.get(parts[0], False) or is_folder
    return sorted(name + ("/" if folder else "") for name, folder in top.items())


def extract(archive: bytes, path: str, dest: Path) -> Path:
    """Write the file or folder at ``path`` (relative, as in the workspace) to ``dest``."""
    wanted = _parts(path)
    if wanted is None:
        raise TaskError(f"{path!r} is not a path inside the task's workspace")
    found = False
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in tar:
            parts = _parts(member.name)
            if parts is None or parts[:len(wanted)] != wanted:
                continue
            target = dest.joinpath(*parts[len(wanted):])
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                found = True
            elif member.isfile():
                _write(tar, member, target)
                found = True
    if not found:
        raise TaskError(f"{path} does not exist in the task's workspace")
    return dest


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    """One plain file, never through a link already at ``target`` (made by an earlier member)."""
    source = tar.extractfile(member)
    if source is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_dir():
        raise TaskError(f"the archive holds {member.name} twice")
    mode = 0o755 if member.mode & 0o111 else 0o644
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with source, os.fdopen(os.open(target, flags, mode), "wb") as out:
        shutil.copyfileobj(source, out)


def _members(archive: bytes) -> Iterator[tuple[tarfile.TarInfo, list[str]]]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in tar:
            parts = _parts(member.name)
            if parts and (member.isdir() or member.isfile()):
                yield member, parts


def _parts(name: str) -> Optional[list[str]]:
    """``name`` as path parts inside the workspace; None for an absolute path or ``..``."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute():
        return None
    parts = [part for part in pure.parts if part not in ("", ".")]
    return None if ".." in parts else parts
