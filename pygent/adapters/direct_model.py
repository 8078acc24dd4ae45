"""The offline model: each line you type becomes one tool call, no network needed.

``write_file path="a.txt" content="hi"`` calls ``write_file`` (when it is registered);
any other line is run as a ``bash`` command.
"""

from __future__ import annotations

import itertools
import json
import shlex
from typing import Any, Optional

from ..domain.messages import Message, ToolCall, ToolCallFunction

_ids = itertools.count(1)

HELP = (
    "I am the offline direct model: type a shell command to run it, or a tool call like "
    'write_file path="hello.txt" content="hi". Set OPENAI_API_KEY to talk to a real model.'
)


def parse_tool_line(line: str, tool_names: set[str]) -> Optional[tuple[str, dict[str, str]]]:
    """Parse ``name key="value" ...`` into a call when ``name`` is a tool; else None."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError:
        return None
    if not words or words[0] not in tool_names:
        return None
    arguments: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not key.isidentifier():
            return None
        arguments[key] = value
    return words[0], arguments


def _names(tools: list[dict[str, Any]]) -> set[str]:
    return {t.get("function", {}).get("name", "") for t in tools or []}


class DirectModel:
    """Turns the last user message into tool calls, one per reply, then stops.

    A line that names a registered tool (``write_file path="a" content="b"``) is that call;
    the other lines run as one ``bash`` script, so a pasted heredoc stays whole. A delegated
    task's prompt can so hold one call per line, run in order.
    """

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        """Reply to the conversation so far: the next call of the message, or stop."""
        names = _names(tools)
        asked = _last_user(messages)
        if asked is None:
            return Message(role="assistant", content="")
        index, text = asked
        done = sum(1 for m in messages[index + 1:] if m.get("role") == "tool")
        if not text.strip():
            return Message(role="assistant", content=HELP)
        actions = split_actions(text, names)
        if done < len(actions):
            return _reply(actions[done], names)
        if "stop" in names:  # every line is done: stop, or an unattended run would go on
            return _call("stop", {})
        return Message(role="assistant", content="")


def _last_user(messages: list[dict[str, Any]]) -> Optional[tuple[int, str]]:
    """Where the newest user message is and its text; None when the model spoke last."""
    for index in range(len(messages) - 1, -1, -1):
        role = messages[index].get("role")
        if role == "user":
            return index, str(messages[index].get("content") or "")
        if role == "assistant" and not messages[index].get("tool_calls"):
            return None  # answered in words already
    return None


def split_actions(text: str, names: set[str]) -> list[str]:
    """Lines naming a tool, each alone (with the lines its open quote spans); the lines
    between joined as one shell script."""
    actions: list[str] = []
    script: list[str] = []
    call: Optional[list[str]] = None  # a tool line whose quote is still open
    for line in text.strip().split("\n"):
        if call is not None:
            call.append(line)
            if not quote_open(call):
                actions.append("\n".join(call).strip())
                call = None
            continue
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first in names and first != "bash" and not quote_open(script):
            if any(part.strip() for part in script):
                actions.append("\n".join(script).strip())
            script = []
            if quote_open([line]):
                call = [line]
            else:
                actions.append(line.strip())
        else:
            script.append(line)
    if call is not None:  # never closed: said back as a call that could not be read
        actions.append("\n".join(call).strip())
    if any(part.strip() for part in script):
        actions.append("\n".join(script).strip())
    return actions


def quote_open(lines: list[str]) -> bool:
    """True inside an unclosed quote, where a line break is part of a value."""
    try:
        shlex.split("\n".join(lines), comments=True)
    except ValueError:
        return True
    return False


def _reply(line: str, names: set[str]) -> Message:
    """The call one action stands for, or a message saying why there is none."""
    first = line.split(maxsplit=1)[0]
    one_call = "\n" not in line or (first in names and first != "bash")
    parsed = parse_tool_line(line, names) if one_call else None
    if parsed is None:
        if first in names and first != "bash" and "=" in line:
            return Message(
                role="assistant",
                content=f"Could not parse that {first} call; "
                f'write it as {first} key="value" ...',
            )
        if "bash" not in names:
            return Message(
                role="assistant",
                content=f"The bash tool is not registered; "
                f"available tools: {sorted(n for n in names if n)}.",
            )
        parsed = ("bash", {"cmd": line})
    return _call(*parsed)


def _call(name: str, arguments: dict[str, str]) -> Message:
    call = ToolCall(id=f"direct_{next(_ids)}",
                    function=ToolCallFunction(name=name, arguments=json.dumps(arguments)))
    return Message(role="assistant", content="", tool_calls=[call])
