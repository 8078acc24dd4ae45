"""Read the actions a small model wrote as text, since many cannot emit structured ``tool_calls``.

Recognised, anywhere in the reply and kept in reply order:

* Hermes ``<tool_call>{...}</tool_call>`` and ``<result>{...}</result>`` tags (one left open
  runs to the next tag or the end);
* fenced blocks (```` ```json ````, ```` ```tool_call ```` or bare ```` ``` ````) holding an
  object or a list of objects, and bare JSON objects or lists in the prose;
* near-JSON in those places: invalid escapes, doubled braces, trailing commas, single quotes
  and Python literals are repaired (see ``text_json``);
* with ``shell_blocks``, and only when the reply holds no call of the kinds above, fenced
  ``bash``/``sh``/``shell``/``zsh``/``console`` blocks, each one ``bash`` call (see
  ``text_shell``); a shell fence that opens with a JSON value is read as JSON instead.

A call is an object with ``name`` (a registered tool) and ``arguments`` or ``parameters`` that
are, or decode to, a JSON object; ``{"function": {...}}`` and ``{"tool_calls": [...]}`` wrap
calls too. Never a call: anything inside ``<tools>...</tools>`` or shaped like a tool schema (a
model echoing its tool list), code fenced in another language, and prose that only mentions a
tool. A call attempt that cannot be taken (unknown tool, unreadable JSON, arguments that are no
object) becomes a problem sentence for the model rather than silence.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..domain.messages import ToolCall, ToolCallFunction
from .registry import builtin_tools
from .text_blocks import (
    JSON_LANGS,
    SHELL_LANGS,
    Block,
    blank,
    blank_echoed_tools,
    call_tags,
    fences,
    file_path,
)
from .text_json import attempted, decode_object, looks_like_schema, preview, values
from .text_shell import (
    is_python_text,
    is_script_text,
    python_style_call,
    shell_alias,
    shell_command,
    shell_style_call,
    stop_words,
)

_MAX_TEXT = 200_000  # longer replies are not scanned; a tool call is never that long
_SHELL_TOOL = "bash"
_STOP_TOOL = "stop"
_WRITE_TOOL = "write_file"
_QUOTED_KEY = re.compile(r"\s*(?:\{|\[\s*\{)\s*[\"']")  # ``{"`` or ``{'``: never a shell script
SCRIPT_TEXT = ("the ```{label} block starts with #!, so it reads as the text of a script, not a "
               "command, and was not run: to save a script, {save}, then run it")
PYTHON_TEXT = ("the ```{label} block holds Python code, not a shell command, and was not run: to "
               "save it, {save}; to run it, save it to a file, then run python3 FILE")
SAVE_AS_BLOCK = "put the file's path alone on the line above a ```{lang} block"
SAVE_WITH_TOOL = "call write_file with the file's path and this text"
NO_PATH = ("the ```{label} block has no file path on the line above it, so it was not saved: to "
           "write it to a file, put the file's path alone on the line above the block")
EMPTY_FILE = ("the block under {path} is empty and never closed, so nothing was written: put "
              "{path}'s whole text in the block and close it with ```, or make it with a "
              "command whose output goes to it (COMMAND > {path})")
#: The last line of a reply that is only ``stop`` or ``stop "result"`` (the quotes needed:
#: "stop the server" is prose).
_BARE_STOP = re.compile(r"^[ \t]*stop(?:[ \t]+([\"'])[^\n]*\1)?[ \t]*\s*\Z", re.MULTILINE)
_JSON_OPENING = re.compile(r"\s*(?=\{|\[\s*\{)")

#: A span of the reply to cut once read, the calls it made and the problems it raised.
_Hit = tuple[int, int, list[ToolCall], list[str]]


@dataclass
class TextActions:
    """What a text reply asks for."""

    calls: list[ToolCall]  # in reply order, ids generated ("call_<hex>")
    prose: str  # the reply with the recognised calls cut out
    problems: list[str]  # one sentence per call attempt that could not be taken, for the model
    first_end: int = 0  # where the text of the first call ends (0: no call)


def read_actions(
    text: Optional[str], tool_names: Collection[str], *, shell_blocks: bool = False,
    shell_beside_calls: bool = False, file_blocks: bool = False,
) -> TextActions:
    """The calls written in ``text``, the prose around them and the attempts that failed.

    A call repeated word for word in one reply is kept once, since small models loop.
    ``shell_beside_calls`` takes shell blocks even beside other calls, in reply order: in the
    text protocol a shell block is an action like any other. ``file_blocks`` reads a fenced
    block right under a line that is only a file's path as ``write_file`` of that text (the
    text protocol's way to write a file, with no JSON to escape).
    """
    names = list(dict.fromkeys(tool_names))
    if not text or not names or len(text) > _MAX_TEXT:
        return TextActions([], text or "", [])
    visible = blank_echoed_tools(text)
    tags = call_tags(visible)
    untagged = blank(visible, [(tag.start, tag.end) for tag in tags])
    blocks = fences(untagged)
    hits: list[_Hit] = []
    for tag in tags:
        hits.extend(_block_hits(visible, tag, names))
    scripts: list[Block] = []
    for block in blocks:
        path = file_path(untagged, block) if file_blocks and _WRITE_TOOL in names else None
        if path is not None and not _holds_call(untagged, block, names):
            hits.append(_file_hit(untagged, block, path))
        elif block.label in JSON_LANGS:
            hits.extend(_block_hits(untagged, block, names))
        elif block.label in SHELL_LANGS and _opens_json(untagged, block):
            hits.extend(_block_hits(untagged, block, names))  # a mislabelled call, or an echo
        elif block.label in SHELL_LANGS:
            scripts.append(block)
    bare = blank(untagged, [(block.start, block.end) for block in blocks])
    hits.extend(_value_hits(bare, 0, "the reply", names))
    alone = not any(calls for _, _, calls, _ in hits)
    if shell_blocks and _SHELL_TOOL in names and (alone or shell_beside_calls):
        # echoed schemas are blanked in ``untagged`` too
        hits.extend(_shell_hits(untagged, scripts, names, file_blocks))
    if shell_blocks and _STOP_TOOL in names and not any(calls for _, _, calls, _ in hits):
        hits.extend(_bare_stop(bare))
    if file_blocks and _WRITE_TOOL in names and not any(c or p for _, _, c, p in hits):
        hits.extend(_pathless(untagged, blocks))
    return _gather(text, hits)


def _pathless(text: str, blocks: list[Block]) -> list[_Hit]:
    """A problem for the first file-like block with no path over it, in a reply with no
    action: Qwen2.5-Coder-1.5B wrote config.json's new text under "I change the file." and
    was only told that no action was found. And for a path over a fence opened and left
    empty: it wrote "I create the file.", sorted.txt, an opening fence, and ended its reply."""
    for block in blocks:
        body = text[block.body_start : block.body_end]
        if block.closed and block.label not in SHELL_LANGS and body.strip() \
                and not looks_like_schema(body):  # an echoed tool list is no file
            return [(block.start, block.start, [], [NO_PATH.format(label=block.label)])]
        path = None if block.closed or body.strip() else file_path(
            text, block._replace(closed=True))
        if path is not None:
            return [(block.start, block.start, [], [EMPTY_FILE.format(path=path)])]
    return []


def _bare_stop(text: str) -> list[_Hit]:
    """``stop "done"`` as the reply's last line, unfenced: the prompt shows it in a bash
    block, and Qwen2.5-Coder-1.5B then wrote it as plain text, over and over."""
    match = _BARE_STOP.search(text)
    if match is None:
        return []
    said = stop_words(match.group(0).strip()) or ""
    return [(match.start(), match.end(), [new_call(_STOP_TOOL, {"result": said})], [])]


def _gather(text: str, hits: list[_Hit]) -> TextActions:
    calls: list[ToolCall] = []
    problems: list[str] = []
    first_end = 0
    seen: set[tuple[str, str]] = set()
    spans: list[tuple[int, int]] = []
    for start, end, found, troubles in sorted(hits, key=lambda hit: hit[0]):
        if found:
            spans.append((start, end))
            first_end = first_end or end
        for call in found:
            key = (call.function.name, call.function.arguments)
            if key not in seen:
                seen.add(key)
                calls.append(call)
        problems.extend(p for p in troubles if p not in problems)
    return TextActions(calls, _cut(text, spans) if spans else text, problems, first_end)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        last = max(last, end)
    pieces.append(text[last:])
    left = re.sub(r"```[A-Za-z0-9_-]*\s*```", "", "".join(pieces))  # fences emptied by a cut
    return re.sub(r"\n{3,}", "\n\n", left).strip()


def _block_hits(text: str, block: Block, names: list[str]) -> list[_Hit]:
    """The values in a tag or fence, cut as a whole block once one of them is a call."""
    body = text[block.body_start : block.body_end]
    hits = list(_value_hits(body, block.body_start, block.place(), names))
    if not hits and _block_attempted(block, body, names):
        hits.append((block.start, block.end, [], [_unreadable(block.place(), body)]))
    if any(calls for _, _, calls, _ in hits):
        hits = [(block.start, block.end, calls, problems) for _, _, calls, problems in hits]
    return hits


def _block_attempted(block: Block, body: str, names: list[str]) -> bool:
    if block.label.startswith("<tool_call"):  # the tag says it is a call, whatever follows
        return bool(body.strip()) and not looks_like_schema(body)
    return attempted(body, names)


def _value_hits(text: str, offset: int, place: str, names: list[str]) -> Iterator[_Hit]:
    for found in values(text):
        piece = text[found.start : found.end]
        calls: list[ToolCall] = []
        problems: list[str] = []
        if found.read:
            calls, problems = _judge(found.value, names)
        strict = found.read and not found.repaired  # valid JSON that is no call is data
        if not calls and not problems and not strict and attempted(piece, names):
            problems = [_unreadable(place, piece)]
        yield offset + found.start, offset + found.end, calls, problems


def _unreadable(place: str, piece: str) -> str:
    return f"could not read the tool call in {place}: {preview(piece)}"


def _judge(value: Any, names: list[str]) -> tuple[list[ToolCall], list[str]]:
    """The calls in a decoded value, and a problem for each call attempt that fails."""
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    calls: list[ToolCall] = []
    problems: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        outcome = _judge_one(item, names)
        if isinstance(outcome, ToolCall):
            calls.append(outcome)
        elif outcome:
            problems.append(outcome)
    return calls, problems


def _judge_one(item: Any, names: list[str]) -> Union[ToolCall, str, None]:
    """A call from one ``{"name": ..., "arguments": {...}}``, a problem, or None for data."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict) and "name" not in item:
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or not name or _is_schema(item):
        return None
    key = "arguments" if "arguments" in item else "parameters" if "parameters" in item else None
    if name not in names:
        alias = shell_alias(name, item.get(key)) if key and _SHELL_TOOL in names else ""
        if alias:  # ``{"name": "run", "arguments": {"cmd": ...}}``: plainly a shell command
            return new_call(_SHELL_TOOL, {_shell_argument(): alias})
        listed = ", ".join(names)
        return f"unknown tool {name!r} (available tools: {listed})" if key else None
    if key is None:
        return f'the call to {name!r} has no "arguments" object'
    arguments = item[key]
    if isinstance(arguments, str):
        arguments = decode_object(arguments)
    if not isinstance(arguments, dict):
        return f"the arguments of the call to {name!r} must be a JSON object"
    return new_call(name, arguments)


