"""Find the tags and fenced blocks of a model reply, so each is read by the rules for its kind."""

from __future__ import annotations

import re
from typing import NamedTuple

from .text_json import strict_decode

JSON_LANGS = frozenset(("", "json", "json5", "tool_call", "tool_calls", "tool", "function_call"))
SHELL_LANGS = frozenset(("bash", "sh", "shell", "console", "zsh"))

_FENCE_OPEN = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?")
_CALL_TAG = re.compile(r"<(tool_calls?|result)>", re.IGNORECASE)
_ECHOED_TOOLS = re.compile(
    r"<tools>.*?(?:</tools>|(?=<tool_calls?>|<result>)|\Z)", re.DOTALL | re.IGNORECASE
)


class Block(NamedTuple):
    """A tag or fenced block: ``label`` names it, the body is ``text[body_start:body_end]``."""

    label: str
    start: int
    end: int
    body_start: int
    body_end: int
    closed: bool

    def place(self) -> str:
        """Where a call sat, for a problem sentence: 'a json block', 'a <tool_call> tag'."""
        if self.label.startswith("<"):
            return f"a {self.label} tag"
        return f"a {self.label} block" if self.label else "a code block"


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by spaces, so offsets still point into the original."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def blank_echoed_tools(text: str) -> str:
    """Blank ``<tools>...</tools>``: a model echoing our tool list is not calling anything."""
    return blank(text, [m.span() for m in _ECHOED_TOOLS.finditer(text)])


def call_tags(text: str) -> list[Block]:
    """``<tool_call>`` and ``<result>`` tags; a tag left open runs to the next one or the end."""
    opens = list(_CALL_TAG.finditer(text))
    blocks: list[Block] = []
    for index, match in enumerate(opens):
        name = match.group(1).lower()
        limit = opens[index + 1].start() if index + 1 < len(opens) else len(text)
        close = re.compile(f"</{name}>", re.IGNORECASE).search(text, match.end(), limit)
        body_end, end = close.span() if close else (limit, limit)
        blocks.append(Block(f"<{name}>", match.start(), end, match.end(), body_end, bool(close)))
    return blocks


def fences(text: str) -> list[Block]:
    """Fenced code blocks in order, labelled by their lower-cased language.

    A fence opens where no ``"`` comes before it on its line, so ``` in the string of a bare
    JSON call is no fence; a JSON block whose value holds ``` in a string (a README written
    with write_file) runs to the first fence after that value. A fence never closed runs to
    the end of the text.
    """
    blocks: list[Block] = []
    position = 0
    while True:
        match = _FENCE_OPEN.search(text, position)
        if match is None:
            return blocks
        if '"' in text[text.rfind("\n", 0, match.start()) + 1 : match.start()]:
            position = match.start() + 3  # inside a JSON string on this line, not a fence
            continue
        lang, body_start = match.group(1).lower(), match.end()
        close = text.find("```", body_start)
        if close >= 0 and lang in JSON_LANGS:
            close = _past_json_value(text, body_start, close)
        if close < 0:
            blocks.append(Block(lang, match.start(), len(text), body_start, len(text), False))
            return blocks
        blocks.append(Block(lang, match.start(), close + 3, body_start, close, True))
        position = close + 3


def _past_json_value(text: str, body_start: int, close: int) -> int:
    """Where a JSON block closes, looking past a value that runs over the first ```."""
    start = len(text) - len(text[body_start:].lstrip())
    if start >= close or text[start] not in "{[":
        return close
    try:
        _, stop = strict_decode(text, start)
    except (ValueError, RecursionError):
        return close
    return close if stop <= close else text.find("```", stop)
