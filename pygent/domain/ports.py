"""The two ports the agent talks through: a model and a sandbox (plus the history log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Protocol, runtime_checkable

from .messages import Message
from .sandbox import CommandResult


@runtime_checkable
class ModelPort(Protocol):
    """A chat model: OpenAI-format messages and tool schemas in, one assistant message out.

    The reply may be a domain :class:`Message`, a plain dict, or an ``openai`` SDK message.
    """

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]) -> Any:
        """Return the assistant's next message."""
        ...


@runtime_checkable
class SandboxPort(Protocol):
    """Runs commands and moves files inside one workspace."""

    kind: str
    workspace: Path

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        """Run ``command`` in the persistent shell and return its result."""
        ...

    def write_file(self, path: str, text: str) -> Path:
        """Write ``text`` to ``path`` inside the workspace; return the host path written."""
        ...

    def read_file(self, path: str) -> str:
        """Read a text file inside the workspace."""
        ...

    def copy_in(self, src: str, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace; return where it landed."""
        ...

    def interrupt(self) -> None:
        """From another thread: stop the command running now (no-op when idle)."""
        ...

    def close(self) -> None:
        """Stop the shell and release everything; safe to call twice."""
        ...


class HistoryPort(Protocol):
    """An append-only log of a conversation."""

    def append(self, message: Message) -> None:
        """Record one message durably."""
        ...

    def load(self) -> list[Message]:
        """Read back the messages of the current conversation."""
        ...

    def start_new(self) -> None:
        """Mark the start of a new conversation; earlier messages are no longer loaded."""
        ...
