"""Which ``git`` the host runs for checkpoints: its own, never one the sandbox could place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional


def host_path(workspace: Path) -> str:
    """PATH without relative folders or folders in the workspace, where the sandbox could put
    a ``git`` of its own for the host to run."""
    inside = Path(workspace).resolve()
    kept = []
    for folder in os.get_exec_path():
        if not os.path.isabs(folder):
            continue
        where = Path(folder).resolve()
        if where != inside and inside not in where.parents:
            kept.append(folder)
    return os.pathsep.join(kept)


def find_git(workspace: Path) -> Optional[str]:
    """The host's ``git``, never one in the workspace or found through a relative PATH entry."""
    return shutil.which("git", path=host_path(workspace))
