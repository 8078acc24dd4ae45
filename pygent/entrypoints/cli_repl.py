"""The interactive loop: a prompt_toolkit prompt, slash commands, and the agent in between."""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app_or_none, run_in_terminal
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory

from ..app.commands import (
    COMMANDS,
    CommandOutcome,
    Session,
    find_command,
    instructions_line,
    is_command,
    run_command,
)
from ..app.task_report import ended_line, task_manager
from ..container import resolve_backend
from ..domain.errors import PygentError, StepCancelled
from ..domain.events import Event, ToolCallStarted
from .cli import ctrl_c_cancels
from .cli_render import DIM, RED, Renderer

if TYPE_CHECKING:
    from ..app.settings import Settings
    from ..app.tasks import Task

PROMPT = "vc> "


def history_path() -> Path:
    """``$XDG_DATA_HOME/pygent/history``, else ``~/.local/share/pygent/history``; made 0600."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    folder = Path(base) / "pygent"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "history"
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path


class SlashCompleter(Completer):
    """Completes command names after ``/`` and each command's arguments (paths, names)."""

    def __init__(self) -> None:
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterable[Completion]:
        """What fits at the cursor."""
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for each in COMMANDS.values():
                name = f"/{each.name}"
                if name.startswith(text.lower()):
                    yield Completion(name, -len(text), display_meta=each.summary)
            return
        head, _, rest = text.partition(" ")
        command = find_command(head)
        if command is None:
            return
        word = rest.rsplit(" ", 1)[-1]
        if command.completes == "path":
            yield from self.paths.get_completions(Document(word, len(word)), event)
            return
        choices = list(COMMANDS) if command.completes == "command" else (
            command.completes.split("|") if command.completes else [])
        for choice in choices:
            if choice.startswith(word):
                yield Completion(choice, -len(word))


class TaskNotices:
    """Says when a delegated task ends, at a moment that cannot garble the screen.

    A task ends in its own thread, so its line waits in a queue for the main thread: it is
    printed above the prompt while the prompt waits for input (prompt_toolkit redraws the
    prompt and what was typed below it), between a step's tool calls, or before the next
    prompt.
    """

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.pending: deque[str] = deque()
        self.app: Optional[Application[Any]] = None  # the prompt, while it may be waiting

    def __call__(self, task: Task) -> None:
        """The task manager's listener, called from the task's thread."""
        self.pending.append(ended_line(task))
        app = self.app
        loop = app.loop if app is not None and app.is_running else None
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._above_prompt)
            except RuntimeError:  # the prompt just ended: the next flush prints the line
                pass

    def _above_prompt(self) -> None:
        if self.pending and self.app is not None and self.app.is_running:
            run_in_terminal(self.flush)

    def flush(self) -> None:
        """Print the lines waiting, from the main thread."""
        while self.pending:
            try:
                line = self.pending.popleft()
            except IndexError:
                return
            self.renderer.notice(line)

    def event(self, event: Event) -> None:
        """An agent listener that runs before the renderer: flush before each tool call."""
        if isinstance(event, ToolCallStarted):
            self.flush()


def say_tasks_stop(session: Session, renderer: Renderer) -> None:
    """As the session ends: name the tasks still running, which closing the agent stops."""
    manager = task_manager(session.agent)
    running = [task.id for task in manager.tasks.values() if task.running] if manager else []
    if running:
        renderer.notice(f"Stopping {len(running)} running task{'s' * (len(running) > 1)}: "
                        f"{', '.join(running)}")


def banner(session: Session, settings: Settings) -> list[str]:
    """Who is answering, where commands run, which model, which workspace, which project
    instructions (AGENTS.md); then a hint."""
    runtime = session.runtime
    where = runtime.label
    backend = resolve_backend(settings)
    model = session.agent.model_name if backend == "openai" else backend
    if backend == "openai" and settings.local_model:
        address = urlsplit(str(getattr(session.agent.model, "base_url", "") or "")).netloc
        model += f" (llama.cpp on {address})"
    lines = [
        f"{session.agent.persona.name} - {where} - model: {model} - workspace: "
        f"{runtime.workspace}",
        "Type /help for commands; /exit or Ctrl-D leaves, Ctrl-C interrupts a step.",
    ]
    instructions = instructions_line(session.agent)
    if instructions:
        lines.insert(1, instructions)
    lines[-1:-1] = workspace_notes(runtime, settings)  # before the hint
    if backend == "direct":
        lines.append('Offline direct model: lines run as shell commands, or as tool calls '
                     'like write_file path="a.txt" content="hi".')
        lines.append("Set OPENAI_API_KEY to chat with a real model.")
    elif backend == "echo":
        lines.append("Echo model: replies repeat what you type; set OPENAI_API_KEY for a real "
                     "model.")
    return lines


