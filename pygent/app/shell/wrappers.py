"""Programs that run another command given as words: sudo, timeout, env, xargs, find -exec.

Each wrapper's own options and operands are skipped (``timeout -s KILL 5``, ``sudo -u root``)
so the command it runs is seen; words that ``xargs`` or ``find`` supply count as ARGUMENT.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Callable

from .launches import (
    ARGUMENT,
    Launch,
    Spec,
    is_assignment,
    joined,
    option_value,
    read_options,
    with_argument_pattern,
    with_arguments,
)
from .lexer import lex
from .words import Op, ShellSyntaxError, Word, word_of

Words = tuple[Word, ...]

WRAPPERS: dict[str, Spec] = {
    "command": Spec(), "builtin": Spec(), "exec": Spec("a"), "nohup": Spec(), "setsid": Spec(),
    "busybox": Spec(), "unbuffer": Spec(), "catchsegv": Spec(), "dbus-run-session": Spec(),
    "firejail": Spec(), "time": Spec("fo", ("--format", "--output")),
    "nice": Spec("n", ("--adjustment",)),
    "timeout": Spec("sk", ("--signal", "--kill-after"), 1),
    "sudo": Spec("ugpCDRrtTU", ("--user", "--group", "--host", "--prompt", "--close-from",
                                "--chdir", "--chroot", "--role", "--type", "--other-user",
                                "--command-timeout")),
    "doas": Spec("uC"), "stdbuf": Spec("ioe", ("--input", "--output", "--error")),
    "ionice": Spec("cnpPu", ("--class", "--classdata", "--pid", "--pgid", "--uid")),
    "taskset": Spec("", (), 1), "chrt": Spec("T", (), 1),
    "chroot": Spec("", ("--userspec", "--groups"), 1),
    "strace": Spec("abeEIoOpPsSuUX", ("--output", "--attach", "--user", "--string-limit")),
    "ltrace": Spec("aADeFlnopsuwx", ("--output",)), "unshare": Spec("SGRw"),
    "nsenter": Spec("tSG", ("--target",)), "fakeroot": Spec("lsib"),
    "xvfb-run": Spec("nsfepw"), "proxychains": Spec("f"), "proxychains4": Spec("f"),
    "torsocks": Spec("uapP"),
}
_ENV = Spec("uCS", ("--unset", "--chdir", "--split-string"))
_XARGS = Spec("adEILnPs", ("--arg-file", "--delimiter", "--max-args", "--max-procs",
                           "--max-chars", "--process-slot-var"))
_PARALLEL = Spec("jSaIdEnLNPs", ("--jobs", "--sshlogin", "--arg-file", "--delimiter", "--eof",
                                 "--max-args", "--max-lines", "--max-procs", "--colsep",
                                 "--results", "--joblog", "--tmpdir", "--workdir", "--timeout",
                                 "--retries", "--delay", "--env", "--tag-string"))
_FLOCK = Spec("wE", ("--timeout", "--wait", "--conflict-exit-code"), 1)
_WATCH = Spec("nq", ("--interval", "--equexit"))
_PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FD_EXEC = frozenset({"-x", "--exec", "-X", "--exec-batch"})


def wrapper(name: str, words: Words) -> Iterator[Launch]:
    """A wrapper from WRAPPERS: its options and operands, then the command it runs."""
    spec = WRAPPERS[name]
    index, found = read_options(words[1:], spec)
    if name in ("taskset", "chrt") and any(option == "-p" for option, _ in found):
        return  # acts on a running process
    rest = words[1 + index + spec.operands:]
    if rest:
        yield Launch(name, rest)


def env(name: str, words: Words) -> Iterator[Launch]:
    """``env [-i] [-u NAME] [-S 'text'] [NAME=value]... command``."""
    index, found = read_options(words[1:], _ENV)
    rest = list(words[1 + index:])
    while rest and (is_assignment(rest[0]) or rest[0].text == "-"):
        rest.pop(0)
    split = option_value(found, "-S", "--split-string")
    if split is not None:
        if split.dynamic:
            yield Launch(name, reason="env -S runs command text that is only known at run time")
            return
        try:
            tokens = lex(split.text)[0]
        except ShellSyntaxError as error:
            yield Launch(name, reason=f"its env -S text could not be parsed ({error})")
            return
        rest = [token if isinstance(token, Word) else word_of(token.text)
                for token in tokens if isinstance(token, (Word, Op))] + rest
    if rest:
        yield Launch(name, tuple(rest))


def xargs(name: str, words: Words) -> Iterator[Launch]:
    """``xargs [options] [command [args]]``: the words it reads count as ARGUMENT."""
    index, found = read_options(words[1:], _XARGS)
    replace = option_value(found, "-I")
    marker = replace.text if replace is not None else None
    for word in words[1:1 + index]:
        text = word.text
        if text.startswith(("-i", "--replace")):
            marker = (text.partition("=")[2] if text.startswith("--") else text[2:]) or "{}"
    rest = list(words[1 + index:]) or [word_of("echo")]
    if marker is None:
        yield Launch(name, (*rest, ARGUMENT))
    else:
        yield Launch(name, tuple(with_arguments(word, marker) for word in rest))


def parallel(name: str, words: Words) -> Iterator[Launch]:
    """GNU parallel: shell text with ``{}`` (or the inputs appended), or inputs that are text."""
    index, _ = read_options(words[1:], _PARALLEL)
    rest = list(words[1 + index:])
    end = next((i for i, word in enumerate(rest) if word.text.startswith(":::")), len(rest))
    command, inputs = rest[:end], rest[end + 1:]
    if command:
        if not any(_PLACEHOLDER.search(word.text) for word in command):
            command.append(ARGUMENT)
        code = joined([with_argument_pattern(word, _PLACEHOLDER) for word in command])
        yield Launch(name, code=code)
    elif end < len(rest) and rest[end].text in (":::", ":::+"):
        for word in inputs:
            if not word.text.startswith(":::"):
                yield Launch(name, code=word)
    else:
        yield Launch(name, stdin=True)


def find(name: str, words: Words) -> Iterator[Launch]:
    """``find ... -exec command {} ;`` (also -execdir, -ok, -okdir) and ``fd -x command``."""
    index = 1
    while index < len(words):
        text = words[index].text
        if text in _FIND_EXEC or (name == "fd" and text in _FD_EXEC):
            end = index + 1
            while end < len(words) and words[end].text not in (";", "+"):
                end += 1
            command = tuple(with_arguments(word, "{}") for word in words[index + 1:end])
            if command:
                yield Launch(name, command, wrapped=False, detached=True)
            index = end
        index += 1


def flock(name: str, words: Words) -> Iterator[Launch]:
    """``flock [options] FILE command`` or ``flock [options] FILE -c 'text'``."""
    index, _ = read_options(words[1:], _FLOCK)
    rest = words[2 + index:]
    if rest and rest[0].text in ("-c", "--command"):
        if len(rest) > 1:
            yield Launch("flock -c", code=rest[1])
    elif rest:
        yield Launch(name, rest)


def watch(name: str, words: Words) -> Iterator[Launch]:
    """``watch [options] command``: its words are joined and run by ``sh -c`` (unless -x)."""
    index, found = read_options(words[1:], _WATCH)
    rest = words[1 + index:]
    if any(option in ("-x", "--exec") for option, _ in found):
        yield Launch(name, rest)
    elif rest:
        yield Launch(name, code=joined(rest))


Launcher = Callable[[str, Words], Iterator[Launch]]
WRAPPER_PROGRAMS: dict[str, Launcher] = {
    **{name: wrapper for name in WRAPPERS},
    "env": env, "xargs": xargs, "parallel": parallel, "find": find, "fd": find,
    "flock": flock, "watch": watch,
}
