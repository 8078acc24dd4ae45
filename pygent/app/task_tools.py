"""The tools a model delegates with: start a sub-agent, ask how it is doing, collect its files.

They act on the task manager of the runtime they are called with (``Agent`` sets it), and
answer in words the model can act on, saying where a task's files are.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..domain.errors import TaskError
from ..domain.ports import ToolRuntime
from ..domain.tools import ToolSpec
from .tasks import TaskManager

#: Shown in a status answer: the first entries of a task's workspace, so the model knows names.
LISTED_FILES = 20

TASK_TOOL_NAMES = ("delegate_task", "delegate_persona_task", "list_personas", "task_status",
                   "collect_file")


def manager_of(runtime: ToolRuntime) -> TaskManager:
    """The task manager the runtime's agent delegates through."""
    manager = getattr(runtime, "tasks", None)
    if manager is None:
        raise TaskError("this runtime has no task manager: delegate from an Agent, or set "
                        "runtime.tasks = pygent.TaskManager()")
    return manager


def _delegate_task(runtime: ToolRuntime, prompt: str, files: Optional[list[str]] = None,
                   persona: Optional[str] = None, timeout: Optional[float] = None,
                   step_timeout: Optional[float] = None) -> str:
    manager = manager_of(runtime)
    task_id = manager.start_task(prompt, runtime, files=_paths(files),
                                 parent_depth=getattr(runtime, "task_depth", 0),
                                 step_timeout=_seconds("step_timeout", step_timeout),
                                 task_timeout=_seconds("timeout", timeout),
                                 persona=persona or None)
    who = manager.tasks[task_id].persona.name
    return (f"Started {task_id} ({who}). Its files are in its own workspace, which your "
            f"commands cannot see: task_status(task_id={task_id!r}) says how it is doing and "
            f"lists them, and collect_file(task_id={task_id!r}, path=...) copies one into "
            "yours.")


def _delegate_persona_task(runtime: ToolRuntime, prompt: str, persona: str,
                           files: Optional[list[str]] = None, timeout: Optional[float] = None,
                           step_timeout: Optional[float] = None) -> str:
    return _delegate_task(runtime, prompt, files, persona, timeout, step_timeout)


def _list_personas(runtime: ToolRuntime) -> str:
    personas = manager_of(runtime).personas
    return json.dumps([{"name": p.name, "description": p.description} for p in personas])


def _task_status(runtime: ToolRuntime, task_id: str) -> str:
    manager = manager_of(runtime)
    status = manager.status(task_id)
    task = manager.tasks.get(task_id)
    if task is None:
        raise TaskError(status)
    if task.running:
        return f"running for {task.seconds:.0f} s"
    result = f"; it said: {task.result}" if task.result else ""
    return (f"{status}{result}\nFiles in its own workspace (collect_file copies them into "
            f"yours): {_listing(manager, task_id)}")


def _collect_file(runtime: ToolRuntime, task_id: str, path: str,
                  dest: Optional[str] = None) -> str:
    landed = manager_of(runtime).collect_file(runtime, task_id, path, dest)
    where = landed.relative_to(runtime.workspace) if landed.is_relative_to(
        runtime.workspace) else landed
    return f"Copied {path} from {task_id} to {where} in your workspace."


def _paths(files: Any) -> Optional[list[str]]:
    """``files`` as a list of paths: a model may send one path as a plain string."""
    if files is None or files == "":
        return None
    if isinstance(files, str):
        return [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise TaskError("files must be a list of paths in your workspace")
    return files


def _seconds(name: str, value: Any) -> Optional[float]:
    """A positive number of seconds, or None when the model left it out."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < float("inf") or isinstance(value, bool):
        raise TaskError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def _listing(manager: TaskManager, task_id: str) -> str:
    """The top of a task's workspace: what collect_file can fetch."""
    try:
        found = manager.files(task_id)
    except TaskError as exc:
        return f"(unavailable: {exc})"
    shown = ", ".join(found[:LISTED_FILES]) or "(empty)"
    return shown + (f", ... ({len(found)} in all)" if len(found) > LISTED_FILES else "")


_STRING = {"type": "string"}
_NUMBER = {"type": "number"}
_FILES = {"type": "array", "items": {"type": "string"},
          "description": "Paths in your workspace to copy into the task's workspace first."}
_COMMON = {"files": _FILES,
           "timeout": {**_NUMBER, "description": "Most seconds the whole task may take."},
           "step_timeout": {**_NUMBER, "description": "Most seconds one step may take."}}


def task_tools() -> list[ToolSpec]:
    """``delegate_task``, ``delegate_persona_task``, ``list_personas``, ``task_status``,
    ``collect_file``: a model hands work to sub-agents with these."""
    return [
        ToolSpec("delegate_task",
                 "Start a sub-agent on a task in the background, in its own workspace; "
                 "returns the task's id.",
                 {"type": "object", "properties": {
                     "prompt": {**_STRING, "description": "What the sub-agent should do."},
                     "persona": {**_STRING, "description": "A name from list_personas."},
                     **_COMMON}, "required": ["prompt"]},
                 _delegate_task),
        ToolSpec("delegate_persona_task",
                 "Start a sub-agent with the named persona (see list_personas).",
                 {"type": "object", "properties": {
                     "prompt": _STRING, "persona": _STRING, **_COMMON},
                  "required": ["prompt", "persona"]},
                 _delegate_persona_task),
        ToolSpec("list_personas", "List the personas delegated tasks can use, as JSON.",
                 {"type": "object", "properties": {}, "required": []}, _list_personas),
        ToolSpec("task_status",
                 "How a delegated task is doing: running, finished, or what ended it.",
                 {"type": "object", "properties": {"task_id": _STRING},
                  "required": ["task_id"]},
                 _task_status),
        ToolSpec("collect_file",
                 "Copy a file or folder from a delegated task's workspace into yours.",
                 {"type": "object", "properties": {
                     "task_id": _STRING, "path": _STRING,
                     "dest": {**_STRING, "description": "Where in your workspace (default: "
                                                        "the same path)."}},
                  "required": ["task_id", "path"]},
                 _collect_file),
    ]
