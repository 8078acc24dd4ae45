"""Delegated tasks: sub-agents that run a prompt in the background, each in its own sandbox.

A task's agent gets a fresh workspace of the parent's kind (Docker or local), starts with the
files the parent names copied in, and may not delegate again. Files move between workspaces
only through each sandbox's own export and import, so no path escapes either workspace. A
parent runtime's ``cleanup()`` stops the tasks started from it.
"""

from __future__ import annotations

import inspect
import itertools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from ..domain.errors import PygentError, StepCancelled, TaskError
from ..domain.persona import Persona
from ..domain.ports import ToolRuntime

RUNNING, FINISHED = "running", "finished"
#: How long stopping waits for a task's thread after cancelling it, before releasing its sandbox.
STOP_WAIT = 10.0


class TaskAgent(Protocol):
    """What a task needs of an agent: run unattended, be cancelled, release its sandbox."""

    runtime: Any

    def run_until_stop(self, text: Optional[str] = None, max_steps: Optional[int] = None,
                       max_time: Optional[float] = None) -> Any:
        """Work on ``text`` until done or a limit is hit."""

    def cancel(self) -> None:
        """End the running step from another thread."""


#: Builds a sub-agent for the persona and the parent's sandbox kind ("docker" or "local").
AgentBuilder = Callable[[Persona, str], TaskAgent]


@dataclass
class Task:
    """One delegated task: its agent, its thread, and how it ended (``status``)."""

    id: str
    prompt: str
    persona: Persona
    agent: TaskAgent
    parent: ToolRuntime
    depth: int
    status: str = RUNNING
    result: str = ""  # what the agent passed to stop
    started: float = field(default_factory=time.monotonic)
    ended: Optional[float] = None
    thread: Optional[threading.Thread] = None
    _why_cancelled: Optional[str] = None  # set by the watchdog or stop(), read by the thread
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        """True until the task's agent has ended, one way or another."""
        return self.status == RUNNING

    @property
    def workspace(self) -> Optional[Path]:
        """The host folder of the task's own workspace."""
        return getattr(self.agent.runtime, "workspace", None)

    @property
    def seconds(self) -> float:
        """How long the task has run (or ran)."""
        return (self.ended or time.monotonic()) - self.started


