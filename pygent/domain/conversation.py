"""An ordered list of messages that converts to and from OpenAI dicts and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .messages import Message, ToolCall


class Conversation:
    """Ordered messages, with their wire dicts kept alongside so each request costs O(1)."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        self._messages: list[Message] = []
        self._dicts: list[dict[str, Any]] = []
        for message in messages:
            self.append(message)

    def append(self, message: Message) -> None:
        """Add a message at the end."""
        self._messages.append(message)
        self._dicts.append(message.to_dict())

    def clear(self) -> None:
        """Forget every message."""
        self._messages.clear()
        self._dicts.clear()

    @property
    def messages(self) -> list[Message]:
        """A copy of the messages, oldest first."""
        return list(self._messages)

    def unanswered_calls(self) -> list[ToolCall]:
        """Tool calls of the last assistant message that have no tool message yet."""
        answered: set[str] = set()
        for message in reversed(self._messages):
            if message.role == "tool" and message.tool_call_id is not None:
                answered.add(message.tool_call_id)
            elif message.role == "assistant":
                return [c for c in message.tool_calls or [] if c.id not in answered]
        return []

    def to_openai(self) -> list[dict[str, Any]]:
        """The messages as OpenAI wire dicts (a fresh list; the dicts are shared)."""
        return list(self._dicts)

    @classmethod
    def from_openai(cls, data: Iterable[dict[str, Any]]) -> Conversation:
        """Build from OpenAI wire dicts."""
        return cls(Message.from_dict(item) for item in data)

    def to_json(self) -> str:
        """Serialise losslessly, keeping ``None`` content distinct from empty content."""
        return json.dumps([m.to_record() for m in self._messages])

    @classmethod
    def from_json(cls, text: str) -> Conversation:
        """Inverse of :meth:`to_json`."""
        return cls(Message.from_dict(item) for item in json.loads(text))

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._messages))

    def __getitem__(self, index: int) -> Message:
        return self._messages[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Conversation) and self._messages == other._messages

    def __repr__(self) -> str:
        return f"Conversation({self._messages!r})"
