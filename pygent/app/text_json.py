"""Decode the JSON values in model text, repairing near-JSON only where a tool call was meant.

Strict ``json`` comes first. Text that fails it is repaired only when it opens like a call
(``{"name": ...``, ``{{"name": ...``, ``[{'function': ...``) and its brackets close: the common
slips (unknown escapes, raw newlines, a doubled brace, trailing commas, Python literals) are
mended by hand so the result is exact, and ``json_repair`` takes the rest (single quotes, say).
Prose and replies cut off mid-call are never guessed into a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, Optional

import json_repair

_OPEN = re.compile(r"[{\[]")
_CANNOT_BE_JSON = re.compile(r"\{\s*[^\s\"}]")  # an object's first key is always quoted
_CALL_START = re.compile(
    r"[\s{\[]{0,8}[\"']?(?:name|function|tool_calls|type|arguments|parameters)[\"']?\s*:"
)
_NAME_KEY = re.compile(r"[\"']name[\"']\s*:")
_ARGUMENTS_KEY = re.compile(r"[\"'](?:arguments|parameters)[\"']\s*:")
_SCHEMA_KEY = re.compile(r"[\"'](?:properties|description|required)[\"']\s*:")
_MAX_REPAIR = 100_000  # characters; json_repair is pure Python
_MAX_DEPTH = 32  # a call nested deeper than this is noise, and repair slows down on it
_WINDOW = 8192
_ESCAPE = re.compile(r'\\(?:(u[0-9a-fA-F]{4}|["\\/bfnrt])|(.?))', re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f]")
_TRIPLE_QUOTE = re.compile(r'(?<!\\)"""')  # a docstring's quotes: never in valid JSON
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_PY_LITERAL = re.compile(r"\b(?:True|False|None)\b")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
#: A value in single or Python triple quotes after a key: ``"content": '{"a": 1}'``.
_SINGLE_VALUE = re.compile(r""":\s*('''|\"\"\"|'(?!''))""")
#: Where such a value ends, by its opening quote: that quote, then the next key or the end.
_SINGLE_END = {quote: re.compile(r"(?<!\\)" + quote + r"""(?=\s*(?:,\s*["']|\}))""")
               for quote in ("'", '"""', "'''")}
_DECODER = json.JSONDecoder()


class Value(NamedTuple):
    """A JSON value read from ``text[start:end]``; ``read`` is False for an unreadable call."""

    start: int
    end: int
    value: Any
    read: bool
    repaired: bool


def values(text: str) -> Iterator[Value]:
    """Each top-level JSON value in ``text``, left to right, and each call no one could read."""
    index = 0
    while True:
        found = _OPEN.search(text, index)
        if found is None:
            return
        index = found.start()
        decoded, deep = _strict_at(text, index)
        if decoded is not None:
            yield Value(index, decoded[1], decoded[0], True, False)
            index = decoded[1]
        elif _CALL_START.match(text, index + 1):
            stop, depth, closed = match_brackets(text, index)
            repaired = None
            if closed and depth <= _MAX_DEPTH and stop - index <= _MAX_REPAIR:
                repaired = repair(text[index:stop])
            yield Value(index, stop, repaired, repaired is not None, True)
            index = stop
        else:  # nesting too deep for ``json`` is noise: skip it whole, not bracket by bracket
            index = match_brackets(text, index)[0] if deep else index + 1


def _strict_at(text: str, index: int) -> tuple[Optional[tuple[Any, int]], bool]:
    """The value and its end decoded at ``index``, or None and whether nesting was too deep."""
    if _CANNOT_BE_JSON.match(text, index):
        return None, False
    try:
        return strict_decode(text, index), False
    except RecursionError:
        return None, True
    except ValueError:
        return None, False


def strict_decode(text: str, index: int) -> tuple[Any, int]:
    """``raw_decode`` at ``index``, reading a small window first.

    A JSON error counts the lines before it, so failing at every brace of a long reply would
    take quadratic time; a failure well inside the window is final, since the parser never
    looked past it.
    """
    window = text[index : index + _WINDOW]
    try:
        value, stop = _DECODER.raw_decode(window)
        return value, index + stop
    except json.JSONDecodeError as error:
        final = error.pos < len(window) - 64 and not error.msg.startswith("Unterminated")
        if len(window) < _WINDOW or final:
            raise
    return _DECODER.raw_decode(text, index)


def match_brackets(text: str, start: int) -> tuple[int, int, bool]:
    """Where the bracket opened at ``start`` closes, the deepest nesting, and whether it closed.

    Strings are skipped, quoted by whichever of ``"`` and ``'`` comes first, so a ``}`` inside
    a command does not count; an unclosed bracket runs to the end of ``text``.
    """
    double, single = text.find('"', start), text.find("'", start)
    quote = "'" if single >= 0 and (double < 0 or single < double) else '"'
    depth = deepest = 0
    in_string = False
    index, end = start, len(text)
    while index < end:
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == quote:
                in_string = False
        elif char == quote:
            in_string = True
        elif char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1, deepest, True
        index += 1
    return end, deepest, False


