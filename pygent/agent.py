"""``Agent``: the agent loop with every part it is not given built from its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .app.agent import AgentLoop, RunResult
from .app.checkpoints import Checkpoint, Restored, redo_step, undo_step
from .app.dispatch import ToolGuard
from .app.registry import ToolRegistry
from .domain.errors import CheckpointError
from .domain.persona import Persona
from .domain.ports import HistoryPort, ModelPort
from .runtime import Runtime
from .tasks import TaskManager

if TYPE_CHECKING:
    from .app.settings import Settings

__all__ = ["Agent", "RunResult"]


class Agent(AgentLoop):
    """A model, a runtime and the tools; any part left out comes from ``settings``.

    ``settings`` defaults to the usual files and environment. ``close()`` (or a ``with``
    block) releases the runtime, the history and a local model server the agent started.
    """

    def __init__(
        self,
        model: Optional[ModelPort] = None,
        runtime: Optional[Runtime] = None,
        *,
        tools: Optional[ToolRegistry] = None,
        persona: Optional[Persona] = None,
        model_name: Optional[str] = None,
        history: Optional[HistoryPort] = None,
        guard: Optional[ToolGuard] = None,
        settings: Optional[Settings] = None,
    ) -> None:
        from .container import container_for

        self._graph = graph = container_for(settings)
        given = {"model": model, "runtime": runtime, "tools": tools, "persona": persona,
                 "model_name": model_name, "history": history, "guard": guard}
        try:
            parts: dict[str, Any] = graph.agent_parts(
                **{name: part for name, part in given.items() if part is not None})
        except BaseException:
            graph.shutdown_resources()  # a local model server started for the model
            raise
        super().__init__(**parts)
        self.settings: Settings = graph.settings()
        self.file_checkpoints = graph.checkpoints(runtime=self.runtime)
        #: The delegated tasks this agent's task tools start; stopped by close().
        self.tasks: TaskManager = graph.task_manager()
        if getattr(self.runtime, "tasks", None) is None:
            try:
                setattr(self.runtime, "tasks", self.tasks)  # noqa: B010 (the task tools look)
            except AttributeError:
                pass  # a runtime of your own that takes no attributes: no task tools

    def close(self) -> None:
        """Stop the tasks, release the runtime, the history and the local model server.

        Safe to call twice.
        """
        try:
            self.tasks.close()
            self.runtime.cleanup()
        finally:
            if self.file_checkpoints is not None:
                self.file_checkpoints.close()
            try:
                if self.history is not None:
                    self.history.close()
            finally:
                self._graph.shutdown_resources()

    # -- checkpoints ----------------------------------------------------------------------------
    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The steps that changed files and are not undone, oldest first (``/undo`` takes the
        last); each has its ``step`` number, ``label``, ``paths`` and before/after trees."""
        return list(self.file_checkpoints.done) if self.file_checkpoints is not None else []

    def undo(self, force: bool = False, conversation: bool = False) -> Restored:
        """Put the files the last step changed back as they were before it; repeatable.

        A file changed since that step (by you, or anything outside Pygent) is not overwritten:
        CheckpointConflict names it, and nothing is written, unless ``force``. With
        ``conversation`` the step's messages (and every later one) leave the conversation
        too. Raises CheckpointError when there is nothing to undo or checkpoints are off.
        """
        return undo_step(self, force=force, conversation=conversation)

    def redo(self, force: bool = False, conversation: bool = False) -> Restored:
        """Reapply the step undone last (and with ``conversation``, put its messages back)."""
        return redo_step(self, force=force, conversation=conversation)

    def diff(self, path: Optional[str] = None, binary: bool = False) -> str:
        """A unified diff of what the steps not undone changed this session ("" when none),
        of one file or folder with ``path``; ``binary`` includes binary patches."""
        checkpoints = self.file_checkpoints
        if checkpoints is None:
            raise CheckpointError("No checkpoints: this agent was built without them.")
        return checkpoints.diff(path, binary)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
