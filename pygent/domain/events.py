"""What the agent loop reports as it works, for the CLI and the web app to render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union


@dataclass(frozen=True)
class AssistantText:
    """The model said something."""

    text: str


@dataclass(frozen=True)
class AssistantDelta:
    """A piece of the model's text as it streams in; an :class:`AssistantText` follows."""

    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    """A tool is about to run."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolOutput:
    """A tool finished; ``output`` is what the model will see."""

    call_id: str
    name: str
    output: str
    is_error: bool = False


@dataclass(frozen=True)
class Notice:
    """Something the person should know that is not model output (a limit, a restart)."""

    text: str


Event = Union[AssistantText, AssistantDelta, ToolCallStarted, ToolOutput, Notice]
EventListener = Callable[[Event], None]
