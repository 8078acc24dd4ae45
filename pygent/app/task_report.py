"""Delegated tasks as a person sees them: one line when a task ends, a listing for ``/tasks``.

A task's prompt and status come from a model, so every piece is shown with its control
characters made visible: a task cannot redraw the terminal's lines or restyle the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..domain.visible import visible
from .tasks import Task, TaskManager

PROMPT_WIDTH = 70
STATUS_WIDTH = 160
HOW_TO_DELEGATE = ("Ask the model to hand work to a sub-agent (its delegate_task tool); with the "
                   'offline direct model, type: delegate_task prompt="echo hi"')


def task_manager(agent: Any) -> Optional[TaskManager]:
    """The agent's task manager (``Agent.tasks``), else its runtime's; None without one."""
    for owner in (agent, getattr(agent, "runtime", None)):
        manager = getattr(owner, "tasks", None)
        if isinstance(manager, TaskManager):
            return manager
    return None


def one_line(text: str, width: int) -> str:
    """The first line of ``text``, hidden characters escaped, cut to ``width`` with ``...``."""
    lines = text.strip().split("\n")
    first = visible(lines[0], keep_newlines=False)
    if len(first) > width:
        return first[:width - 3] + "..."
    return first + (" ..." if len(lines) > 1 else "")


def duration(seconds: float) -> str:
    """``3 s`` or ``2 min 5 s``: how long a task ran, to the second."""
    whole = int(round(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"


def ended_line(task: Task) -> str:
    """``task-1 finished (Pygent, 3 s)``: what the REPL and the page say when a task ends."""
    return (f"{visible(task.id, False)} {one_line(task.status, STATUS_WIDTH)} "
            f"({one_line(task.persona.name, 40)}, {duration(task.seconds)})")


def workspace_text(task: Task) -> str:
    """The task's workspace folder, saying when it is gone (the task was stopped)."""
    folder = task.workspace
    if folder is None:
        return "(not made yet)"
    gone = "" if Path(folder).exists() else " (removed: the task's sandbox was released)"
    return visible(str(folder), False) + gone


def describe_task(task: Task) -> str:
    """Several lines for one task: its id, status and time, prompt, workspace and result."""
    lines = [f"{visible(task.id, False)}  {one_line(task.status, STATUS_WIDTH)}  "
             f"{duration(task.seconds)}  {one_line(task.persona.name, 40)}",
             f"  prompt: {one_line(task.prompt, PROMPT_WIDTH)}",
             f"  workspace: {workspace_text(task)}"]
    if task.result:
        lines.append(f"  result: {one_line(task.result, PROMPT_WIDTH)}")
    return "\n".join(lines)


def describe_tasks(manager: Optional[TaskManager], can_delegate: bool = True) -> str:
    """Every task of the session, newest last; or, without any, how one is started."""
    tasks = list(manager.tasks.values()) if manager is not None else []
    if not tasks:
        if not can_delegate:
            return ("No delegated tasks: the task tools are off in this session. Set "
                    "task_tools = true (or PYGENT_TASK_TOOLS=1) to let the model delegate.")
        return f"No delegated tasks yet. {HOW_TO_DELEGATE}."
    running = sum(task.running for task in tasks)
    head = f"Delegated tasks ({running} running, {len(tasks) - running} ended):"
    foot = "/tasks stop ID stops a running one; the model copies a task's files with collect_file."
    return "\n".join([head, *map(describe_task, tasks), foot])
