"""Markdown from the model made safe to draw: images become links that say where they point.

A browser fetches an image the moment it draws it, so a reply could carry text out of the
sandbox in an image's URL; a link goes nowhere until the person clicks it. Code spans and
fenced code are left as they are. Where this reader and a Markdown renderer could disagree
about what is code, it treats the text as prose, so the worst case is a changed code sample.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Optional
from urllib.parse import urlsplit

from ...domain.visible import visible

_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_DEFINITION = re.compile(r"^ {0,3}\[((?:[^\[\]\\]|\\.){1,999})\]:[ \t]*\n?[ \t]*(<[^<>\n]*>|\S+)",
                         re.MULTILINE)
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_RUN = re.compile(r"\\.|`+", re.DOTALL)  # an escaped character, or a run of backticks
_PLAIN = r"(?:[^\[\]\\]|\\.)"
_ALT = re.compile(rf"\[((?:{_PLAIN}|\[{_PLAIN}*\])*)\]", re.DOTALL)  # one level of [nesting]
_DEST = r"(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*"
_TITLE = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)"
_INLINE = re.compile(rf"\([ \t]*\n?[ \t]*(<[^<>\n]*>|{_DEST})(?:\s+(?:{_TITLE}))?\s*\)",
                     re.DOTALL)
_HTML_START = re.compile(r" {0,3}<")
_DEFINITION_START = re.compile(r" {0,3}\[.*\]:")
# HTML blocks that run to an end marker (CommonMark kinds 1-5); other HTML to a blank line.
_HTML_ENDS = ((re.compile(r" {0,3}<(?:pre|script|style|textarea)(?:[\s>]|$)", re.I),
               re.compile(r"</(?:pre|script|style|textarea)>", re.I)),
              (re.compile(r" {0,3}<!--"), re.compile(r"-->")),
              (re.compile(r" {0,3}<\?"), re.compile(r"\?>")),
              (re.compile(r" {0,3}<!\[CDATA\["), re.compile(r"\]\]>")),
              (re.compile(r" {0,3}<![A-Za-z]"), re.compile(r">")))


def literal(text: str) -> str:
    """``text`` with every ASCII punctuation mark backslash-escaped: Markdown shows it as is."""
    return _PUNCTUATION.sub(r"\\\1", text)


def unlink_images(text: str) -> str:
    """``text`` with every Markdown image turned into a link saying ``image: alt (host)``."""
    pieces = list(split_code(text))
    definitions = link_definitions("".join(p for p, code in pieces if not code))
    return "".join(p if code else rewrite_prose(p, definitions) for p, code in pieces)


def split_code(text: str) -> Iterator[tuple[str, bool]]:
    """``(piece, is_code)`` in order: fenced blocks and code spans are code, the rest prose."""
    for block, fenced in split_fences(text):
        if fenced:
            yield block, True
        else:
            for paragraph in re.split(r"(\n[ \t]*\n)", block):
                yield from split_spans(paragraph)


def split_fences(text: str) -> Iterator[tuple[str, bool]]:
    """Fenced code blocks (opening to closing fence) and the text between them.

    No fence is looked for inside HTML or a link definition (a fence line there is not one);
    a fence ends early at a line indented less than its opening line (its list item ended).
    """
    prose: list[str] = []
    fence: list[str] = []
    opener: Optional[tuple[int, str]] = None  # the fence's indent and its backticks or tildes
    quiet: Optional[re.Pattern[str]] = None  # no fences until this ends (None: a blank line)
    quiet_on = False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        indent = len(line) - len(line.lstrip(" "))
        if opener is not None:
            if bare.strip() and indent < opener[0]:
                yield "".join(fence), True
                opener, fence = None, []
            else:
                fence.append(line)
                mark = opener[1]
                if indent <= 3 and bare.strip().startswith(mark) and set(bare.strip()) == {
                        mark[0]}:
                    yield "".join(fence), True
                    opener, fence = None, []
                continue
        if quiet_on:
            prose.append(line)
            if (quiet is None and not bare.strip()) or (quiet is not None and quiet.search(bare)):
                quiet_on = False
            continue
        found = _FENCE.fullmatch(bare)
        if found and not (found.group(2)[0] == "`" and "`" in found.group(3)):
            if prose:
                yield "".join(prose), False
            prose, fence = [], [line]
            opener = (indent, found.group(2))
            continue
        prose.append(line)
        if _HTML_START.match(bare) or _DEFINITION_START.match(bare):
            quiet = next((end for start, end in _HTML_ENDS if start.match(bare)), None)
            quiet_on = not (quiet is not None and quiet.search(bare, bare.index("<") + 1))
    if fence:
        yield "".join(fence), True
    if prose:
        yield "".join(prose), False


def split_spans(paragraph: str) -> Iterator[tuple[str, bool]]:
    """Code spans and the prose around them, where no Markdown reader could see it otherwise.

    A span counts only when each backtick run of the paragraph pairs on its own line and
    the paragraph has no ``<`` (HTML, autolinks) and no ``|`` (table cells); else all prose.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in paragraph.splitlines(keepends=True):
        found = _line_spans(line)
        if found is None:
            yield paragraph, False
            return
        spans += [(offset + a, offset + b) for a, b in found]
        offset += len(line)
    if spans and re.search(r"<|(?<!\\)\|", paragraph):
        spans = []
    start = 0
    for begin, end in spans:
        if start < begin:
            yield paragraph[start:begin], False
        yield paragraph[begin:end], True
        start = end
    if start < len(paragraph):
        yield paragraph[start:], False


