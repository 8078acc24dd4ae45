"""Deny rules as command shapes: a program name, the flags it must have, its leading operands.

A rule matches a program call when the names agree, the rule's flags are among the call's
(``-rf`` is ``-r -f``; ``--recursive`` is ``-r`` for rm), and the rule's operands appear in
the call's in order: the first one first (``git stash push`` is not ``git push``), the others
and any path anywhere after it (``rm -rf build /`` is ``rm -rf /``). Paths are compared after
normalising ``//``, ``.`` and ``..``; a glob matches the directory it lists (``/*`` is ``/``).
A word only known at run time (``$x``, ``{}`` from xargs) may stand for any one word.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Optional

from .shell.commands import Call
from .shell.lexer import lex
from .shell.words import DYN, LIT, ShellSyntaxError, Word, word_of

_FLAG_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"-R": "-r", "--recursive": "-r", "--force": "-f", "--dir": "-d"},
    "cp": {"-R": "-r", "--recursive": "-r", "--force": "-f"},
    "mv": {"--force": "-f"},
    "chmod": {"--recursive": "-R"},
    "chown": {"--recursive": "-R"},
    "chgrp": {"--recursive": "-R"},
    "git push": {"--force": "-f", "--delete": "-d"},
    "git clean": {"--force": "-f", "--dry-run": "-n"},
    "git branch": {"--delete": "-d", "--force": "-f"},
    "git checkout": {"--force": "-f"},
}
_GLOB_ESCAPES = str.maketrans({"*": "[*]", "?": "[?]", "[": "[[]"})


@dataclass(frozen=True)
class Shape:
    """A call as the rules see it: name, flags, and operand words (``True``: may be flags)."""

    name: str
    flags: frozenset[str]
    operands: tuple[tuple[bool, Word], ...]
    any_flags: bool


@dataclass(frozen=True)
class DenyRule:
    """One deny rule from the settings, parsed into the shape it refuses."""

    text: str
    name: str
    flags: frozenset[str]
    operands: tuple[str, ...]
    paths: tuple[bool, ...]

    @classmethod
    def parse(cls, text: str) -> Optional[DenyRule]:
        """The rule for ``text`` (``"rm -rf /"``), or None when it names no command."""
        words = rule_words(text)
        if not words:
            return None
        shape = shape_of(Call(tuple(word_of(word) for word in words)))
        operands = tuple(word.text for _, word in shape.operands)
        paths = tuple(_is_path(operand) for operand in operands)
        operands = tuple(_normal(o) if path else o for o, path in zip(operands, paths))
        return cls(text, shape.name, shape.flags, operands, paths)

    def matches(self, shape: Shape) -> bool:
        """Whether a call of this shape is one the rule refuses."""
        if shape.name != self.name:
            return False
        last = len(self.operands)
        states = {(0, self.flags <= shape.flags or shape.any_flags)}
        for may_be_flags, word in shape.operands:
            if (last, True) in states:
                return True
            after = set()
            for matched, flagged in states:
                if matched == last:
                    after.add((matched, flagged or may_be_flags))
                    continue
                path = self.paths[matched]
                if _word_matches(word, self.operands[matched], path):
                    after.add((matched + 1, flagged))
                if matched or path:  # later operands (and paths anywhere) may skip a word
                    after.add((matched, flagged))
                if may_be_flags:
                    after.add((matched, True))
            states = after
        return (last, True) in states


def rule_words(text: str) -> list[str]:
    """The words of a rule as the shell would split them (plain splitting if it cannot)."""
    try:
        tokens = lex(text)[0]
    except ShellSyntaxError:
        return text.split()
    if not all(isinstance(token, Word) for token in tokens):
        return text.split()
    return [token.text for token in tokens if isinstance(token, Word)]


def compile_rules(deny: Iterable[str]) -> list[DenyRule]:
    """The usable rules among the settings' ``deny`` strings, in order."""
    return [rule for rule in map(DenyRule.parse, deny) if rule is not None]


def first_match(call: Call, rules: Sequence[DenyRule]) -> Optional[DenyRule]:
    """The first rule that refuses ``call``, or None."""
    name = call.name
    if all(rule.name != name for rule in rules):
        return None  # the usual case, decided without looking at the arguments
    shape = shape_of(call)
    return next((rule for rule in rules if rule.matches(shape)), None)


