"""Turn whatever a model returns into domain messages and tool arguments, forgivingly."""

from __future__ import annotations

import json
import time
from typing import Any, Optional

from ..domain.errors import ModelError
from ..domain.messages import Message

#: The largest tool-call arguments decoded, in UTF-8 bytes. Real arguments are a command or
#: one file's content, far below this; anything bigger is a runaway reply, and decoding it
#: (then sending it back in every later request) would cost memory and time for nothing.
MAX_ARGUMENT_BYTES = 8 * 1024 * 1024


def parse_arguments(raw: Any) -> tuple[dict[str, Any], Optional[str]]:
    """Decode tool-call arguments; return them with a description of any problem.

    Nothing raw can hold makes this raise: too deep, too large or not JSON is a problem.
    """
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, (str, bytes, bytearray)):
        size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
        if size > MAX_ARGUMENT_BYTES:
            return {}, f"arguments too large ({size} bytes; the limit is {MAX_ARGUMENT_BYTES})"
    try:
        value = json.loads(raw)
    except RecursionError:
        return {}, "arguments are nested too deeply to read; send a flat JSON object"
    except (TypeError, ValueError) as exc:
        return {}, f"arguments are not valid JSON ({exc}): {_preview(raw)}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


def _preview(raw: Any) -> str:
    """The start of ``raw`` for an error message, as a quoted literal."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw[:200]).decode("utf-8", "replace")
    return repr(raw[:200] if isinstance(raw, str) else type(raw).__name__)


def mistyped_strings(parameters: dict[str, Any], arguments: dict[str, Any]) -> Optional[str]:
    """Say which arguments the schema types as strings but are not, or None.

    The approval check and the tool must see the same command: a list or a number would be
    shown for approval one way (``str(value)``) and run another.
    """
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return None
    wrong = [key for key, value in arguments.items()
             if isinstance(properties.get(key), dict) and properties[key].get("type") == "string"
             and not isinstance(value, str)]
    if not wrong:
        return None
    kinds = ", ".join(f"{key} is {type(arguments[key]).__name__}" for key in wrong)
    return f"{kinds}; the schema asks for a string"


def to_message(reply: Any) -> Message:
    """Accept a domain Message, a plain dict, or an ``openai`` SDK message object.

    A reply nested too deeply to take apart is a ModelError, like any other unreadable reply.
    """
    try:
        return _to_message(reply)
    except RecursionError:
        raise ModelError("the model's reply is nested too deeply to read; try again") from None


def _to_message(reply: Any) -> Message:
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
    for call in message.tool_calls or []:
        if not isinstance(call.function.arguments, str):  # a custom model's dict, say
            call.function.arguments = json.dumps(call.function.arguments, default=str)
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
