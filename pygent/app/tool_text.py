"""Recover tool calls that a small model wrote as text instead of structured ``tool_calls``.

Recognised forms, anywhere in the reply: Hermes ``<tool_call>{...}</tool_call>`` blocks,
fenced code blocks (```` ```json ````, ```` ```tool_call ```` or bare ```` ``` ````) holding an
object or a list of objects, and bare JSON objects or lists in the text. Each object must have
``name`` (a registered tool) and ``arguments`` or ``parameters`` that are, or decode to, a JSON
object; ``{"function": {"name": ..., "arguments": ...}}`` is accepted too. Anything else stays
text, so a reply that only mentions a tool is never turned into a call.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterator
from typing import Any, Optional

from ..domain.messages import ToolCall, ToolCallFunction

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_LANGS = ("", "json", "json5", "tool_call", "tool_calls", "tool", "function_call")
_MAX_TEXT = 200_000  # longer replies are not scanned; a tool call is never that long

#: A decoded JSON value and the span of the reply it came from.
_Found = tuple[Any, int, int]


def recover_tool_calls(text: Optional[str], tool_names: Collection[str]) -> list[ToolCall]:
    """The tool calls written in ``text``, each to a registered tool, with generated ids."""
    return split_tool_calls(text, tool_names)[0]


def split_tool_calls(
    text: Optional[str], tool_names: Collection[str]
) -> tuple[list[ToolCall], str]:
    """The calls written in ``text`` and the prose left once they are cut out.

    The first form that yields a call wins (Hermes tags, then fences, then bare JSON); a call
    repeated word for word in one reply is kept once, since small models loop.
    """
    if not text or not tool_names or len(text) > _MAX_TEXT:
        return [], text or ""
    names = set(tool_names)
    for finder in (_hermes_blocks, _fenced_blocks, _bare_values):
        calls: list[ToolCall] = []
        seen: set[tuple[str, str]] = set()
        spans: list[tuple[int, int]] = []
        for value, start, end in finder(text):
            found = list(_calls_in(value, names))
            if found:
                spans.append((start, end))
            for call in found:
                key = (call.function.name, call.function.arguments)
                if key not in seen:
                    seen.add(key)
                    calls.append(call)
        if calls:
            return calls, _cut(text, spans)
    return [], text


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        last = max(last, end)
    pieces.append(text[last:])
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip()


def _hermes_blocks(text: str) -> Iterator[_Found]:
    for match in _HERMES.finditer(text):
        for value, _, _ in _decode_all(match.group(1)):
            yield value, match.start(), match.end()


def _fenced_blocks(text: str) -> Iterator[_Found]:
    for match in _FENCE.finditer(text):
        if match.group(1).lower() in _FENCE_LANGS:
            for value, _, _ in _decode_all(match.group(2)):
                yield value, match.start(), match.end()


def _bare_values(text: str) -> Iterator[_Found]:
    """Top-level JSON objects and lists in the prose, skipping code fenced in other languages."""
    prose = _FENCE.sub(
        lambda m: m.group(0) if m.group(1).lower() in _FENCE_LANGS else " " * len(m.group(0)),
        text,
    )  # blanked, not removed, so offsets still point into ``text``
    yield from _decode_all(prose)


def _decode_all(text: str) -> Iterator[_Found]:
    """Decode each top-level JSON object or list found in ``text``, left to right."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while index < end:
        brace, bracket = text.find("{", index), text.find("[", index)
        starts = [i for i in (brace, bracket) if i >= 0]
        if not starts:
            return
        start = min(starts)
        try:
            value, stop = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            index = start + 1
            continue
        yield value, start, stop
        index = stop


def _calls_in(value: Any, names: set[str]) -> Iterator[ToolCall]:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    for item in items:
        call = _call_of(item, names)
        if call is not None:
            yield call


def _call_of(item: Any, names: set[str]) -> Optional[ToolCall]:
    """A ToolCall from one ``{"name": ..., "arguments": {...}}`` object, or None."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict) and "name" not in item:
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or name not in names:
        return None
    key = "arguments" if "arguments" in item else "parameters" if "parameters" in item else None
    if key is None:
        return None
    arguments = item[key]
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            return None
    if not isinstance(arguments, dict):
        return None
    encoded = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", function=ToolCallFunction(name, encoded))
