"""Which programs a command runs: through wrappers, ``find -exec``, ``xargs``, ``sh -c``, eval.

Each simple command yields a Call for itself and one for every program it starts by name,
so a deny rule sees ``git push`` inside ``timeout 5 git push`` or ``bash -c 'git push'``.
What cannot be known before run time (a computed command name, a shell reading a pipe)
yields an Unchecked with the reason.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

from .launches import ARGUMENT, Launch, is_assignment
from .scripts import SCRIPT_PROGRAMS
from .syntax import SimpleCommand, simple_commands
from .words import DYN, ShellSyntaxError, Word
from .wrappers import WRAPPER_PROGRAMS

MAX_DEPTH = 8

_LAUNCHERS = {**WRAPPER_PROGRAMS, **SCRIPT_PROGRAMS}


@dataclass(frozen=True)
class Call:
    """A program and its argument words; ``name`` is ``words[0]`` without its directory."""

    words: tuple[Word, ...]
    name: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", posixpath.basename(self.words[0].text))


@dataclass(frozen=True)
class Unchecked:
    """Why a part of a command cannot be checked before it runs."""

    reason: str
    syntax: bool = False


Found = Union[Call, Unchecked]


def program_calls(command: str, depth: int = 0) -> Iterator[Found]:
    """Every program ``command`` runs by name, and every part that cannot be checked."""
    if depth > MAX_DEPTH:
        yield Unchecked("its commands are nested too deeply to check")
        return
    try:
        commands = simple_commands(command)
    except ShellSyntaxError as error:
        yield Unchecked(f"it could not be parsed ({error})", syntax=True)
        return
    for simple in commands:
        yield from calls_of(simple.words, simple, depth)


def calls_of(words: Sequence[Word], simple: SimpleCommand, depth: int) -> Iterator[Found]:
    """The calls of one command's words (leading ``NAME=value`` words skipped)."""
    start = 0
    while start < len(words) and is_assignment(words[start]):
        start += 1
    if start == len(words):
        return
    head = words[start]
    if head.literal is None:
        yield Unchecked(f"the command name {head.text!r} is only known at run time")
        return
    if depth > MAX_DEPTH:
        yield Unchecked("its commands are nested too deeply to check")
        return
    call = Call(tuple(words[start:]))
    yield call
    launcher = _LAUNCHERS.get(call.name)
    if launcher is not None:
        for launch in launcher(call.name, call.words):
            yield from _launched(call, launch, simple, depth + 1)


def _launched(call: Call, launch: Launch, simple: SimpleCommand, depth: int) -> Iterator[Found]:
    if launch.reason:
        yield Unchecked(launch.reason)
    elif launch.code is not None:
        yield from code_calls(launch.code, launch.who, depth)
    elif launch.stdin:
        yield from _stdin_calls(launch.who, simple, depth)
    elif launch.words:
        if launch.wrapped:  # "sudo rm x" as a rule names the wrapper and what it runs
            yield Call((call.words[0], *launch.words))
        yield from calls_of(launch.words, SimpleCommand() if launch.detached else simple, depth)


def code_calls(code: Word, who: str, depth: int) -> Iterator[Found]:
    """The calls of shell text that ``who`` runs (``sh -c``, eval, a here-document...).

    Words that xargs or find put into the text stand in it as a variable: data, not code.
    """
    if any(kind == DYN and text != ARGUMENT.text for kind, text in code.parts):
        yield Unchecked(f"{who} runs command text that is only known at run time")
    else:
        text = "".join("${ARGUMENT}" if kind == DYN else text for kind, text in code.parts)
        yield from program_calls(text, depth)


def _stdin_calls(who: str, simple: SimpleCommand, depth: int) -> Iterator[Found]:
    if simple.stdin in ("pipe", "process", "fd"):
        yield Unchecked(f"{who} reads its commands from a pipe, known only at run time")
    elif simple.stdin_text is not None:
        yield from code_calls(simple.stdin_text, who, depth)
