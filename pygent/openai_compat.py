"""OpenAI's names for custom models: the message classes, and ``chat.completions.create``.

``chat.completions.create(**request)`` sends one request through the official SDK (imported on
first use) to ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY`` and returns the SDK's reply, so a
custom model written against the SDK's call runs unchanged.
"""

from __future__ import annotations

from typing import Any

from .domain.messages import Message, ToolCall, ToolCallFunction

__all__ = ["Message", "ToolCall", "ToolCallFunction", "chat"]


class _Completions:
    """``chat.completions``, as the SDK spells it."""

    def create(self, **request: Any) -> Any:
        """One chat-completions request; the reply has ``.choices[0].message``."""
        from .adapters.openai_model import OpenAIModel

        return OpenAIModel(str(request.get("model") or "")).client.chat.completions.create(
            **request)


class _Chat:
    """``chat``, as the SDK spells it."""

    completions = _Completions()


chat = _Chat()
