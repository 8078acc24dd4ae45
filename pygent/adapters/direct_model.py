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
    """Turns the last user line into a tool call; after a tool result, the line is done."""

    def chat(
        self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]
    ) -> Message:
        """Reply to the conversation so far."""
        last = messages[-1] if messages else {}
        if last.get("role") == "tool" and "stop" in _names(tools):  # the line is done: stop,
            call = ToolCall(id=f"direct_{next(_ids)}",  # or an unattended run would go on
                            function=ToolCallFunction("stop", "{}"))
            return Message(role="assistant", content="", tool_calls=[call])
        if last.get("role") != "user":
            return Message(role="assistant", content="")
        line = str(last.get("content") or "").strip()
        if not line:
            return Message(role="assistant", content=HELP)
        names = _names(tools)
        parsed = parse_tool_line(line, names)
        if parsed is None:
            first = line.split(maxsplit=1)[0]
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
        name, arguments = parsed
        call = ToolCall(
            id=f"direct_{next(_ids)}",
            function=ToolCallFunction(name=name, arguments=json.dumps(arguments)),
        )
        return Message(role="assistant", content="", tool_calls=[call])
