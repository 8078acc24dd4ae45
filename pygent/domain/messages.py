"""Chat messages in the shape of the OpenAI wire format, as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class ToolCallFunction:
    """The function part of a tool call: a tool name and its JSON-encoded arguments."""

    name: str
    arguments: str = "{}"


@dataclass
class ToolCall:
    """One request by the model to run a tool."""

    id: str
    type: str = "function"
    function: ToolCallFunction = field(default_factory=lambda: ToolCallFunction(name=""))

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI wire form."""
        return {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.function.name, "arguments": self.function.arguments},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        """Build from the OpenAI wire form, tolerating missing keys."""
        function = data.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = "{}" if arguments is None else _dumps(arguments)
        return cls(
            id=str(data.get("id") or ""),
            type=str(data.get("type") or "function"),
            function=ToolCallFunction(name=str(function.get("name") or ""), arguments=arguments),
        )


@dataclass
class Message:
    """One chat message: system, user, assistant (maybe with tool calls) or tool result."""

    role: str
    content: Optional[str] = None
    tool_calls: Optional[list[ToolCall]] = None
    tool_call_id: Optional[str] = None
    name: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI wire form; content is never null, which strict servers refuse."""
        data: dict[str, Any] = {"role": self.role, "content": self.content or ""}
        if self.tool_calls:
            data["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role != "tool":  # strict servers refuse it there
            data["name"] = self.name
        return data

    def to_record(self) -> dict[str, Any]:
        """A lossless dict for storage: content exactly as held, name kept on every role."""
        data = self.to_dict()
        data["content"] = self.content
        if self.name is not None:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Build from the OpenAI wire form (or a record from :meth:`to_record`)."""
        calls = data.get("tool_calls")
        content = data.get("content")
        if content is not None and not isinstance(content, str):
            content = _text_of_parts(content)
        return cls(
            role=str(data.get("role") or "assistant"),
            content=content,
            tool_calls=[ToolCall.from_dict(c) for c in calls] if calls else None,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
        )


def _text_of_parts(content: Any) -> str:
    """Flatten a list of content parts (``[{"type": "text", "text": ...}]``) into text."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value)