def repair(text: str) -> Optional[Any]:
    """The object or list ``text`` was meant to be, or None; it never raises.

    The slips small models make most (backslashes JSON does not know, raw newlines in strings,
    a Python docstring's unescaped triple quotes, a doubled outer brace, trailing commas,
    ``True``/``None``) are mended exactly by hand;
    ``json_repair`` gets the rest, such as single quotes.
    """
    for requoted in (text, _requote(text)):
        mended = _mend(_TRIPLE_QUOTE.sub(r'\\"\\"\\"', requoted))
        doubled = mended.startswith("{{") and mended.endswith("}}")
        for candidate in (mended, mended[1:-1]) if doubled else (mended,):
            try:
                value = json.loads(candidate)
            except (ValueError, RecursionError):
                continue
            if isinstance(value, (dict, list)) and value:
                return value
    try:
        value = json_repair.loads(text, skip_json_loads=True)
    except Exception:  # RecursionError included: the library is not ours to trust
        return None
    return _join_surrogates(value) if isinstance(value, (dict, list)) and value else None


def _requote(text: str) -> str:
    """``text`` with each value written in single or Python triple quotes in double quotes: a
    model writing a JSON file as ``"content": '{"debug": true}'``, or a script in triple
    quotes, means that text, which the repair library splits into arguments of their own.
    One pass, left to right."""
    pieces, last, index = [], 0, 0
    single = _SINGLE_VALUE.search(text)
    while single is not None:
        quote = text.find('"', index, single.start())
        if quote >= 0:  # a string comes first: skip it, and the colon if it holds it
            string = _STRING.match(text, quote)
            if string is None:
                break
            index = string.end()
            if index > single.start():
                single = _SINGLE_VALUE.search(text, index)
            continue
        end = _SINGLE_END[single.group(1)].search(text, single.end())
        if end is None:
            break
        body = text[single.end() : end.start()].replace("\\'", "'")
        pieces += [text[last : single.start(1)], '"', re.sub(r'(?<!\\)"', r'\\"', body), '"']
        last = index = end.end()
        single = _SINGLE_VALUE.search(text, index)
    return "".join(pieces) + text[last:]


def _mend(text: str) -> str:
    """``text`` with unknown escapes taken literally, raw newlines in strings escaped, trailing
    commas dropped and Python literals spelled as JSON; nothing else in a string is touched."""
    pieces, last = [], 0
    for string in _STRING.finditer(text):
        pieces.append(_mend_code(text[last : string.start()]))
        escaped = _ESCAPE.sub(_escape, string.group(0))
        pieces.append(_CONTROL.sub(lambda m: json.dumps(m.group(0))[1:-1], escaped))
        last = string.end()
    pieces.append(_mend_code(text[last:]))
    return "".join(pieces)


def _mend_code(code: str) -> str:
    code = _TRAILING_COMMA.sub(r"\1", code)
    return _PY_LITERAL.sub(lambda m: _PY_LITERALS[m.group(0)], code)


def _escape(match: re.Match[str]) -> str:
    """A backslash escape JSON knows stays; any other backslash is taken literally."""
    return match.group(0) if match.group(1) else "\\\\" + match.group(2)


def _join_surrogates(value: Any, depth: int = 0) -> Any:
    """Join escaped surrogate pairs into one character, which ``json_repair`` leaves split."""
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_join_surrogates(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            _join_surrogates(key, depth + 1): _join_surrogates(item, depth + 1)
            for key, item in value.items()
        }
    return value


def decode_object(text: str) -> Optional[dict[str, Any]]:
    """The JSON object in ``text`` (arguments sent as a string), repaired if need be, or None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        stripped = text.strip()
        value = None
        if stripped.startswith("{") and len(stripped) <= _MAX_REPAIR:
            stop, depth, closed = match_brackets(stripped, 0)
            if closed and stop == len(stripped) and depth <= _MAX_DEPTH:
                value = repair(stripped)
    return value if isinstance(value, dict) else None


def attempted(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` reads as a try at a tool call rather than data or an echoed schema."""
    if not _NAME_KEY.search(text) or looks_like_schema(text):
        return False
    return bool(_ARGUMENTS_KEY.search(text)) or any(
        f'"{name}"' in text or f"'{name}'" in text for name in names
    )


def looks_like_schema(text: str) -> bool:
    """Whether ``text`` has the keys of a tool schema, which a model may echo but never calls."""
    return bool(_SCHEMA_KEY.search(text))


def preview(text: str, limit: int = 60) -> str:
    """``text`` on one line and at most ``limit`` characters, for a problem sentence."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."
