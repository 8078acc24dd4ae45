"""Turn whatever a model returns into domain messages and tool arguments, forgivingly."""

from __future__ import annotations

import json
import time
from typing import Any, Optional

from ..domain.errors import ModelError
from ..domain.messages import Message


def parse_arguments(raw: Any) -> tuple[dict[str, Any], Optional[str]]:
    """Decode tool-call arguments; return them with a description of any problem."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return {}, f"arguments are not valid JSON ({exc}): {str(raw)[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


def to_message(reply: Any) -> Message:
    """Accept a domain Message, a plain dict, or an ``openai`` SDK message object."""
    if isinstance(reply, Message):
        message = reply
    elif isinstance(reply, dict):
        message = Message.from_dict(reply)
    elif hasattr(reply, "model_dump"):
        message = Message.from_dict(reply.model_dump())
    elif hasattr(reply, "role") or hasattr(reply, "content"):
        message = Message.from_dict(
            {
                "role": getattr(reply, "role", "assistant"),
                "content": getattr(reply, "content", None),
                "tool_calls": [_call_dict(c) for c in getattr(reply, "tool_calls", None) or []],
            }
        )
    elif isinstance(reply, str):
        message = Message(role="assistant", content=reply)
    else:
        raise ModelError(f"the model returned {type(reply).__name__}, not a message")
    if message.role != "assistant":
        message.role = "assistant"
    seen: set[str] = set()
    for index, call in enumerate(message.tool_calls or []):
        if not call.id or call.id in seen:  # every call needs its own id to be answered
            call.id = f"call_{index}_{time.monotonic_ns()}"
        seen.add(call.id)
    return message


def _call_dict(call: Any) -> dict[str, Any]:
    if isinstance(call, dict):
        return call
    function = getattr(call, "function", None)
    return {
        "id": getattr(call, "id", ""),
        "type": getattr(call, "type", "function"),
        "function": {
            "name": getattr(function, "name", ""),
            "arguments": getattr(function, "arguments", "{}"),
        },
    }
