"""Shell words as the deny rules see them: quoted text, unquoted text and expansions apart.

A Word keeps what bash fixes before running (quotes removed, escapes and ``$'...'`` decoded)
apart from what only run time knows (``$x``, ``$(...)``, globs, brace expansion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Union

LIT, RAW, DYN = "lit", "raw", "dyn"  # quoted or escaped text, unquoted text, an expansion

_GLOB = re.compile(r"[*?]|\[.+\]")
_PATTERN_CHARS = re.compile(r"[*?\[{]")
_BRACES = re.compile(r"\{[^{}]*(,|\.\.)[^{}]*\}")
_ANSI_C = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
           "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


class ShellSyntaxError(ValueError):
    """Text that bash would not run as written, or that this lexer cannot read."""


@dataclass(frozen=True)
class Word:
    """One shell word as its parts: (LIT, text), (RAW, text) and (DYN, source) in order."""

    parts: tuple[tuple[str, str], ...]
    text: str = field(init=False, compare=False)
    dynamic: bool = field(init=False, compare=False)
    braced: bool = field(init=False, compare=False)
    expands: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        parts = self.parts
        braced = globbed = False
        if any(kind == RAW and _PATTERN_CHARS.search(text) for kind, text in parts):
            mask = "".join(text if kind == RAW else "\0" * len(text) for kind, text in parts)
            braced, globbed = bool(_BRACES.search(mask)), bool(_GLOB.search(mask))
        object.__setattr__(self, "text", "".join(text for _, text in parts))
        object.__setattr__(self, "dynamic", any(kind == DYN for kind, _ in parts))
        object.__setattr__(self, "braced", braced)
        object.__setattr__(self, "expands", braced or globbed)

    @property
    def literal(self) -> Optional[str]:
        """The word's value when it is fixed before run time (no expansion, glob or braces)."""
        return None if self.dynamic or self.expands else self.text

    @property
    def unquoted(self) -> bool:
        """Whether the word is plain unquoted text, as shell keywords must be."""
        return all(kind == RAW for kind, _ in self.parts)


def word_of(text: str, kind: str = LIT) -> Word:
    """A word made of one part (LIT: a fixed value; DYN: something known only at run time)."""
    return Word(((kind, text),))


@dataclass(frozen=True)
class Op:
    """An operator token: a control operator, a redirection, or ``((`` for ``((...))``."""

    text: str


@dataclass
class Heredoc:
    """A here-document: its delimiter, whether it was quoted, and the body once it is read."""

    delimiter: str
    quoted: bool
    strip_tabs: bool
    body: Word = field(default_factory=lambda: word_of(""))


Token = Union[Word, Op, Heredoc]


def merged(parts: list[tuple[str, str]]) -> Word:
    """A word from parts as read, with neighbouring quoted (or unquoted) pieces joined."""
    if len(parts) == 1:
        return Word((parts[0],))
    merged: list[tuple[str, str]] = []
    for kind, text in parts:
        if merged and kind != DYN and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        elif text or kind == DYN:
            merged.append((kind, text))
    return Word(tuple(merged))


def decode_ansi_c(src: str, start: int) -> tuple[str, int]:
    """The value of the ``$'...'`` string whose text starts at ``start``, and where it ends."""
    out, index = [], start + 2
    while index < len(src) and src[index] != "'":
        char = src[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = src[index + 1:index + 2]
        index += 2
        if code in _ANSI_C:
            out.append(_ANSI_C[code])
        elif code in "xuU" and code:
            size = {"x": 2, "u": 4, "U": 8}[code]
            digits = re.match(f"[0-9A-Fa-f]{{1,{size}}}", src[index:index + size])
            if digits:
                out.append(chr(min(int(digits.group(), 16), 0x10FFFF)))
                index += len(digits.group())
            else:
                out.append("\\" + code)
        elif code and code in "01234567":
            octal = re.match(r"[0-7]{1,3}", src[index - 1:index + 2])
            assert octal is not None
            out.append(chr(int(octal.group(), 8) & 0xFF))
            index += len(octal.group()) - 1
        elif code == "c" and index < len(src):
            out.append(chr(ord(src[index]) & 0x1F))
            index += 1
        else:
            out.append("\\" + code)
    if index >= len(src):
        raise ShellSyntaxError("a $' quote is never closed")
    return "".join(out), index + 1
