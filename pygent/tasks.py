"""``TaskManager``: delegated tasks whose sub-agents are built from settings like any agent."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Optional

from .app.tasks import Task, TaskAgent, TaskSpec
from .app.tasks import TaskManager as _TaskManager
from .domain.errors import TaskError
from .domain.persona import Persona

if TYPE_CHECKING:
    from .app.settings import Settings
    from .domain.ports import Executor, ModelPort

__all__ = ["Task", "TaskManager", "make_executor"]


class TaskManager(_TaskManager):
    """Runs prompts with sub-agents in the background; see :meth:`start_task`.

    Left out, ``agent_factory`` builds an ``Agent`` with the task's persona from ``settings``
    (the usual files and environment by default) in a fresh workspace of the parent's kind,
    and ``max_tasks``, ``personas`` and the timeouts come from those settings too.

    ``executor`` (see :func:`pygent.make_executor`) runs the tasks: threads in this process
    when left out; on Ray, each task's agent is built on its node from ``settings`` (a model
    object of your own cannot travel there) and its files come back when it ends.
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
        executor: Optional[Executor] = None,
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

        gates: list[Any] = []

        def remote_job(spec: TaskSpec) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            from .batch import run_batch_task
            from .container import model_source, resolve_backend, task_settings

            if agent_factory is not None or model_source(resolve_backend(chosen)) == "custom":
                raise TaskError("a task on another machine builds its agent from settings; "
                                "an agent factory or a custom model object cannot travel there")
            settings_there = replace(
                task_settings(chosen, spec.kind), persona_name=spec.persona.name,
                persona=spec.persona.description, step_timeout=spec.step_timeout,
                task_timeout=spec.task_timeout)
            line = {"id": spec.id, "prompt": spec.prompt, "inputs": spec.inputs,
                    "paths": spec.paths}
            options: dict[str, Any] = {"return_workspace": True}
            if chosen.max_requests is not None and executor is not None:
                if not gates:  # one gate for every task of this manager, wherever it runs
                    gates.append(executor.gate(chosen.max_requests))
                options["gate"] = gates[0]
            return run_batch_task, (line, settings_there, options)

        super().__init__(
            agent_factory,
            chosen.max_tasks if max_tasks is None else max_tasks,
            chosen.task_personas if personas is None else personas,
            build_agent=build_agent,
            step_timeout=chosen.step_timeout if step_timeout is None else step_timeout,
            task_timeout=chosen.task_timeout if task_timeout is None else task_timeout,
            executor=executor,
            remote_job=remote_job,
        )


def make_executor(kind: str = "threads", workers: int = 2, *, address: Optional[str] = None,
                  settings: Optional[Settings] = None) -> Executor:
    """An executor for :class:`TaskManager` or a batch: ``threads`` here, or ``ray`` (a local
    Ray instance, or the cluster at ``address``; on nodes with a ``docker`` resource when the
    settings use Docker). Call its ``shutdown()`` when done."""
    from .app.settings import load_settings
    from .container import make_executor as build

    if kind not in ("threads", "ray"):
        raise ValueError(f"unknown executor {kind!r}: use 'threads' or 'ray'")
    return build(kind, workers, settings if settings is not None else load_settings(), address)
