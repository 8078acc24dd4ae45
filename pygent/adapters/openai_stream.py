"""Assemble a streamed chat completion (``chat.completion.chunk`` events) into one message.

Local servers differ in small ways: some repeat the function name (and id) in every chunk,
some leave out a tool call's ``index``, some ignore ``stream`` and answer with one JSON body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..domain.messages import Message, ToolCall, ToolCallFunction

#: Receives each piece of the model's text as it arrives.
DeltaListener = Callable[[str], None]


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamedReply:
    """Collects the deltas of choice 0, in order, and the usage of the final chunk."""

    def __init__(self, on_delta: Optional[DeltaListener] = None) -> None:
        self.on_delta = on_delta
        self.content: list[str] = []
        self.calls: dict[int, _Call] = {}
        self.usage: Optional[dict[str, int]] = None
        self.chunks = 0  # chunks that carried a choice or usage

    def add(self, chunk: Any) -> None:
        """Take in one chunk: text goes to ``on_delta`` at once, tool calls by their index."""
        usage = usage_of(chunk)
        if usage is not None:
            self.usage = usage
            self.chunks += 1
        for choice in getattr(chunk, "choices", None) or []:
            if (getattr(choice, "index", 0) or 0) != 0:
                continue  # only one choice is asked for
            self.chunks += 1
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            text = getattr(delta, "content", None)
            if text:
                self.content.append(text)
                if self.on_delta is not None:
                    self.on_delta(text)
            for piece in getattr(delta, "tool_calls", None) or []:
                self._add_call(piece)

    def _add_call(self, piece: Any) -> None:
        call_id = getattr(piece, "id", None) or ""
        index = getattr(piece, "index", None)
        if index is None:  # no index: the call with this id, a new id, or the call going on
            known = [i for i, c in self.calls.items() if call_id and c.id == call_id]
            if known:
                index = known[0]
            elif call_id or not self.calls:
                index = len(self.calls)
            else:
                index = max(self.calls)
        call = self.calls.setdefault(index, _Call())
        if call_id and not call.id:
            call.id = call_id
        function = getattr(piece, "function", None)
        name = getattr(function, "name", None)
        if name and not call.name:  # taken once: some servers repeat it in every chunk
            call.name = name
        arguments = getattr(function, "arguments", None)
        if arguments:
            call.arguments.append(arguments)

    def message(self) -> Message:
        """The assistant message the chunks add up to."""
        calls = [
            ToolCall(id=c.id, function=ToolCallFunction(c.name, "".join(c.arguments)))
            for _, c in sorted(self.calls.items())
        ]
        text = "".join(self.content)
        return Message(role="assistant", content=text or None, tool_calls=calls or None)


def message_from_body(body: dict[str, Any]) -> Optional[Message]:
    """The message of a whole ``chat.completion`` dict (a server that would not stream)."""
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return None
    return Message.from_dict({**(choices[0].get("message") or {}), "role": "assistant"})


def usage_of(response: Any) -> Optional[dict[str, int]]:
    """Prompt and completion token counts from a response or chunk, when the server gave them."""
    usage = getattr(response, "usage", None)
    if isinstance(response, dict):
        usage = response.get("usage")
    if usage is None:
        return None
    if isinstance(usage, dict):
        counts = {key: int(usage.get(key) or 0)
                  for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    else:
        counts = {key: int(getattr(usage, key, 0) or 0)
                  for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    if not counts["total_tokens"]:
        counts["total_tokens"] = counts["prompt_tokens"] + counts["completion_tokens"]
    return counts


def json_body(raw: bytes) -> Optional[dict[str, Any]]:
    """A reply body parsed as a JSON object, or None."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
