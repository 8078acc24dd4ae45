"""Find the tags and fenced blocks of a model reply, so each is read by the rules for its kind."""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

from .text_json import strict_decode

JSON_LANGS = frozenset(("", "json", "json5", "tool_call", "tool_calls", "tool", "function_call"))
SHELL_LANGS = frozenset(("bash", "sh", "shell", "console", "zsh"))

_FENCE_OPEN = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?")
_CALL_TAG = re.compile(r"<(tool_calls?|result)>", re.IGNORECASE)
_ECHOED_TOOLS = re.compile(
    r"<tools>.*?(?:</tools>|(?=<tool_calls?>|<result>)|\Z)", re.DOTALL | re.IGNORECASE
)


#: A line that is only a file's path, maybe in Markdown dress: ``reverse.py``, `` `a/b.md`: ``,
#: ``**run.sh**``, ``### setup.cfg``. A name needs a dot or a folder, so prose never is one.
_PATH_LINE = re.compile(
    r"[ \t]*(?:#{1,6}[ \t]+)?(?:\*\*|__|`)?(?P<path>(?:[\w.-]+/)*\.?[\w-]+(?:\.[\w-]+)*)"
    r"(?:\*\*|__|`)?:?[ \t]*"
)
_SCRIPT_SUFFIXES = (".sh", ".bash")
#: First words that make a shell block under a path a command all the same.
_COMMANDS = frozenset({
    "awk", "bash", "cat", "cd", "chmod", "cp", "diff", "echo", "find", "git", "grep", "head",
    "ls", "mkdir", "mv", "pip", "pip3", "printf", "pytest", "python", "python3", "rm", "sed",
    "sh", "sort", "tail", "touch", "tr", "wc"})


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


def _plain_text(body: str, name: str) -> bool:
    """Whether a shell block's text reads as a file's lines rather than commands."""
    words = body.split()
    return bool(words) and name not in body and words[0] not in _COMMANDS


def file_path(text: str, block: Block) -> Optional[str]:
    """The path named alone on the line over a closed fence, if the block is a file's text.

    A blank line may come between. A shell block is a file when the path ends in ``.sh`` or
    ``.bash``, or the text opens with ``#!``, or it never names the file and does not start
    with a common command (Qwen2.5-Coder-1.5B put a list of names under ``names.txt`` in a
    ``bash`` fence); otherwise it stays a command to run (``greet.py`` over ``python3 greet.py``).
    """
    head = text[: block.start]
    line_start = head.rfind("\n") + 1
    if not block.closed or head[line_start:].strip():
        return None
    above = head[:line_start].split("\n")[-3:-1]  # the two lines over the fence
    if above and not above[-1].strip():
        above = above[:-1]  # one blank line may come between
    if not above:
        return None
    line = above[-1]
    match = _PATH_LINE.fullmatch(line)
    if match is None:
        return None
    path = match.group("path")
    name = path.rsplit("/", 1)[-1]
    if "." not in name and "/" not in path or path.endswith("."):
        return None
    if block.label in SHELL_LANGS:
        body = text[block.body_start : block.body_end]
        if not (path.endswith(_SCRIPT_SUFFIXES) or body.lstrip().startswith("#!")
                or _plain_text(body, name)):
            return None
    return path
