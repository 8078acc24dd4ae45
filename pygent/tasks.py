"""``TaskManager``: delegated tasks whose sub-agents are built from settings like any agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from .app.tasks import Task, TaskAgent
from .app.tasks import TaskManager as _TaskManager
from .domain.persona import Persona

if TYPE_CHECKING:
    from .app.settings import Settings
    from .domain.ports import ModelPort

__all__ = ["Task", "TaskManager"]


class TaskManager(_TaskManager):
    """Runs prompts with sub-agents in the background; see :meth:`start_task`.

    Left out, ``agent_factory`` builds an ``Agent`` with the task's persona from ``settings``
    (the usual files and environment by default) in a fresh workspace of the parent's kind,
    and ``max_tasks``, ``personas`` and the timeouts come from those settings too.
    """

    def __init__(
        self,
        agent_factory: Optional[Callable[..., Any]] = None,
        max_tasks: Optional[int] = None,
        personas: Optional[list[Persona]] = None,
        *,
        settings: Optional[Settings] = None,
        model: Optional[Callable[[], ModelPort]] = None,
        step_timeout: Optional[float] = None,
        task_timeout: Optional[float] = None,
    ) -> None:
        if settings is None:
            from .app.settings import load_settings

            settings = load_settings()
        chosen: Settings = settings

        def build_agent(persona: Persona, kind: str) -> TaskAgent:
            from .agent import Agent
            from .container import container_for, task_settings

            source = model if model is not None else container_for(chosen).model
            return Agent(model=source(), persona=persona, settings=task_settings(chosen, kind))

        super().__init__(
            agent_factory,
            chosen.max_tasks if max_tasks is None else max_tasks,
            chosen.task_personas if personas is None else personas,
            build_agent=build_agent,
            step_timeout=chosen.step_timeout if step_timeout is None else step_timeout,
            task_timeout=chosen.task_timeout if task_timeout is None else task_timeout,
        )
