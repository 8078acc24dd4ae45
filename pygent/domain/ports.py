"""The ports the agent talks through: a model, a sandbox, the runtime tools get, a history log."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, runtime_checkable

from .messages import Message
from .sandbox import CommandResult


@runtime_checkable
class ModelPort(Protocol):
    """A chat model: OpenAI-format messages and tool schemas in, one assistant message out.

    Pygent's adapters return a domain :class:`Message`; the loop also takes a plain dict or an
    ``openai`` SDK message from a model of your own.
    """

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        """Return the assistant's next message."""


@runtime_checkable
class SandboxPort(Protocol):
    """Runs commands and moves files inside one workspace."""

    kind: str
    workspace: Path

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command`` in the persistent shell and return its result."""

    def write_file(self, path: str, text: str) -> Path:
        """Write ``text`` to ``path`` inside the workspace; return the host path written."""

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace; return where it landed."""

    def copy_out(self, path: str, dest: str | Path) -> Path:
        """Copy a workspace file or folder to the host path ``dest``; return what was written."""

    def interrupt(self) -> None:
        """From another thread: stop the command running now (no-op when idle)."""

    def close(self) -> None:
        """Stop the shell and release everything; safe to call twice."""


@runtime_checkable
class ToolRuntime(Protocol):
    """What a tool function gets as its first argument: the session's sandbox, by verbs."""

    @property
    def workspace(self) -> Path:
        """The host folder the commands work in."""

    @property
    def kind(self) -> str:
        """``"docker"`` or ``"local"``."""

    def run(self, cmd: str, timeout: Optional[float] = None) -> CommandResult:
        """Run a command and return the whole result."""

    def bash(self, cmd: str, timeout: Optional[float] = None) -> str:
        """Run a command and return the text the model sees."""

    def write_file(self, path: str, content: str) -> str:
        """Write a text file in the workspace; say what was written."""

    def read_file(self, path: str) -> str:
        """Read a text file from the workspace."""

    def upload_file(self, src: str | Path, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace; return where it landed."""

    def export_file(self, path: str, dest: str | Path) -> Path:
        """Copy a workspace file or folder to the host; return where it landed."""

    def interrupt(self) -> None:
        """From another thread: stop the command running now."""

    def cleanup(self) -> None:
        """Release the sandbox; safe to call twice."""


class HistoryPort(Protocol):
    """An append-only log of a conversation."""

    def append(self, message: Message) -> None:
        """Record one message durably."""

    def load(self) -> list[Message]:
        """Read back the messages of the current conversation."""

    def start_new(self) -> None:
        """Mark the start of a new conversation; earlier messages are no longer loaded."""

    def close(self) -> None:
        """Release the log (a file); nothing is appended after this."""


@runtime_checkable
class CheckpointStore(Protocol):
    """Snapshots of one workspace, kept outside it, so a step's file changes can be undone.

    A snapshot is a tree id: equal ids mean equal trees. Paths are relative, ``/``-separated.
    """

    def snapshot(self, recheck: Sequence[str] = ()) -> str:
        """The workspace's tree id now; ``recheck`` paths are read again, whatever is cached."""

    def changed(self, before: str, after: str) -> list[str]:
        """The files (and links) that differ between two snapshots."""

    def diff(self, before: str, after: str, paths: Optional[Sequence[str]] = None,
             binary: bool = False) -> str:
        """A unified diff from ``before`` to ``after``, of ``paths`` only when given."""

    def restore(self, tree: str, paths: Sequence[str]) -> list[str]:
        """Make ``paths`` in the workspace what they are in ``tree``; return those it could
        not bring back (files too big to keep a copy of)."""

    def close(self) -> None:
        """Remove the store; safe twice."""


@runtime_checkable
class RequestGate(Protocol):
    """Bounds the model requests in flight at once, across every job that holds the gate."""

    limit: int

    def slot(self) -> AbstractContextManager[None]:
        """Hold one of the ``limit`` slots for a ``with`` block; wait while none is free."""


@runtime_checkable
class Executor(Protocol):
    """Runs jobs at once, here (threads) or on a cluster (Ray): a batch's tasks, one per job.

    A job is a module-level function whose arguments and result pickle, so a cluster can
    run it on another machine; it builds its own agent and sandbox where it runs.
    ``kind`` is ``"threads"`` for jobs in this process; any other kind runs them elsewhere.
    """

    kind: str
    workers: int

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
        """Start ``job(*args)`` when a worker is free; its result or error comes in the future."""

    def cancel(self, future: Future[Any]) -> None:
        """Stop a job: drop it if it has not started, end it if the executor can."""

    def shutdown(self) -> None:
        """Stop every job still pending or running and release the workers; safe twice."""

    def gate(self, limit: int) -> RequestGate:
        """A gate shared by every job of this executor, wherever it runs (sent to a cluster's
        jobs, it pickles)."""