class TaskManager:
    """Starts, watches and stops delegated tasks; ``max_tasks`` may run at once.

    ``agent_factory(persona)`` (or a factory with no argument) builds each sub-agent; left out,
    ``build_agent(persona, kind)`` does, which the composition root provides.
    """

    def __init__(
        self,
        agent_factory: Optional[Callable[..., Any]] = None,
        max_tasks: Optional[int] = None,
        personas: Optional[list[Persona]] = None,
        *,
        build_agent: Optional[AgentBuilder] = None,
        step_timeout: Optional[float] = None,
        task_timeout: Optional[float] = None,
    ) -> None:
        if agent_factory is None and build_agent is None:
            raise TypeError("TaskManager needs an agent_factory (pygent.TaskManager has one)")
        self.agent_factory = agent_factory
        self._build_agent = build_agent
        self.max_tasks = 3 if max_tasks is None else max_tasks
        if self.max_tasks < 1:
            raise ValueError(f"max_tasks must be at least 1, got {self.max_tasks}")
        self.personas: list[Persona] = list(personas or [])
        self.step_timeout, self.task_timeout = step_timeout, task_timeout
        self.tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._listeners: list[Callable[[Task], None]] = []

    # -- starting -------------------------------------------------------------------------
    def start_task(
        self,
        prompt: str,
        parent_runtime: ToolRuntime,
        files: Optional[list[str]] = None,
        parent_depth: int = 0,
        step_timeout: Optional[float] = None,
        task_timeout: Optional[float] = None,
        persona: Optional[str | Persona] = None,
    ) -> str:
        """Run ``prompt`` with a new agent in the background; return the task's id.

        Raises :class:`TaskError` (nothing started) when ``max_tasks`` are running, when the
        parent is itself a task, for an unknown persona, or when a file cannot be copied.
        """
        if parent_depth >= 1:
            raise TaskError("a delegated task may not delegate again; do the work yourself")
        if not isinstance(prompt, str) or not prompt.strip():
            raise TaskError("a task needs a prompt: say what the sub-agent should do")
        chosen = self._persona(persona)
        with self._lock:
            running = sum(task.running for task in self.tasks.values())
            if running >= self.max_tasks:
                raise TaskError(
                    f"{running} {'task is' if running == 1 else 'tasks are'} running, the most "
                    "allowed at once (max_tasks, "
                    "PYGENT_MAX_TASKS); wait for one to finish (task_status) and try again")
            task_id = f"task-{next(self._ids)}"
            placeholder = Task(task_id, prompt, chosen, _Pending(), parent_runtime,
                               parent_depth + 1)
            self.tasks[task_id] = placeholder  # counts against max_tasks while it is built
        try:
            agent = self._new_agent(chosen, parent_runtime)
        except BaseException:
            with self._lock:
                del self.tasks[task_id]
            raise
        task = placeholder
        task.agent = agent
        try:
            agent.runtime.task_depth = task.depth
            for path in files or []:
                copy_between(parent_runtime, path, agent.runtime, path)
        except BaseException as exc:
            with self._lock:
                del self.tasks[task_id]
            _release(agent)
            if isinstance(exc, (PygentError, OSError, ValueError)):
                raise TaskError(f"could not start the task: {exc}") from exc
            raise
        _on_cleanup(parent_runtime, self.stop_started_from)
        step_limit = self.step_timeout if step_timeout is None else step_timeout
        time_limit = self.task_timeout if task_timeout is None else task_timeout
        task.thread = threading.Thread(target=self._run, args=(task,), daemon=True,
                                       name=f"pygent-{task_id}")
        task.thread.start()
        if step_limit or time_limit:
            threading.Thread(target=self._watch, args=(task, step_limit, time_limit),
                             daemon=True, name=f"pygent-{task_id}-watch").start()
        return task_id

    def _persona(self, wanted: Optional[str | Persona]) -> Persona:
        """The persona asked for by name, or the next configured one in turn."""
        if isinstance(wanted, Persona):
            return wanted
        if wanted:
            for persona in self.personas:
                if persona.name == wanted:
                    return persona
            known = ", ".join(p.name for p in self.personas) or "none are configured"
            raise TaskError(f"no task persona named {wanted!r} (task_personas: {known})")
        if not self.personas:
            return Persona()
        return self.personas[next(self._turn) % len(self.personas)]

    def _new_agent(self, persona: Persona, parent: ToolRuntime) -> TaskAgent:
        if self.agent_factory is None:
            assert self._build_agent is not None
            return self._build_agent(persona, parent.kind)
        if _takes_an_argument(self.agent_factory):
            return self.agent_factory(persona)
        return self.agent_factory()

    # -- running --------------------------------------------------------------------------
    def _run(self, task: Task) -> None:
        """The task's thread: run the agent unattended and record how it ended."""
        try:
            outcome = task.agent.run_until_stop(task.prompt)
            reason = getattr(outcome, "reason", "stop")
            task.result = str(getattr(outcome, "result", "") or "")
            status = FINISHED if reason in ("stop", "answer") else _ended(reason)
        except StepCancelled:
            status = task._why_cancelled or "cancelled"
        except Exception as exc:  # a sub-agent's failure is its status, never the parent's
            status = task._why_cancelled or f"failed: {type(exc).__name__}: {exc}"
        task.status, task.ended = status, time.monotonic()
        task._done.set()
        for listener in list(self._listeners):
            try:
                listener(task)
            except Exception:  # a display that fails must not lose the task's status
                pass

    def _watch(self, task: Task, step_limit: Optional[float], time_limit: Optional[float]) -> None:
        """Cancel the task when a step, or the whole task, runs past its limit."""
        stats = getattr(task.agent, "stats", None)
        seen, step_started = -1, time.monotonic()
        while not task._done.wait(0.05):
            now = time.monotonic()
            count = len(stats) if stats is not None else 0
            if count != seen:
                seen, step_started = count, now
            if time_limit and now - task.started > time_limit:
                self._cancel(task, f"timeout: the task ran longer than {time_limit:g} s")
                return
            if step_limit and now - step_started > step_limit:
                self._cancel(task, f"timeout: a step ran longer than {step_limit:g} s")
                return

    def _cancel(self, task: Task, why: str) -> None:
        if task.running and task._why_cancelled is None:
            task._why_cancelled = why
            task.agent.cancel()

    # -- looking ---------------------------------------------------------------------------
    def status(self, task_id: str) -> str:
        """``running``, ``finished``, or what ended it (a timeout, an error); unknown ids too."""
        task = self.tasks.get(task_id)
        if task is None:
            known = ", ".join(self.tasks) or "none have been started"
            return f"unknown task {task_id!r} (tasks: {known})"
        return task.status

    def subscribe(self, listener: Callable[[Task], None]) -> None:
        """Call ``listener(task)`` from the task's thread when a task ends."""
        self._listeners.append(listener)

    def collect_file(self, runtime: ToolRuntime, task_id: str, path: str,
                     dest: Optional[str] = None) -> Path:
        """Copy a file or folder from the task's workspace into ``runtime``'s (at ``dest``)."""
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskError(self.status(task_id))
        return copy_between(task.agent.runtime, path, runtime, dest or path)

    def wait(self, task_id: str, timeout: Optional[float] = None) -> str:
        """Block until the task ends (or ``timeout`` seconds pass); return its status."""
        task = self.tasks.get(task_id)
        if task is not None:
            task._done.wait(timeout)
        return self.status(task_id)

    # -- stopping --------------------------------------------------------------------------
    def stop(self, task_id: str, why: str = "cancelled") -> None:
        """Cancel a running task, wait for it briefly, and release its sandbox."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        self._cancel(task, why)
        task._done.wait(STOP_WAIT)
        _release(task.agent)

    def stop_started_from(self, runtime: Any) -> None:
        """Stop every task whose parent is ``runtime`` (its cleanup calls this)."""
        for task in [t for t in self.tasks.values() if t.parent is runtime]:
            self.stop(task.id, "cancelled: the parent session ended")

    def close(self) -> None:
        """Stop every task and release every task's sandbox; safe to call twice."""
        for task_id in list(self.tasks):
            self.stop(task_id, "cancelled: the parent session ended")