def _line_spans(line: str) -> Optional[list[tuple[int, int]]]:
    """The code spans of one line, or None when a backtick run finds no partner on it."""
    runs = [(m.start(), m.end()) for m in _RUN.finditer(line) if m.group()[0] == "`"]
    spans = []
    index = 0
    while index < len(runs):
        begin, end = runs[index]
        partner = next((i for i in range(index + 1, len(runs))
                        if runs[i][1] - runs[i][0] == end - begin), None)
        if partner is None:
            return None  # a backslash inside a span reads as an escape here: prose, to be safe
        spans.append((begin, runs[partner][1]))
        index = partner + 1
    return spans


def link_definitions(text: str) -> dict[str, str]:
    """Reference definitions (``[label]: url``) by normalised label."""
    found: dict[str, str] = {}
    for label, url in _DEFINITION.findall(text):
        found.setdefault(_label_key(label), url.strip("<>"))
    return found


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def rewrite_prose(text: str, definitions: dict[str, str]) -> str:
    """Prose with each ``![`` either rewritten as a link or made a plain ``!``."""
    out: list[str] = []
    index = 0
    while True:
        found = text.find("![", index)
        if found < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:found])
        if _escaped(text, found):
            out.append("![")
            index = found + 2
            continue
        replacement, index = _image(text, found, definitions)
        out.append(replacement)


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes > 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _image(text: str, start: int, definitions: dict[str, str]) -> tuple[str, int]:
    """The link that replaces the image at ``start``, and where the scan goes on."""
    plain = ("\\!", start + 1)  # not read as an image here: the rest is scanned as prose
    found = _ALT.match(text, start + 1)
    if found is None:
        return plain
    alt = found.group(1)
    after = found.end()
    inline = _INLINE.match(text, after)
    if inline is not None:
        target = inline.group(1).strip("<>")
        return f"[{_describe(alt, target, definitions)}]{inline.group()}", inline.end()
    label, end = alt, after
    reference = _ALT.match(text, after)
    if reference is not None:
        label, end = (reference.group(1) or alt), reference.end()
    url = definitions.get(_label_key(label))
    if url is None:
        return plain
    return f"[{_describe(alt, url, definitions)}][{label}]", end


def _describe(alt: str, url: str, definitions: dict[str, str]) -> str:
    shown = rewrite_prose(alt, definitions).strip()
    return f"image: {shown} ({_where(url)})" if shown else f"image ({_where(url)})"


def _where(url: str) -> str:
    """The host an image URL points at, as Markdown that shows it literally."""
    try:
        parts = urlsplit(url.strip())
        place = parts.hostname or (f"{parts.scheme}: URL" if parts.scheme else "this page")
    except ValueError:
        place = "unreadable address"
    return literal(visible(place, keep_newlines=False))
