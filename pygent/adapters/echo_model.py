"""A model that repeats the last message: for trying the loop and for tests."""

from __future__ import annotations

from typing import Any

from ..domain.messages import Message


class EchoModel:
    """Answers ``Echo: <last message>`` and never calls a tool."""

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        """Echo the last message's content."""
        last = messages[-1].get("content") if messages else ""
        return Message(role="assistant", content=f"Echo: {last or ''}")
