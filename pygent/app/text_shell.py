"""Turn a fenced shell block into the command it asks to run, for models that answer in bash."""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Collection
from typing import Any, Callable, Optional

from .function_edit import python_tree

_PROMPT = "$ "


def shell_command(lang: str, body: str) -> str:
    """The command a ``bash``/``sh``/``shell``/``zsh``/``console`` block asks for; '' if none.

    In a ``console`` block the lines after a ``$ `` prompt are the commands (a line ending in
    a backslash carries on to the next) and the rest is output; a block with no prompt at all
    is taken whole. A block in another shell language has its prompts stripped only when every
    line wears one (or carries one on), since ``$ ls`` would not run.
    """
    lines = body.strip("\n").splitlines()
    if any(line.startswith(_PROMPT) for line in lines):
        commands = _prompted_lines(lines)
        filled = sum(1 for line in lines if line.strip())
        if lang.lower() == "console" or sum(1 for c in commands if c.strip()) == filled:
            return "\n".join(commands).strip()
    return body.strip()


def _prompted_lines(lines: list[str]) -> list[str]:
    """The command lines of a console transcript, prompts cut, output dropped."""
    commands: list[str] = []
    carrying = False
    for line in lines:
        if line.startswith(_PROMPT):
            commands.append(line[len(_PROMPT) :])
        elif carrying:
            commands.append(line)
        else:
            continue
        carrying = line.rstrip().endswith("\\")
    return commands


#: Tools small models invent for "run this command"; their one string argument is the command.
RUNNER_NAMES = frozenset({
    "run", "exec", "execute", "shell", "terminal", "command", "cmd", "sh", "run_command",
    "execute_command", "run_shell", "shell_command", "run_bash", "execute_bash", "bash_command",
})
#: Shell commands small models call as if they were tools: ``{"name": "cat", "arguments":
#: {"path": "a.py"}}`` means ``cat a.py``. Only ones that read or run what is already there.
COMMAND_NAMES = frozenset({"cat", "ls", "head", "tail", "wc", "python", "python3", "pytest"})


def shell_alias(name: str, arguments: object) -> str:
    """The shell command an invented tool call stands for, or '' when it is not one of those."""
    if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
        return ""
    values = [v for v in arguments.values() if v.strip()]
    lowered = name.lower()
    if lowered in RUNNER_NAMES:
        return values[0].strip() if len(values) == 1 else ""
    if lowered in COMMAND_NAMES:
        return " ".join([lowered, *(shlex.quote(v) for v in values)])
    return ""


#: The first line of Python written into a shell block: no shell has ``def``, ``class`` or
#: ``print(...)``, so such a block would only fail with a syntax error.
_PYTHON_LINE = re.compile(r"(?:def|class|async def)\s+\w+.*:\s*$|from\s+[\w.]+\s+import\s|"
                          r"print\(|if __name__\s*==")


def is_python_text(body: str) -> bool:
    """A shell block whose first line is plainly Python (``def f():``, ``print(...)``)."""
    first = next((line for line in body.splitlines() if line.strip()), "")
    return bool(_PYTHON_LINE.match(first.strip()))


def is_script_text(body: str) -> bool:
    """A shell block that opens with ``#!`` is a script's text written out, not a command."""
    return body.lstrip().startswith("#!")


def python_style_call(body: str, names: Collection[str],
                      order: Callable[[str], list[str]]) -> Optional[tuple[str, dict[str, Any]]]:
    """``write_file("a.txt", "hi")`` written in a shell block: the tool and its arguments.

    Only a block that is one call of a registered tool other than bash, with literal
    arguments; positional ones take the tool's parameters in ``order(name)``.
    """
    tree = python_tree(body.strip(), mode="eval")
    if not isinstance(tree, ast.Expression):
        return None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return None
    name = call.func.id
    if name not in names or name == "bash":
        return None
    try:
        given = [ast.literal_eval(arg) for arg in call.args]
        named = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except ValueError:
        return None
    params = order(name)
    if len(given) > len(params) or len(named) != len(call.keywords):
        return None
    arguments = dict(zip(params, given))
    if set(arguments) & set(named):
        return None
    return name, {**arguments, **named}


MAX_CALL_LINES = 400  # lines a call written as a command is looked for in: each try splits anew


def shell_style_call(body: str, names: Collection[str],
                     order: Callable[[str], list[str]]) -> Optional[tuple[str, dict[str, Any]]]:
    """``write_file a.sh 'text'`` written as a command in a shell block: the tool and its
    arguments, one word per parameter, in ``order(name)``.

    The call is the block's first command (its quotes may span lines); after it only a
    ``stop`` line may follow, which a model adds out of habit and the next reply can repeat.
    """
    first = body.lstrip().split(None, 1)[0] if body.strip() else ""
    if first not in names or first in ("bash", "stop"):
        return None
    text = body.strip()
    ends = [index for index, char in enumerate(text) if char == "\n"][:MAX_CALL_LINES]
    for end in [*ends, len(text)]:
        try:
            words = shlex.split(text[:end])
        except ValueError:
            continue  # a quote still open: the call goes on to a later line
        rest = text[end:].strip()
        params = order(first)
        if len(words) - 1 != len(params) or (rest and stop_words(rest) is None):
            return None
        return first, dict(zip(params, words[1:]))
    return None


def stop_words(command: str) -> Optional[str]:
    """``stop`` or ``stop "done"`` run as a shell command: the result it gives, else None.

    No shell has a ``stop`` command; a small model that writes one means the tool."""
    first, _, rest = command.strip().partition(" ")
    if first != "stop" or "\n" in command.strip():
        return None
    try:
        words = shlex.split(rest)
    except ValueError:
        words = [rest]
    return " ".join(words).strip()
