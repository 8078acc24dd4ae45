"""What leaving ``pygent`` does with a temporary workspace: asked on a terminal, else kept and
its place said; an empty one goes quietly (:mod:`pygent.app.workspace_exit` decides)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Callable, Optional

from ..app.workspace_exit import WorkspaceEnd, guard_workspace, settle_workspace
from .cli_render import YELLOW, Renderer

if TYPE_CHECKING:
    from ..app.commands import Session
    from ..app.settings import Settings

#: Said after "Kept the workspace ...": how to leave without keeping it next time.
REPL_HINT = " /exit discard (or --keep-workspace never) leaves without keeping it."
RUN_HINT = " --keep-workspace never removes it at the end instead."


def terminal_question(renderer: Renderer) -> Callable[[str], bool]:
    """Ask on the terminal; Enter, yes, no answer (EOF) or Ctrl-C keep the workspace."""

    def ask(question: str) -> bool:
        renderer.spinner.stop()
        renderer.err.write(renderer.paint(question, YELLOW))
        renderer.err.flush()
        try:
            reply = sys.stdin.readline()
        except (KeyboardInterrupt, OSError, ValueError):
            return True
        return reply.strip().lower() not in ("n", "no")

    return ask


def protect(session: Session, settings: Settings) -> None:
    """As the session starts: whatever ends it (a signal, a crash), files are not lost."""
    guard_workspace(session.runtime, settings.keep_workspace)


def decide(session: Session, settings: Settings, renderer: Renderer,
           ask: bool) -> Optional[WorkspaceEnd]:
    """Before the agent closes: keep or remove a temporary workspace (asking when ``ask``)."""
    return settle_workspace(session.runtime, settings.keep_workspace, session.workspace_choice,
                            terminal_question(renderer) if ask else None)


def report(end: Optional[WorkspaceEnd], renderer: Renderer, hint: str) -> None:
    """After the agent closed: say where a kept workspace is, or that one was removed."""
    text = end.describe() if end is not None else ""
    if text:
        try:
            renderer.notice(text + (hint if end is not None and end.kept else ""))
        except OSError:  # the terminal hung up (SIGHUP): the files are kept all the same
            pass
