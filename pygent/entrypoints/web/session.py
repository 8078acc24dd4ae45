"""One browser session of the web app: an agent, its transcript, and a worker thread.

Steps run in a worker thread so the page keeps answering; Stop cancels the agent's step
(``AgentLoop.cancel``) and denies a command waiting to be confirmed.
A session releases its sandbox when closed (``/exit``, or swept once its tab has been gone
longer than Streamlit keeps it for a reconnect), when it is garbage-collected, or when the
server exits (``weakref.finalize`` runs at exit), whichever comes first. A temporary workspace
that holds files is kept then (``/exit discard`` or ``keep_workspace = "never"`` remove it),
and the page, or the server's log, says where.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import weakref
from pathlib import Path, PurePath
from typing import Any, Callable, Optional

from ...app.approval import Approval
from ...app.checkpoints import Checkpoints, checkpoints_of
from ...app.commands import Session, is_command, run_command
from ...app.registry import ToolRegistry
from ...app.task_report import ended_line, task_manager
from ...app.tasks import Task, TaskManager
from ...app.workspace_exit import WorkspaceEnd, guard_workspace, settle_workspace
from ...domain.errors import StepCancelled
from .transcript import Entry, Transcript, entries_from_conversation, explain

log = logging.getLogger("pygent")

_live: weakref.WeakSet[WebSession] = weakref.WeakSet()


class PageConfirm:
    """``/confirm on`` for the page: the worker waits until the person allows or denies.

    Each question has a ticket: an answer given to an earlier question (a late or double
    click) never approves the next one, and the first answer to a question is the one kept.
    After ``stop()`` every question is denied until ``stopped`` is reset (a new task).
    """

    def __init__(self) -> None:
        self.stopped = False
        self.pending: Optional[str] = None  # exactly the command that runs if allowed
        self.ticket = 0
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._allowed = False

    def __call__(self, command: str) -> bool:
        with self._lock:
            if self.stopped:
                return False
            self._allowed = False
            self._answered.clear()
            self.ticket += 1
            self.pending = command
        try:
            self._answered.wait()
            return self._allowed
        finally:
            with self._lock:
                self.pending = None

    def question(self) -> tuple[int, Optional[str]]:
        """The pending command and its ticket, read together."""
        with self._lock:
            return self.ticket, self.pending

    def answer(self, allowed: bool, ticket: Optional[int] = None) -> None:
        """The person's answer to question ``ticket`` (the pending one when not given)."""
        with self._lock:
            if self.pending is None or self._answered.is_set():
                return
            if ticket is not None and ticket != self.ticket:
                return
            self._allowed = allowed
            self._answered.set()

    def stop(self) -> None:
        """Deny the pending question and every later one (Stop was pressed)."""
        with self._lock:
            self.stopped = True
            if self.pending is not None:
                self._answered.set()  # unanswered, it stays denied


def _release(agent: Any) -> None:
    """The agent's sandbox, history and model server (an AgentLoop: its sandbox) let go."""
    try:
        if hasattr(agent, "close"):
            agent.close()
        else:
            agent.runtime.cleanup()
    except Exception as exc:  # at exit or in a GC callback there is no one to raise to
        log.warning("could not clean up a web session's sandbox: %s", exc)
    runtime: Any = getattr(agent, "runtime", None)
    if getattr(runtime, "temporary", False) and Path(runtime.workspace).is_dir():
        log.warning("kept the workspace %s of a web session that ended", runtime.workspace)


