"""Reading the AGENTS.md files of a workspace and of the folders above it, within a size limit.

The workspace's file belongs to the sandbox, which may have made it a link to a secret of the
host, a FIFO or a huge file: it is opened through :class:`WorkspaceFiles` (no link followed,
non-blocking, regular files only) and never read past the limit. The folders above the
workspace are the person's own, up to the enclosing git repository's root or the home folder,
whichever comes first; a folder anyone may write (``/tmp``) ends the walk, so another user
cannot put instructions there.
"""

from __future__ import annotations

import codecs
import os
import stat
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from ..domain.errors import MissingFileError, PathEscapeError, SandboxError
from ..domain.instructions import AGENTS_FILE, InstructionFile, ProjectInstructions
from .sandbox.paths import WorkspaceFiles

#: The most bytes of instructions read, all files together: about 9,000 prompt tokens.
LIMIT = 32 * 1024
#: With a model served in-process (8,192 tokens of context): about 2,300 prompt tokens.
LOCAL_MODEL_LIMIT = 8 * 1024
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_project_instructions(workspace: Path, home: Optional[Path] = None,
                              limit: int = LIMIT) -> ProjectInstructions:
    """The AGENTS.md files for ``workspace``, outermost first, at most ``limit`` bytes in all.

    The workspace's own file gets the room first, then the nearest folder's, and so on: the
    more specific a file, the more of it survives the limit. Nothing here raises for a bad
    file; ``problems`` says what was not read.
    """
    workspace = Path(workspace)
    budget = limit
    found: list[InstructionFile] = []
    problems: list[str] = []
    sources: list[tuple[str, Callable[[int], Optional[bytes]]]] = [
        (AGENTS_FILE, partial(_read_workspace_file, workspace))]
    for depth, folder in enumerate(folders_above(workspace, home), start=1):
        label = "../" * depth + AGENTS_FILE
        sources.append((label, partial(_read_own_file, folder / AGENTS_FILE, label=label)))
    for label, read in sources:
        try:
            data = read(max(budget, 0) + 1)
        except _NotRead as exc:
            problems.append(str(exc))
            continue
        if not data:
            continue
        if budget <= 0:
            found.append(InstructionFile(label, "", 0, left_out=True))
            continue
        text, size = _decoded(data, budget)
        if not text.strip():
            continue
        found.append(InstructionFile(label, text, size, cut=len(data) > budget))
        budget -= size
    return ProjectInstructions(tuple(reversed(found)), limit, tuple(problems))


class _NotRead(Exception):
    """A file that is there but was refused; the message says why, for the banner."""


def folders_above(workspace: Path, home: Optional[Path]) -> list[Path]:
    """The folders above ``workspace`` whose AGENTS.md count, nearest first.

    Up to the root of the enclosing git repository or ``home``, whichever comes first; none
    when the workspace is a repository's root or the home folder, when neither is above it,
    or when a folder on the way may be written by anyone.
    """
    real = Path(os.path.realpath(workspace))
    top = Path(os.path.realpath(home)) if home is not None else None
    if top is not None and top == Path(top.anchor):
        top = None  # a home of "/" would let the walk reach every folder
    if real == top or os.path.lexists(real / ".git"):
        return []
    chain: list[Path] = []
    for folder in real.parents:
        if _anyone_may_write(folder):
            return []
        chain.append(folder)
        if folder == top or os.path.lexists(folder / ".git"):
            return chain
    return []


def _anyone_may_write(folder: Path) -> bool:
    try:
        return bool(os.stat(folder).st_mode & stat.S_IWOTH)
    except OSError:
        return True  # cannot tell: trust it no more than /tmp


def _read_workspace_file(workspace: Path, most: int) -> Optional[bytes]:
    """The workspace's AGENTS.md, read as the file tools read: no link, no FIFO, no device."""
    try:
        # the workspace folder itself is the person's choice; below it, nothing is followed
        root = Path(os.path.realpath(workspace))
        return WorkspaceFiles(root).read_bytes(AGENTS_FILE, limit=most)
    except MissingFileError:
        return None
    except PathEscapeError:
        raise _NotRead(f"{AGENTS_FILE} is a symbolic link: not read") from None
    except (SandboxError, OSError) as exc:
        text = str(exc).replace(f"cannot read {AGENTS_FILE}: ", "")
        raise _NotRead(f"{AGENTS_FILE} not read: {text.replace(AGENTS_FILE + ' is', 'it is')}"
                       ) from None


def _read_own_file(path: Path, most: int, label: str) -> Optional[bytes]:
    """An AGENTS.md above the workspace: a link is followed, but only a regular file is read."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _NotRead(f"{label} not read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotRead(f"{label} not read: it is not a regular file")
        try:
            return handle.read(most)
        except OSError as exc:
            raise _NotRead(f"{label} not read: {exc.strerror or exc}") from None


def _decoded(data: bytes, budget: int) -> tuple[str, int]:
    """The text of at most ``budget`` bytes (bad bytes replaced, a character cut in two
    dropped) and how many bytes it took."""
    cut = len(data) > budget
    kept = data[:budget]
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(kept, final=not cut)
    return text, len(kept)
