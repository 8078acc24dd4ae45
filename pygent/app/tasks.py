"""Delegated tasks: sub-agents that run a prompt in the background, each in its own sandbox.

A task's agent gets a fresh workspace of the parent's kind (Docker or local), starts with the
files the parent names copied in, and may not delegate again. Files move between workspaces
only through each sandbox's own export and import, so no path escapes either workspace. A
parent runtime's ``cleanup()`` stops the tasks started from it.

Tasks run on an executor: this process's threads by default, or another machine's (Ray), where
the task's agent is built from settings and its files come back as an archive when it ends.
"""

from __future__ import annotations

import inspect
import itertools
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from ..domain.errors import PygentError, StepCancelled, TaskError, said
from ..domain.persona import Persona
from ..domain.ports import Executor, ToolRuntime
from .watchdog import start_watchdog
from .workspace_archive import extract, names, pack

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
class TaskSpec:
    """A task as plain data, for an executor that runs it in another process or machine.

    ``inputs`` is an archive whose member ``"N"`` is the file or folder to put at
    ``paths[N]`` in the task's workspace.
    """

    id: str
    prompt: str
    persona: Persona
    kind: str  # the parent's sandbox kind: "docker" or "local"
    paths: list[str]
    inputs: bytes
    step_timeout: Optional[float] = None
    task_timeout: Optional[float] = None


