"""Which tool calls may run: deny rules from the settings, then the person's confirmation.

Deny rules are command prefixes matched word by word on the shell-parsed command, in every
segment of ``a && b``, ``a; b``, ``a | b``, ``$(...)`` and ``bash -c '...'``. They are a
safety net against a model's mistakes, not a security boundary: the sandbox is that.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

#: Asks the person whether a command may run; True means yes.
ConfirmAsk = Callable[[str], bool]

GUARDED_TOOL = "bash"
_OPERATOR_CHARS = set("();<>|&\n")
_WRAPPERS = {"sudo", "command", "exec", "nohup", "time", "nice", "env", "builtin", "doas"}
_SHELLS = {"bash", "sh", "dash", "zsh", "ksh"}
_MAX_DEPTH = 4

DECLINED = "Refused: the user declined to run this command. Ask them, or try something else."


def parse_rule(rule: str) -> list[str]:
    """The words of one deny rule (``"git push"`` -> ``["git", "push"]``)."""
    try:
        return shlex.split(rule)
    except ValueError:
        return rule.split()


def command_segments(command: str, depth: int = 0) -> Iterator[list[str]]:
    """Every simple command in ``command`` as its words (also without wrappers like ``sudo``)."""
    words: list[str] = []
    for token in _tokens(command.replace("`", " ; ")):
        if token and set(token) <= _OPERATOR_CHARS or token == "$":
            if words:
                yield from _expand(words, depth)
            words = []
            continue
        if "$(" in token and depth < _MAX_DEPTH:
            yield from command_segments(token.replace("$(", " ; ").replace(")", " ; "), depth + 1)
        words.append(token)
    if words:
        yield from _expand(words, depth)


def _tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: match on plain words rather than give up
        return command.replace(";", " ; ").replace("|", " | ").replace("&", " & ").split()


def _expand(words: list[str], depth: int) -> Iterator[list[str]]:
    bare = _strip_wrappers(words)
    if bare != words:  # rules may name the wrapper too ("sudo rm")
        yield words
    words = bare
    if not words:
        return
    yield words
    if depth >= _MAX_DEPTH:
        return
    name = os.path.basename(words[0])
    if name in _SHELLS and "-c" in words[1:-1]:
        yield from command_segments(words[words.index("-c", 1) + 1], depth + 1)
    elif name == "eval" and len(words) > 1:
        yield from command_segments(" ".join(words[1:]), depth + 1)


def _strip_wrappers(words: list[str]) -> list[str]:
    index = 0
    while index < len(words):
        word = words[index]
        if _is_assignment(word):
            index += 1
        elif os.path.basename(word) in _WRAPPERS:
            index += 1
            while index < len(words) and (words[index].startswith("-")
                                          or _is_assignment(words[index])):
                index += 1
        else:
            break
    return words[index:]


def _is_assignment(word: str) -> bool:
    name, sep, _ = word.partition("=")
    return bool(sep) and name.isidentifier()


def matching_rule(command: str, deny: Iterable[str]) -> Optional[str]:
    """The first deny rule that matches some segment of ``command``, or None."""
    rules = [(rule, parse_rule(rule)) for rule in deny]
    rules = [(rule, words) for rule, words in rules if words]
    if not rules:
        return None
    for segment in command_segments(command):
        first = {segment[0], os.path.basename(segment[0])}
        for rule, words in rules:
            if words[0] in first and segment[1:len(words)] == words[1:]:
                return rule
    return None


def denial(rule: str) -> str:
    """What the model (or the person) is told when a deny rule refuses a command."""
    return (f"Refused: this command matches the deny rule {rule!r} in the settings and was not "
            "run. Do not try to get around the rule; ask the user instead.")


class Approval:
    """A ToolGuard for ``Agent(guard=...)``: deny rules always, confirmation when switched on."""

    def __init__(
        self,
        deny: Iterable[str] = (),
        *,
        confirm: bool = False,
        ask: Optional[ConfirmAsk] = None,
    ) -> None:
        self.deny = list(deny)
        self.confirm = confirm
        self.ask = ask

    def check_command(self, command: str) -> Optional[str]:
        """The refusal for a shell command under the deny rules, or None when it may run."""
        rule = matching_rule(command, self.deny)
        return denial(rule) if rule is not None else None

    def __call__(self, name: str, arguments: dict[str, Any]) -> Optional[str]:
        """None to let the tool call run, else the refusal the model sees as the tool result."""
        if name != GUARDED_TOOL:
            return None
        command = str(arguments.get("cmd", ""))
        refusal = self.check_command(command)
        if refusal is not None or not self.confirm:
            return refusal
        if self.ask is None:
            return "Refused: confirmation is switched on but there is no one to ask."
        return None if self.ask(command) else DECLINED
