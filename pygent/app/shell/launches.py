"""What a program starts, as data, and getopt-style reading of such a program's options.

A Launch says what one program runs besides itself: a command given as words (``sudo``,
``xargs``, ``find -exec``), shell text (``sh -c``, eval), its own standard input (``sh``
in a pipe), or why that is only known at run time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from .words import DYN, LIT, RAW, Word, word_of

#: A word that ``xargs`` or ``find -exec ... {}`` supplies only at run time.
ARGUMENT = word_of("{}", DYN)

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


@dataclass(frozen=True)
class Launch:
    """One thing a program runs: a command's ``words``, shell ``code``, or its ``stdin``.

    ``wrapped`` marks a command the program runs in its own place (``sudo rm`` runs rm), and
    ``detached`` one that does not read this command's standard input (``find -exec``).
    """

    who: str
    words: tuple[Word, ...] = ()
    code: Optional[Word] = None
    stdin: bool = False
    reason: str = ""
    wrapped: bool = True
    detached: bool = False


@dataclass(frozen=True)
class Spec:
    """A program's options that take a value, and how many operands precede its command."""

    short: str = ""
    long: tuple[str, ...] = ()
    operands: int = 0


Options = list[tuple[str, Optional[Word]]]


def read_options(args: Sequence[Word], spec: Spec) -> tuple[int, Options]:
    """Where the options in ``args`` end, and each option with its value (getopt style)."""
    index = 0
    found: Options = []
    while index < len(args):
        text = args[index].literal
        if text is None or text == "-" or not text.startswith("-"):
            break
        index += 1
        if text == "--":
            break
        if text.startswith("--"):
            name, equals, value = text.partition("=")
            takes = len(name) > 2 and any(option.startswith(name) for option in spec.long)
            if equals:
                found.append((name, word_of(value)))
            elif takes and index < len(args):
                found.append((name, args[index]))
                index += 1
            else:
                found.append((name, None))
            continue
        for offset, letter in enumerate(text[1:], 2):
            if letter in spec.short:
                if text[offset:]:
                    found.append(("-" + letter, word_of(text[offset:])))
                elif index < len(args):
                    found.append(("-" + letter, args[index]))
                    index += 1
                break
            found.append(("-" + letter, None))
    return index, found


def option_value(found: Options, *names: str) -> Optional[Word]:
    """The value of the first option in ``found`` that is one of ``names`` (or abbreviates it)."""
    return next((value for name, value in found
                 if value is not None and any(full.startswith(name) for full in names)), None)


def is_assignment(word: Word) -> bool:
    """Whether ``word`` is a ``NAME=value`` assignment rather than a command or argument."""
    return bool(word.parts) and word.parts[0][0] == RAW \
        and _ASSIGNMENT.match(word.parts[0][1]) is not None


def with_arguments(word: Word, marker: str) -> Word:
    """``word`` with each ``marker`` (xargs -I's ``{}``) as an ARGUMENT part, known at run time."""
    if marker not in word.text:
        return word
    if word.text == marker:
        return ARGUMENT
    pattern = re.compile(re.escape(marker))
    return with_argument_pattern(word, pattern)


def with_argument_pattern(word: Word, pattern: re.Pattern[str]) -> Word:
    """``word`` with each match of ``pattern`` (GNU parallel's ``{}``, ``{.}``) an ARGUMENT."""
    parts: list[tuple[str, str]] = []
    for kind, text in word.parts:
        if kind == DYN:
            parts.append((kind, text))
            continue
        for index, piece in enumerate(pattern.split(text)):
            if index:
                parts.append(ARGUMENT.parts[0])
            if piece:
                parts.append((kind, piece))
    return Word(tuple(parts))


def joined(words: Sequence[Word]) -> Word:
    """Words joined by spaces, as eval and watch join their arguments into one script."""
    parts: list[tuple[str, str]] = []
    for index, word in enumerate(words):
        if index:
            parts.append((LIT, " "))
        parts.extend(word.parts)
    return Word(tuple(parts))