#: The job that runs a :class:`TaskSpec` where the executor puts it, and its arguments. The
#: job returns a result line: ``reason``, ``answer``, ``error``, ``workspace_archive``.
RemoteJob = Callable[[TaskSpec], "tuple[Callable[..., Any], tuple[Any, ...]]"]


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
    future: Optional[Future[Any]] = None  # the job, when an executor runs the task
    archive: Optional[bytes] = None  # a remote task's files, sent back when it ended
    archive_error: str = ""  # why they were not
    _why_cancelled: Optional[str] = None  # set by the watchdog or stop(), read by the thread
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        """True until the task's agent has ended, one way or another."""
        return self.status == RUNNING

    @property
    def remote(self) -> bool:
        """True when the task runs in another process or machine, its files out of reach."""
        return isinstance(self.agent, _RemoteAgent)

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
    ``build_agent(persona, kind)`` does, which the composition root provides. ``executor``
    runs the tasks (a daemon thread each when left out); one whose jobs run elsewhere needs
    ``remote_job`` to turn a task into a job. The caller owns the executor and shuts it down.
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
        executor: Optional[Executor] = None,
        remote_job: Optional[RemoteJob] = None,
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
        self.executor = executor
        self._remote_job = remote_job
        if runs_elsewhere(executor) and remote_job is None:
            raise TypeError("an executor whose jobs run elsewhere needs a remote_job "
                            "(pygent.TaskManager has one)")
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
            task = Task(task_id, prompt, chosen, _Pending(), parent_runtime, parent_depth + 1)
            self.tasks[task_id] = task  # counts against max_tasks while it is built
        step_limit = self.step_timeout if step_timeout is None else step_timeout
        time_limit = self.task_timeout if task_timeout is None else task_timeout
        try:
            if runs_elsewhere(self.executor):
                self._start_elsewhere(task, files or [], step_limit, time_limit)
            else:
                self._start_here(task, files or [], step_limit, time_limit)
        except BaseException as exc:
            with self._lock:
                del self.tasks[task_id]
            if isinstance(exc, (PygentError, OSError, ValueError)) and not isinstance(
                    exc, TaskError):
                raise TaskError(f"could not start the task: {exc}") from exc
            raise
        return task_id

    def _start_here(self, task: Task, files: list[str], step_limit: Optional[float],
                    time_limit: Optional[float]) -> None:
        """Build the agent in this process, copy its files in, and run it on a thread."""
        agent = self._new_agent(task.persona, task.parent)
        task.agent = agent
        try:
            agent.runtime.task_depth = task.depth
            for path in files:
                copy_between(task.parent, path, agent.runtime, path)
        except BaseException:
            _release(agent)
            raise
        _on_cleanup(task.parent, self.stop_started_from)
        if self.executor is None:
            task.thread = threading.Thread(target=self._run, args=(task,), daemon=True,
                                           name=f"pygent-{task.id}")
            task.thread.start()
        else:
            task.future = self.executor.submit(self._run, task)
            task.future.add_done_callback(lambda future: self._dropped(task, future))
        start_watchdog(agent, task._done, step_limit, time_limit,
                       lambda why: self._cancel(task, why), name=f"pygent-{task.id}-watch")

    def _start_elsewhere(self, task: Task, files: list[str], step_limit: Optional[float],
                         time_limit: Optional[float]) -> None:
        """Send the task, its files packed, to the executor; its agent is built where it runs."""
        assert self.executor is not None and self._remote_job is not None
        staging = Path(tempfile.mkdtemp(prefix="pygent-inputs-"))
        try:
            for number, path in enumerate(files):
                task.parent.export_file(path, staging / str(number))
            inputs = pack(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        spec = TaskSpec(task.id, task.prompt, task.persona, task.parent.kind, list(files),
                        inputs, step_limit, time_limit)
        job, arguments = self._remote_job(spec)
        _on_cleanup(task.parent, self.stop_started_from)
        task.future = self.executor.submit(job, *arguments)
        task.agent = _RemoteAgent(self.executor, task.future)
        task.future.add_done_callback(lambda future: self._arrived(task, future))

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
        """The task's job here: run the agent unattended and record how it ended."""
        try:
            outcome = task.agent.run_until_stop(task.prompt)
            reason = getattr(outcome, "reason", "stop")
            task.result = str(getattr(outcome, "result", "") or "")
            status = FINISHED if reason in ("stop", "answer") else _ended(reason)
        except StepCancelled:
            status = task._why_cancelled or "cancelled"
        except Exception as exc:  # a sub-agent's failure is its status, never the parent's
            status = task._why_cancelled or f"failed: {type(exc).__name__}: {exc}"
        self._finish(task, status)

    def _dropped(self, task: Task, future: Future[Any]) -> None:
        """A queued job the executor dropped never ran: it ends here."""
        if future.cancelled() and task.running:
            self._finish(task, task._why_cancelled or "cancelled")

    def _arrived(self, task: Task, future: Future[Any]) -> None:
        """A remote task's result line (or its job's failure) becomes its status."""
        if future.cancelled():
            return self._finish(task, task._why_cancelled or "cancelled")
        try:
            line = future.result()
        except Exception as exc:  # the executor failed the job: a worker or node died
            return self._finish(task, task._why_cancelled or f"failed: {said(exc)}")
        reason = str(line.get("reason", ""))
        task.result = str(line.get("answer") or "")
        task.archive = line.get("workspace_archive")
        task.archive_error = str(line.get("workspace_error") or "")
        if reason in ("stop", "answer"):
            status = FINISHED
        elif reason in ("timeout", "cancelled"):
            status = task._why_cancelled or (f"{reason}: {line['error']}" if line.get("error")
                                             else reason)
        elif reason == "error":
            status = f"failed: {line.get('error', 'unknown error')}"
        else:
            status = _ended(reason)
        self._finish(task, status)

    def _finish(self, task: Task, status: str) -> None:
        task.status, task.ended = status, time.monotonic()
        task._done.set()
        for listener in list(self._listeners):
            try:
                listener(task)
            except Exception:  # a display that fails must not lose the task's status
                pass

    def _cancel(self, task: Task, why: str) -> None:
        if task.running and task._why_cancelled is None:
            task._why_cancelled = why
            task.agent.cancel()  # a remote task's stand-in cancels its job
            if task.future is not None and self.executor is not None and not task.remote:
                self.executor.cancel(task.future)  # a job still queued is dropped

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

    def files(self, task_id: str) -> list[str]:
        """The top of the task's workspace, folders with a ``/``: what collect_file fetches."""
        task = self._task(task_id)
        if task.remote:
            if task.archive is None:
                raise TaskError(self._unreachable(task))
            return [name for name in names(task.archive) if not name.startswith(".")]
        try:  # names only, no link followed: the task's commands made these entries
            with os.scandir(task.agent.runtime.workspace) as entries:
                return sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "")
                              for e in entries if not e.name.startswith("."))
        except (OSError, AttributeError, TypeError):
            raise TaskError(f"{task_id}'s sandbox is closed") from None

    def collect_file(self, runtime: ToolRuntime, task_id: str, path: str,
                     dest: Optional[str] = None) -> Path:
        """Copy a file or folder from the task's workspace into ``runtime``'s (at ``dest``)."""
        task = self._task(task_id)
        if not task.remote:
            return copy_between(task.agent.runtime, path, runtime, dest or path)
        if task.archive is None:
            raise TaskError(self._unreachable(task))
        staging = Path(tempfile.mkdtemp(prefix="pygent-copy-"))
        try:
            return Path(runtime.upload_file(extract(task.archive, path, staging / "item"),
                                            dest or path))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def wait(self, task_id: str, timeout: Optional[float] = None) -> str:
        """Block until the task ends (or ``timeout`` seconds pass); return its status."""
        task = self.tasks.get(task_id)
        if task is not None:
            task._done.wait(timeout)
        return self.status(task_id)

    def _task(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskError(self.status(task_id))
        return task

    @staticmethod
    def _unreachable(task: Task) -> str:
        if task.running:
            return (f"{task.id} runs on another machine; its files come back when it ends "
                    "(task_status says when)")
        return f"{task.id}'s files did not come back: {task.archive_error or task.status}"

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


def runs_elsewhere(executor: Optional[Executor]) -> bool:
    """True for an executor whose jobs run in other processes (Ray): they must pickle."""
    return executor is not None and executor.kind != "threads"


class _RemoteAgent:
    """Stands in for the agent of a task that runs elsewhere: cancelling it cancels its job."""

    runtime = None

    def __init__(self, executor: Executor, future: Future[Any]) -> None:
        self._executor, self._future = executor, future

    def run_until_stop(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the task runs on another machine")

    def cancel(self) -> None:
        self._executor.cancel(self._future)


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