class _Pending:
    """Stands in for a task's agent while it is being built."""

    runtime = None

    def run_until_stop(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the task's agent is not built yet")

    def cancel(self) -> None:
        pass


def copy_between(source: Any, path: str, target: Any, dest: str) -> Path:
    """Copy ``path`` from one workspace to ``dest`` in another, through a private host folder.

    The source sandbox exports (following no link) and the target imports (refusing any
    escape), so a hostile workspace on either side cannot reach outside itself.
    """
    staging = Path(tempfile.mkdtemp(prefix="pygent-copy-"))
    try:
        exported = source.export_file(path, staging / "item")
        return Path(target.upload_file(exported, dest))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _ended(reason: str) -> str:
    """A status for a run that ended without the agent finishing."""
    return {
        "max_steps": "ended: the step limit was reached before the task was done",
        "max_tokens": "ended: the token limit was reached before the task was done",
        "max_time": "ended: the time limit was reached before the task was done",
        "no_action": "ended: the agent stopped acting before the task was done",
        "asked": "ended: the agent asked a question nobody was there to answer",
    }.get(reason, f"ended: {reason}")


def _release(agent: Any) -> None:
    """Close the agent (its sandbox, its history), whatever it offers for that."""
    close = getattr(agent, "close", None) or getattr(agent.runtime, "cleanup", None)
    try:
        if close is not None:
            close()
    except Exception:
        pass  # releasing one task must not stop the others being released


def _on_cleanup(runtime: Any, callback: Callable[[Any], None]) -> None:
    """Ask ``runtime`` to call ``callback(runtime)`` when it is cleaned up, once per callback."""
    add = getattr(runtime, "on_cleanup", None)
    if add is not None:
        add(callback)


def _takes_an_argument(factory: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               for p in parameters)
