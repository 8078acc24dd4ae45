"""The words checkpoints answer with: a step's label, the lines undo and redo print, paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..domain.errors import CheckpointError
from ..domain.messages import ToolCall
from ..domain.visible import visible

if TYPE_CHECKING:
    from .checkpoints import Checkpoint, Checkpoints

LABEL_WIDTH = 48
SHOWN_PATHS = 3


def label_of(calls: Sequence[ToolCall]) -> str:
    """A step in a few words: its first tool call (``bash: sed -i ...``), and how many more."""
    if not calls:
        return "no tool call"
    first = calls[0].function
    try:
        arguments: Any = json.loads(first.arguments or "{}")
    except (ValueError, RecursionError):
        arguments = None
    detail = ""
    if isinstance(arguments, dict):
        value = arguments.get("cmd", arguments.get("path"))
        if value is None:
            value = next((v for v in arguments.values() if isinstance(v, str)), "")
        detail = " ".join(str(value).split())
    if len(detail) > LABEL_WIDTH:
        detail = detail[:LABEL_WIDTH - 3] + "..."
    text = f"{first.name}: {detail}" if detail else first.name
    if len(calls) > 1:
        text += f" and {len(calls) - 1} more"
    return visible(text, keep_newlines=False)


def name_paths(paths: Sequence[str]) -> str:
    """``a.txt``, ``a.txt and b.txt``, ``a.txt, b.txt, c.txt and 4 more``."""
    shown = [visible(p, keep_newlines=False) for p in paths[:SHOWN_PATHS]]
    if len(paths) > SHOWN_PATHS:
        return f"{', '.join(shown)} and {len(paths) - SHOWN_PATHS} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def files(count: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} file{'s' * (count != 1)}"


def said(checkpoint: Checkpoint, undone: bool, skipped: list[str], messages: int,
         conversation: bool) -> str:
    """The one line an undo or a redo answers with."""
    done = [p for p in checkpoint.paths if p not in skipped]
    names = f" ({name_paths(done)})" if done else ""
    if undone:
        text = f"Undid {checkpoint.describe()}: {files(len(done))} back as before{names}"
        if conversation:
            text += (f", and {messages} message{'s' * (messages != 1)} taken out of the "
                     "conversation; /redo --chat puts both back" if messages else
                     "; the conversation was not rewound (it is not the one the step was in)"
                     "; /redo puts the files back")
        else:
            text += (f"; /redo puts {'it' if len(done) == 1 else 'them'} back. The conversation "
                     "is kept; /undo --chat rewinds it too")
    else:
        text = f"Redid {checkpoint.describe()}: {files(len(done))} changed again{names}"
        if messages:
            text += f", and {messages} message{'s' * (messages != 1)} back in the conversation"
        text += "; /undo takes it back"
    if skipped:
        text += f". Not restored (too big to keep a copy of): {name_paths(skipped)}"
    return text + "."


def nothing_left(verb: str, checkpoints: Checkpoints) -> str:
    """Why there is nothing to undo or redo."""
    if verb == "redo":
        return "Nothing to redo: no step has been undone since the last change."
    if checkpoints.undone:
        return "Nothing left to undo: every step of this session that changed files is undone."
    return "Nothing to undo: no step has changed a file yet."


def in_the_way(changed: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The changed paths a restore of ``paths`` would touch: the same, below or above one."""
    wanted = set(paths)
    folders = {p.rsplit("/", d)[0] for p in paths for d in range(1, p.count("/") + 1)}
    found = []
    for path in changed:
        above = {path.rsplit("/", d)[0] for d in range(1, path.count("/") + 1)}
        if path in wanted or path in folders or above & wanted:
            found.append(path)
    return found


def relative(path: str, workspace: Optional[Path]) -> str:
    """``path`` as the store names it: relative, ``/``-separated, no ``./`` or trailing ``/``."""
    text = path.strip()
    if text.startswith("/"):
        for prefix in ([str(workspace)] if workspace else []) + ["/workspace"]:
            if text == prefix or text.startswith(prefix.rstrip("/") + "/"):
                text = text[len(prefix):].lstrip("/")
                break
    words = [w for w in text.split("/") if w not in ("", ".")]
    if text.startswith("/") or ".." in words:
        raise CheckpointError(f"{path} is outside the workspace; give a path inside it.")
    return "/".join(words)
