"""Programs that run shell text: sh -c, eval, alias, trap, su -c, script -c, source, and git.

Git is here for what it runs itself: ``-c alias.x=...`` aliases, ``submodule foreach``,
``rebase --exec`` and ``bisect run``; its global options (``-C dir``) are dropped so a rule
sees ``git push`` in ``git -C . push``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

from .launches import ARGUMENT, Launch, Spec, joined, option_value, read_options
from .lexer import lex
from .words import ShellSyntaxError, Word, word_of

Words = tuple[Word, ...]

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "oksh", "pdksh", "ash",
                    "yash", "posh", "rbash", "fish"})
_STDIN_PATHS = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-"})
_SHELL_VALUES = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_SU = Spec("csgGwu", ("--command", "--session-command", "--shell", "--group", "--supp-group",
                      "--whitelist-environment", "--user"))
_SCRIPT = Spec("cEIOBTmo", ("--command", "--echo", "--log-in", "--log-out", "--log-io",
                            "--log-timing", "--logging-format", "--output-limit"))
_GIT_VALUES = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env",
                         "--super-prefix", "--attr-source"})


def shell(name: str, words: Words) -> Iterator[Launch]:
    """``sh -c 'text'``, ``sh script``, or ``sh`` reading its commands from stdin."""
    index, command, reads_stdin = 1, False, False
    while index < len(words):
        text = words[index].literal
        if not text or text[0] not in "-+" or text in ("-", "+"):
            break
        index += 1
        if text == "--":
            break
        if text in _SHELL_VALUES:
            index += 1
        elif not text.startswith("--"):
            command |= text[0] == "-" and "c" in text
            reads_stdin |= "s" in text
    operands = words[index:]
    if command:
        if operands:
            yield Launch(f"{name} -c", code=operands[0])
    elif operands and not reads_stdin:
        yield from script_file(name, operands[0])
    else:
        yield Launch(name, stdin=True)


def script_file(name: str, script: Word) -> Iterator[Launch]:
    """A script named by a path is not read (it may not exist yet); stdin and ``<(...)`` are."""
    if script.text in _STDIN_PATHS:
        yield Launch(name, stdin=True)
    elif script.text.startswith(("<(", ">(")):
        yield Launch(name, reason=f"{name} runs the output of another command as a script")


def source(name: str, words: Words) -> Iterator[Launch]:
    """``source FILE`` and ``. FILE``."""
    if len(words) > 1:
        yield from script_file(name, words[1])


def eval_(name: str, words: Words) -> Iterator[Launch]:
    """``eval words...``: the words joined by spaces are run as shell text."""
    args = words[1:]
    if args and args[0].text == "--":
        args = args[1:]
    if args:
        yield Launch(name, code=joined(args))


def alias(name: str, words: Words) -> Iterator[Launch]:
    """``alias name='text'``: the text runs later, with whatever words follow the alias."""
    for word in words[1:]:
        if word.dynamic:
            yield Launch(name, reason="alias defines a command that is only known at run time")
            continue
        value = word.text.partition("=")[2].rstrip()
        if value and value[-1] not in ";&|":
            value += ' "$@"'
        yield Launch(name, code=word_of(value))


def trap(name: str, words: Words) -> Iterator[Launch]:
    """``trap 'text' SIGNAL...``."""
    args = [word for word in words[1:] if word.text != "--"]
    if len(args) >= 2 and not args[0].text.startswith("-"):
        yield Launch(name, code=args[0])


def su(name: str, words: Words) -> Iterator[Launch]:
    """``su``, ``runuser`` and ``script``: options anywhere, the command text in ``-c``."""
    spec = _SCRIPT if name == "script" else _SU
    args, index, found = words[1:], 0, []
    while index < len(args):
        end, options = read_options(args[index:], spec)
        found += options
        ended = end > 0 and args[index + end - 1].text == "--"
        index += max(end, 1)
        if ended:
            break
    code = option_value(found, "-c", "--command", "--session-command")
    if code is not None:
        yield Launch(f"{name} -c", code=code)
    elif name == "runuser" and option_value(found, "-u", "--user") and args[index:]:
        yield Launch(name, args[index:])


def git(name: str, words: Words) -> Iterator[Launch]:
    """Git without its global options, with ``-c alias.x=...`` aliases resolved."""
    index, aliases, unknown_alias = 1, {}, False
    while index < len(words):
        text = words[index].literal
        if text is None or not text.startswith("-"):
            break
        index += 1
        if text in _GIT_VALUES and index < len(words):
            value = words[index]
            index += 1
            key, _, setting = value.text.partition("=")
            unknown_alias |= text == "-c" and value.dynamic
            if text == "-c" and key.lower().startswith("alias."):
                aliases[key[6:].lower()] = setting
    rest = list(words[index:])
    if not rest:
        return
    alias = aliases.get(rest[0].text.lower()) if rest[0].literal is not None else None
    if alias is not None and alias.startswith("!"):
        yield Launch("a git alias", code=word_of(alias[1:] + ' "$@"'))
    elif alias is not None:
        try:
            expansion = [token for token in lex(alias)[0] if isinstance(token, Word)]
        except ShellSyntaxError as error:
            yield Launch(name, reason=f"its git alias could not be parsed ({error})")
            return
        yield Launch(name, (words[0], *expansion, *rest[1:]), wrapped=False)
    elif index > 1 or unknown_alias:
        yield Launch(name, (words[0], ARGUMENT if unknown_alias else rest[0], *rest[1:]),
                     wrapped=False)
    else:
        yield from _git_runs(words)


def _git_runs(words: Words) -> Iterator[Launch]:
    """Commands git runs itself: ``submodule foreach``, ``rebase --exec``, ``bisect run``."""
    texts = [word.text for word in words]
    sub = texts[1] if len(texts) > 1 else ""
    if sub == "submodule" and "foreach" in texts:
        rest = words[texts.index("foreach") + 1:]
        while rest and rest[0].text.startswith("-"):
            rest = rest[1:]
        if rest:
            yield Launch("git submodule foreach", code=joined(rest))
    elif sub == "bisect" and texts[2:3] == ["run"] and len(words) > 3:
        yield Launch("git bisect run", words[3:], wrapped=False)
    elif sub == "rebase":
        for index, text in enumerate(texts):
            if text in ("-x", "--exec") and index + 1 < len(texts):
                yield Launch("git rebase --exec", code=words[index + 1])
            elif text.startswith("--exec="):
                yield Launch("git rebase --exec", code=word_of(text[len("--exec="):]))


Launcher = Callable[[str, Words], Iterator[Launch]]
SCRIPT_PROGRAMS: dict[str, Launcher] = {
    **{name: shell for name in SHELLS},
    "source": source, ".": source, "eval": eval_, "alias": alias, "trap": trap,
    "su": su, "runuser": su, "script": su, "git": git,
}
