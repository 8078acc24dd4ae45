"""Turn a fenced shell block into the command it asks to run, for models that answer in bash."""

from __future__ import annotations

import shlex

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