def shape_of(call: Call) -> Shape:
    """The name, flags and operands of a call; options after ``--`` are operands."""
    raw_flags, operands = [], []
    any_flags = ended = False
    for word in call.words[1:]:
        text = word.text
        if ended:
            operands.append((False, word))
        elif word.literal == "--":
            ended = True
        elif word.dynamic and word.parts[0][0] == DYN:
            operands.append((True, word))
        elif text.startswith("-") and len(text) > 1:
            raw_flags.append(text)
            any_flags |= word.dynamic
        else:
            operands.append((False, word))
    name = call.name
    aliases = dict(_FLAG_ALIASES.get(name, {}))
    if operands and operands[0][1].literal is not None:
        aliases.update(_FLAG_ALIASES.get(f"{name} {operands[0][1].text}", {}))
    flags = frozenset(flag for text in raw_flags for flag in _flag_names(text, aliases))
    return Shape(name, flags, tuple(operands), any_flags)


def _flag_names(text: str, aliases: dict[str, str]) -> list[str]:
    if not text.startswith("--"):
        return [aliases.get("-" + letter, "-" + letter) for letter in text[1:]]
    name = text.partition("=")[0]
    if name in aliases:
        return [aliases[name]]
    meant = {alias for option, alias in aliases.items() if option.startswith(name)}
    return [meant.pop()] if len(name) > 2 and len(meant) == 1 else [name]  # GNU abbreviations


def _is_path(word: str) -> bool:
    return "/" in word or word in (".", "..") or word.startswith("~")


def _normal(path: str) -> str:
    return posixpath.normpath(re.sub("/+", "/", path)) if path else path


def _word_matches(word: Word, target: str, path: bool) -> bool:
    literal = word.literal
    if literal is not None:
        return (_normal(literal) if path else literal) == target
    pattern, directory = _pattern(word)
    if not path:
        return fnmatchcase(target, pattern)
    if not word.dynamic:  # a glob names existing files, one glob per path component
        return directory == target or _components_match(target, _normal_pattern(pattern))
    if ".." in word.text.split("/"):
        return True  # "$x/.." may be any directory at all
    if target.startswith("/") and not pattern.startswith(("/", "*")):
        return False  # "./$x" stays relative
    return fnmatchcase(target, _normal_pattern(pattern))


def _components_match(target: str, pattern: str) -> bool:
    names, globs = target.split("/"), pattern.split("/")
    return len(names) == len(globs) and all(map(fnmatchcase, names, globs))


@lru_cache(maxsize=512)
def _pattern(word: Word) -> tuple[str, str]:
    """A glob pattern for what the word may become, and the directory it is rooted in."""
    pieces, fixed, open_ = [], [], True
    for kind, text in word.parts:
        if kind == DYN or word.braced:
            pieces.append("*")
            open_ = False
        elif kind == LIT:
            pieces.append(text.translate(_GLOB_ESCAPES))
            if open_:
                fixed.append(text)
        else:
            pieces.append(text)
            active = re.search(r"[*?\[]", text)
            if open_:
                fixed.append(text[:active.start()] if active else text)
            open_ = open_ and not active
    head = "".join(fixed)
    directory = head[:head.rfind("/") + 1] if "/" in head else "."
    return re.sub(r"\*+", "*", "".join(pieces)), _normal(directory)


def _normal_pattern(pattern: str) -> str:
    kept = [part for part in pattern.split("/") if part not in ("", ".")]
    return "/" + "/".join(kept) if pattern.startswith("/") else "/".join(kept) or "."


_PLAIN_PREFIXES = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "time",
                             "sudo", "env", "nohup", "exec", "command", "builtin", "nice", "eval",
                             "timeout", "xargs", "doas", "setsid", "stdbuf"})


def plain_calls(command: str) -> Iterator[Call]:
    """Calls read from plain words, for naming a rule when the text cannot be parsed."""
    text = re.sub(r"\$\(|[;&|()<>\n`{}]", " ; ", command)
    segment: list[str] = []
    for word in [*(word.strip("'\"\\") for word in text.split()), ";"]:
        if word != ";":
            segment.append(word)
            continue
        dropped = False
        while segment:
            yield Call(tuple(word_of(word) for word in segment))
            first = segment[0]
            if first not in _PLAIN_PREFIXES and "=" not in first \
                    and not (dropped and first.startswith("-")):
                break
            segment, dropped = segment[1:], True
        segment = []
