"""The message classes under the names the OpenAI SDK uses, for custom models."""

from .domain.messages import Message, ToolCall, ToolCallFunction

__all__ = ["Message", "ToolCall", "ToolCallFunction"]
