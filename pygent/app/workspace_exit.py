"""What leaving a session does with its temporary workspace: nothing the agent made is lost
without a word.

A workspace Pygent made for the session (no ``workspace`` given) is removed quietly when it
is empty; one that holds files is kept and its place said, or, in the REPL, the person is
asked first. ``/exit discard`` and ``keep_workspace = "never"`` remove it; a folder the person
named is never removed. The Python API is unchanged: ``Runtime.cleanup()`` still removes a
temporary workspace unless an entrypoint called ``keep_workspace()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

#: Entries counted at most: a huge tree (node_modules) must not hold up the exit.
MOST_COUNTED = 100_000
CHOICES = ("keep", "discard")  # what ``/exit keep|discard`` says, once


@dataclass(frozen=True)
class Contents:
    """How much a workspace holds: files (anything not a folder) and folders, counted
    without following a link, up to ``MOST_COUNTED`` entries (``more`` beyond)."""

    files: int = 0
    folders: int = 0
    more: bool = False

    def __bool__(self) -> bool:
        return bool(self.files or self.folders or self.more)

    def describe(self) -> str:
        """``3 files``, ``1 file, 2 folders``, ``100000+ entries``."""
        if self.more:
            return f"{MOST_COUNTED}+ entries"
        parts = [f"{count} {word}{'s' * (count != 1)}" for count, word in (
            (self.files, "file"), (self.folders, "folder")) if count]
        return ", ".join(parts) or "empty"


def count_contents(folder: Path, most: int = MOST_COUNTED) -> Contents:
    """What ``folder`` holds; folders that cannot be read count as themselves only.

    Iterative, so a tree nested thousands deep by the sandbox's commands cannot exhaust the
    stack; only names are read, no file is opened.
    """
    files = folders = 0
    pending = [str(folder)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders += 1
                        pending.append(entry.path)
                    else:
                        files += 1
                    if files + folders >= most:
                        return Contents(files, folders, more=True)
        except OSError:
            continue
    return Contents(files, folders)


@dataclass(frozen=True)
class WorkspaceEnd:
    """What became of a temporary workspace as its session ended."""

    path: Path
    kept: bool
    contents: Contents

    def describe(self) -> str:
        """One line to show the person, or "" for an empty workspace removed quietly."""
        if self.kept:
            return f"Kept the workspace {self.path} ({self.contents.describe()})."
        if self.contents:
            return f"Removed the temporary workspace {self.path} ({self.contents.describe()})."
        return ""


def question(path: Path, contents: Contents) -> str:
    """What the REPL asks before it leaves; Enter keeps."""
    return f"Keep the workspace {path} ({contents.describe()})? [Y/n] "


def guard_workspace(runtime: Any, policy: str) -> None:
    """At a session's start: keep a temporary workspace that holds files whatever ends the
    session (a signal, a crash, a closed tab), unless the policy is ``never``."""
    if getattr(runtime, "temporary", False) and policy != "never":
        runtime.keep_workspace(True)


def settle_workspace(runtime: Any, policy: str, choice: Optional[str] = None,
                     ask: Optional[Callable[[str], bool]] = None) -> Optional[WorkspaceEnd]:
    """Before the runtime closes: keep a temporary workspace or let it go, and say which.

    ``choice`` is the person's word at ``/exit`` (keep or discard); ``ask`` asks the person
    (``policy`` ``ask`` on a terminal), else a workspace that holds files is kept. None for
    a folder the person named, which is never removed.
    """
    if not getattr(runtime, "temporary", False):
        return None
    path = Path(runtime.workspace)
    try:
        found = count_contents(path)
    except OSError:
        found = Contents(more=True)  # cannot tell: keep it
    if not found:
        keep = False
    elif choice in CHOICES:
        keep = choice == "keep"
    elif policy == "never":
        keep = False
    elif policy == "ask" and ask is not None:
        keep = ask(question(path, found))
    else:
        keep = True
    runtime.keep_workspace(keep)
    return WorkspaceEnd(path, keep, found)