class WebSession:
    """An agent with its own tools and transcript, driven from one browser tab."""

    def __init__(
        self,
        agent: Any,
        *,
        max_steps: Optional[int] = None,  # None: the agent's own limits
        max_tokens: Optional[int] = None,
        key: str = "",
    ) -> None:
        self.agent = agent
        self.key = key  # the browser session it belongs to, for sweep_sessions
        self.gone_since: Optional[float] = None
        self.max_steps = max_steps
        self.max_tokens = max_tokens
        agent.tools = ToolRegistry(agent.tools.specs())  # toggles stay in this tab
        self.all_tools = agent.tools.specs()
        self.transcript = Transcript(entries_from_conversation(agent.conversation.messages))
        self.confirm = PageConfirm()
        approval = agent.guard if isinstance(agent.guard, Approval) else Approval()
        approval.ask = self.confirm
        agent.guard = approval
        agent.subscribe(self.transcript)
        self.tasks: Optional[TaskManager] = task_manager(agent)
        if self.tasks is not None:  # the transcript, not self: a gone tab is still collected
            self.tasks.subscribe(_TaskEnded(self.transcript))
        self.commands = Session(agent, approval)
        #: A refused /undo or /redo that would overwrite files (``/undo --force``), offered
        #: on the page as a button until the person decides.
        self.retry = ""
        self.ended = False
        self.keep_policy = str(getattr(getattr(agent, "settings", None), "keep_workspace",
                                       "ask"))
        guard_workspace(agent.runtime, self.keep_policy)
        #: What became of a temporary workspace when the session ended (for the page).
        self.workspace_end: Optional[WorkspaceEnd] = None
        self._worker: Optional[threading.Thread] = None
        self._finalizer = weakref.finalize(self, _release, agent)
        _live.add(self)

    # -- running ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a step or command runs in the worker thread."""
        return self._worker is not None and self._worker.is_alive()

    def submit(self, line: str) -> bool:
        """Start a task or a slash command in the worker; False when one is already running."""
        if self.busy or self.ended or not line.strip():
            return False
        self.confirm.stopped = False
        self._worker = threading.Thread(target=self._work, args=(line,), daemon=True,
                                        name="pygent-web-step")
        self._worker.start()
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the worker; True when it has finished."""
        if self._worker is not None:
            self._worker.join(timeout)
        return not self.busy

    def stop(self) -> None:
        """End the running step like Ctrl-C: deny what waits, cancel the agent's step."""
        self.confirm.stop()
        self.agent.cancel()

    def _work(self, line: str) -> None:
        if is_command(line):
            self._command(line)
            return
        self.transcript.add(Entry("user", line))
        try:
            self.agent.run_until_stop(line, max_steps=self.max_steps, max_tokens=self.max_tokens,
                                      unattended=False)
        except (StepCancelled, KeyboardInterrupt):
            self.transcript.add(Entry("notice", "Stopped. Send a message to go on."))
        except Exception as exc:
            self.transcript.add(explain(exc))

    def _command(self, line: str) -> None:
        name = line.strip()[1:].split(maxsplit=1)[0].lower() if line.strip()[1:] else ""
        entry = Entry("command", line.strip(), done=False)
        self.transcript.add(entry)
        try:
            outcome = run_command(self.commands, line)
        except Exception as exc:
            failure = explain(exc)
            self.transcript.update(entry, output=f"{failure.text}\n{failure.hint}",
                                   is_error=True, done=True)
            return
        if name == "new" and not outcome.is_error:
            self.transcript.clear()
            self.transcript.add(entry)
        elif name in ("undo", "redo") and "--chat" in line and not outcome.is_error:
            self.show_conversation(entry)  # the conversation was rewound (or put back)
        if name in ("undo", "redo"):
            self.retry = outcome.retry
        self.transcript.update(entry, output=outcome.text, is_error=outcome.is_error, done=True)
        if outcome.exit:
            self.close()

    def show_conversation(self, last: Entry) -> None:
        """Draw the conversation as the agent has it now, then ``last``."""
        self.transcript.clear()
        for entry in entries_from_conversation(self.agent.conversation.messages):
            self.transcript.add(entry)
        self.transcript.add(last)

    # -- the sidebar --------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Checkpoints:
        """The agent's checkpoints: what the Undo and Redo buttons act on."""
        return checkpoints_of(self.agent)

    def press(self, line: str) -> None:
        """A button that runs a slash command, as if typed (nothing when one is running)."""
        self.submit(line)

    def overwrite(self) -> None:
        """The person chose to overwrite their changes: run the refused command forced."""
        retry, self.retry = self.retry, ""
        if retry:
            self.submit(retry)

    def keep_mine(self) -> None:
        """The person chose to keep their changes: forget the refused command."""
        self.retry = ""

    def task_list(self) -> list[Task]:
        """The delegated tasks of this tab's agent, oldest first."""
        return list(self.tasks.tasks.values()) if self.tasks is not None else []

    def stop_task(self, task_id: str) -> None:
        """The sidebar's Stop button: end one task like ``/tasks stop ID``."""
        task = self.tasks.tasks.get(task_id) if self.tasks is not None else None
        if self.tasks is not None and task is not None and task.running:
            self.tasks.stop(task_id, "cancelled: stopped from the page")

    def new_conversation(self) -> None:
        """What ``/new`` does: forget the conversation, keep the sandbox and its files."""
        if not self.busy:
            self.agent.new_conversation()
            self.transcript.clear()

    def set_tool_enabled(self, name: str, enabled: bool) -> None:
        """Offer a tool to the model or take it away (schema and system prompt), in this tab."""
        registry = self.agent.tools
        if enabled == (name in registry) or self.busy:
            return
        wanted = {spec.name for spec in registry.specs()} ^ {name}
        registry.clear()
        for spec in self.all_tools:
            if spec.name in wanted:
                registry.add(spec)

    def upload(self, name: str, data: bytes, dest: str = "") -> str:
        """Save an uploaded file in the workspace like ``/cp``: the same path checks apply."""
        base = PurePath(name).name
        if base in ("", ".", ".."):
            base = "upload"
        target = dest.strip() or name
        if target.endswith("/"):
            target += base
        with tempfile.TemporaryDirectory(prefix="pygent-upload-") as folder:
            source = Path(folder) / base
            source.write_bytes(data)
            landed = Path(self.agent.runtime.upload_file(source, target))
        try:
            return str(landed.relative_to(Path(self.agent.runtime.workspace)))
        except ValueError:
            return str(landed)

    # -- the end --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop any running step and release the sandbox, keeping a temporary workspace that
        holds files unless ``/exit discard`` said otherwise; safe to call twice."""
        first = not self.ended and self._finalizer.alive
        self.ended = True
        if self.busy:
            self.stop()
        if first:
            try:
                self.workspace_end = settle_workspace(
                    self.agent.runtime, self.keep_policy, self.commands.workspace_choice)
            except Exception as exc:  # kept (guarded at the start); the page still ends
                log.warning("could not settle a web session's workspace: %s", exc)
        self._finalizer()
        _live.discard(self)


class _TaskEnded:
    """Adds ``task-1 finished (Pygent, 3 s)`` to the transcript when a task ends."""

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript

    def __call__(self, task: Task) -> None:
        self.transcript.add_aside(Entry("task", ended_line(task)))


def live_sessions() -> list[WebSession]:
    """Sessions whose sandbox is still open (what a leak test counts)."""
    return [s for s in list(_live) if not s.ended]


def sweep_sessions(
    is_connected: Callable[[str], bool], grace: float, now: Optional[float] = None
) -> int:
    """Close the sessions whose browser tab has been gone for ``grace`` seconds; say how many."""
    now = time.monotonic() if now is None else now
    closed = 0
    for session in live_sessions():
        if not session.key:
            continue
        if is_connected(session.key):
            session.gone_since = None
        elif session.gone_since is None:
            session.gone_since = now
        elif now - session.gone_since >= grace:
            session.close()
            closed += 1
    return closed


def close_all_sessions() -> None:
    """Release every session's sandbox (server shutdown)."""
    for session in live_sessions():
        session.close()