def workspace_notes(runtime: Any, settings: Settings) -> list[str]:
    """The banner's word on the workspace: read-only (and whether commands are held to it),
    or temporary (what leaving does with it)."""
    notes = []
    if getattr(runtime, "read_only", False):
        if runtime.label == "local (unconfined)":
            notes.append("Read-only for the file tools only: local commands are not confined, "
                         "so they can still change files (Docker or bubblewrap enforce it).")
        else:
            notes.append("Read-only workspace: commands and tools can read it, not change it.")
    if getattr(runtime, "temporary", False) and settings.keep_workspace != "never":
        notes.append("A temporary workspace: kept at exit when it holds files (/exit discard "
                     "removes it); --workspace . works in the current folder.")
    return notes


def show_outcome(renderer: Renderer, outcome: CommandOutcome) -> None:
    """Print what a slash command said."""
    if outcome.text:
        renderer.line(outcome.text, RED if outcome.is_error else "")


def ask_to_retry(session: Session, renderer: Renderer, outcome: CommandOutcome) -> CommandOutcome:
    """A command refused to overwrite files (``/undo``): ask on a terminal, then retry with
    ``--force`` on a yes. Piped input is never asked: the refusal says how to force it."""
    if not sys.stdin.isatty():
        return outcome
    show_outcome(renderer, outcome)
    renderer.spinner.stop()
    renderer.err.write(renderer.paint("Overwrite? [y/N] ", "\x1b[33m"))
    renderer.err.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        return CommandOutcome("Nothing was changed.")
    return run_command(session, outcome.retry)


def handle_line(session: Session, settings: Settings, renderer: Renderer, line: str) -> bool:
    """Run one input line; False when the session should end. Errors are printed, not raised."""
    try:
        if is_command(line):
            outcome = run_command(session, line)
            if outcome.retry:
                outcome = ask_to_retry(session, renderer, outcome)
            show_outcome(renderer, outcome)
            return not outcome.exit
        renderer.spinner.start("thinking")
        with ctrl_c_cancels(session.agent):
            session.agent.run_until_stop(line, unattended=False)
    except (StepCancelled, KeyboardInterrupt):
        renderer.notice("Interrupted; the conversation is kept.")
    except (PygentError, OSError) as exc:
        renderer.error(str(exc) or type(exc).__name__)
    except Exception as exc:  # a bug of ours: one line, and the session goes on
        if os.environ.get("PYGENT_DEBUG"):
            raise
        renderer.error(f"unexpected {type(exc).__name__}: {exc} (PYGENT_DEBUG=1 shows where)")
    finally:
        renderer.spinner.stop()
    return True


#: The exit status a signal asked for while the prompt was waiting (SIGTERM: 143).
_signalled: list[int] = []


def exit_prompt(code: int) -> bool:
    """From a signal handler: end a waiting prompt with ``SystemExit(code)``; False when no
    prompt is running. Raised inside prompt_toolkit's event loop (while it loads the history
    or redraws), the exit would be caught there and shown as an error instead."""
    app = get_app_or_none()
    if app is None or not app.is_running:
        return False
    _signalled.append(code)

    def end() -> None:
        if app.is_running and app.future is not None and not app.future.done():
            app.exit(exception=SystemExit(code))

    app.loop.call_soon_threadsafe(end)  # type: ignore[union-attr]
    return True


def show_totals(session: Session, renderer: Renderer) -> int:
    """The session's steps, tokens and time in one line, as it ends; returns exit status 0."""
    used = session.agent.totals()
    if used.steps:
        renderer.line(f"Total: {used.describe()}", DIM)
    return 0


def run_repl(session: Session, settings: Settings, renderer: Renderer) -> int:
    """Read lines until /exit or Ctrl-D; Ctrl-C clears the line or interrupts the step."""
    head, *hints = banner(session, settings)
    renderer.line(head, "\x1b[1m")
    for hint in hints:
        renderer.line(hint, "\x1b[2m")
    notices = TaskNotices(renderer)
    manager = task_manager(session.agent)
    if manager is not None:
        manager.subscribe(notices)
    session.agent.subscribe(notices.event)
    session.agent.subscribe(renderer.event)
    if not sys.stdin.isatty():  # piped input: plain lines, no line editor
        for line in sys.stdin:
            notices.flush()
            renderer.line(PROMPT + line.rstrip("\n"))
            if line.strip() and not handle_line(session, settings, renderer, line.strip()):
                break
        notices.flush()
        return show_totals(session, renderer)
    prompt: PromptSession[str] = PromptSession(
        history=FileHistory(str(history_path())),
        completer=SlashCompleter(),
        complete_while_typing=False,
    )
    notices.app = prompt.app
    while True:
        notices.flush()
        try:
            line = prompt.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return show_totals(session, renderer)
        if _signalled:  # the prompt ended with a line just as the signal came
            raise SystemExit(_signalled[0])
        if line.strip() and not handle_line(session, settings, renderer, line.strip()):
            return show_totals(session, renderer)
