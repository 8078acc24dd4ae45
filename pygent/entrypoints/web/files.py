"""The workspace's files for the sidebar: listed without following links, read only inside it."""

from __future__ import annotations

import os
from pathlib import Path

from ...adapters.sandbox.paths import WorkspaceFiles

SKIPPED_FOLDERS = {".git", "__pycache__", "node_modules", ".venv", ".mypy_cache"}


def workspace_files(root: Path, limit: int = 200) -> tuple[list[str], bool]:
    """Regular files under ``root`` as sorted relative paths; True when ``limit`` cut the list."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS)
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file():
                continue  # a link could point outside the workspace
            found.append(path.relative_to(root).as_posix())
            if len(found) > limit:
                return sorted(found[:limit]), True
    return sorted(found), False


def read_workspace_file(root: Path, relative: str) -> bytes:
    """The bytes of a workspace file, refusing paths and links (on the way too) that lead out."""
    return WorkspaceFiles(root).read_bytes(relative)