def _is_schema(item: dict[str, Any]) -> bool:
    """Whether ``item`` is a tool's description rather than a call to it."""
    if "description" in item or _schema_like(item):
        return True
    return any(_schema_like(item.get(key)) for key in ("arguments", "parameters", "input_schema"))


def _schema_like(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value and (
        "properties" in value or "required" in value
    )


def _holds_call(text: str, block: Block, names: list[str]) -> bool:
    """Whether a JSON fence under a path line is a call after all, not the file's text."""
    if block.label not in JSON_LANGS:
        return False
    return any(calls for _, _, calls, _ in _block_hits(text, block, names))


def _file_hit(text: str, block: Block, path: str) -> _Hit:
    """``write_file`` of a block's text, cut from its path line to the closing fence."""
    start = text.rfind(path, 0, block.start)
    start = text.rfind("\n", 0, start) + 1
    body = text[block.body_start : block.body_end]
    return start, block.end, [new_call(_WRITE_TOOL, {"path": path, "content": body})], []


def _opens_json(text: str, block: Block) -> bool:
    """Whether a shell fence opens with JSON (a mislabelled call or an echo), not a script."""
    opening = _JSON_OPENING.match(text, block.body_start, block.body_end)
    if opening is None:  # most scripts; ``{ a; b; }`` gets past this, but no value starts there
        return False
    if _QUOTED_KEY.match(text, block.body_start, block.body_end):
        return True  # JSON and Python's repr of a dict start so; a brace group needs a space
    first = next(values(text[block.body_start : block.body_end]), None)
    return first is not None and block.body_start + first.start == opening.end()


def _shell_hits(text: str, blocks: list[Block], names: list[str],
                file_blocks: bool) -> Iterator[_Hit]:
    for block in blocks:
        if not block.closed:
            continue
        body = text[block.body_start : block.body_end]
        if is_script_text(body):
            save = SAVE_AS_BLOCK.format(lang=block.label) if file_blocks else SAVE_WITH_TOOL
            yield block.start, block.end, [], [SCRIPT_TEXT.format(label=block.label, save=save)]
            continue
        if is_python_text(body):
            save = SAVE_AS_BLOCK.format(lang="python") if file_blocks else SAVE_WITH_TOOL
            yield block.start, block.end, [], [PYTHON_TEXT.format(label=block.label, save=save)]
            continue
        written = python_style_call(body, names, _parameter_order) \
            or shell_style_call(body, names, _parameter_order)
        if written is not None:  # ``write_file("a.txt", "hi")`` or ``write_file a.txt hi``
            yield block.start, block.end, [new_call(*written)], []
            continue
        command = shell_command(block.label, body)
        said = stop_words(command) if _STOP_TOOL in names else None
        if said is not None:
            yield block.start, block.end, [new_call(_STOP_TOOL, {"result": said})], []
        elif command:
            call = new_call(_SHELL_TOOL, {_shell_argument(): command})
            yield block.start, block.end, [call], []


def _parameter_order(name: str) -> list[str]:
    """A built-in tool's parameters in order, for a call written with positional arguments."""
    for spec in builtin_tools():
        if spec.name == name:
            return list(spec.parameters.get("properties") or [])
    return []


def _shell_argument() -> str:
    """The argument the built-in bash tool takes its command in."""
    for spec in builtin_tools():
        if spec.name == _SHELL_TOOL:
            schema = spec.parameters
            required = schema.get("required") or list(schema.get("properties", []))
            return str(required[0]) if required else "cmd"
    return "cmd"


def new_call(name: str, arguments: dict[str, Any]) -> ToolCall:
    """A call read from text, with a fresh id, its arguments as JSON the wire can carry."""
    encoded = json.dumps(arguments, ensure_ascii=False)
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it escaped so the wire stays UTF-8
        encoded = json.dumps(arguments)
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", function=ToolCallFunction(name, encoded))
