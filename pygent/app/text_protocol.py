"""What the loop says to a model that acts in text, and the wire form of the text protocol.

The text protocol is for models that do not do tool calls well: no tool schemas are sent,
the system prompt describes the tools and asks for one fenced action per reply, and tool
results go back as user turns. The conversation itself keeps its tool calls and tool
messages either way, so a history or a protocol switch loses nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..domain.tools import ToolSpec

TEXT = "text"
SHELL_TOOL = "bash"
STOP_TOOL = "stop"
WRITE_TOOL = "write_file"

#: How to work, said to every model: small ones otherwise guess file contents and stop early.
#: (A line more, "never count, add up or sort by hand: a command does it", changed the 1.5B
#: model's path through tasks it had solved: it ran sed on palette.py, not the .md files.)
WORKFLOW = ("Work in steps: look at the files first (ls, cat) and never guess what they hold; "
            "make the change; check it (run the program or the test, or print the file).")

#: What a command that printed nothing says, so a small model does not read it as failure.
NO_OUTPUT = "(no output, exit status 0)"

_FAILED = re.compile(r"\[(?:exit status -?\d+|command timed out and was killed)\]\s*$")


def text_tools_prompt(tools: Sequence[ToolSpec]) -> list[str]:
    """System prompt lines that teach the text protocol for exactly these tools."""
    names = [t.name for t in tools]
    lines = ["You work in the workspace, the current directory. Nobody answers questions: act. "
             "Each reply: one short thought, then exactly ONE action in a fenced block. You "
             "see its result before your next reply."]
    if SHELL_TOOL in names:
        lines.append("Run a shell command:\n```bash\ncat notes.txt\n```")
    if WRITE_TOOL in names:
        lines.append("Write a whole file: its path alone on a line, then all its text in a "
                     "fenced block:\nhello.py\n```python\nprint(\"hello\")\n```")
    others = [t for t in tools if t.name not in (SHELL_TOOL, STOP_TOOL, WRITE_TOOL)]
    if others:
        lines.append("Use a tool with a JSON block:\n```json\n"
                     '{"name": "TOOL", "arguments": {...}}\n```\nTools:')
        lines.extend(f"- {t.name}({_argument_list(t)}): {t.description}" for t in others)
    lines.append(WORKFLOW)
    if STOP_TOOL in names:  # JSON: shown as a bash command, the 0.5B model stopped at once
        stop = '```json\n{"name": "stop", "arguments": {"result": "what you did"}}\n```'
        lines.append(f"When the check shows the task is done, reply with:\n{stop}")
    return lines


#: A short solved task, sent as real turns before the conversation: shown the same steps as
#: prose in the system prompt, Qwen2.5-Coder-1.5B wrote made-up results after its action.
EXAMPLES = (
    ("Example task (done already; its files are not in your workspace): python3 double.py 4 "
     "should print 8 but prints 44. Fix double.py.", (
         "I look at the file first.\n```bash\ncat double.py\n```",
         "Result of bash:\nimport sys\nprint(sys.argv[1] * 2)",
         "The argument is text, so * 2 repeats it. I write the whole file again, with int().\n"
         "double.py\n```python\nimport sys\nprint(int(sys.argv[1]) * 2)\n```",
         "Result of write_file:\nWrote 39 bytes to double.py",
         "Now I run the check the task names.\n```bash\npython3 double.py 4\n```",
         "Result of bash:\n8",
         '```json\n{"name": "stop", "arguments": {"result": "double.py now turns its argument '
         'into a number: python3 double.py 4 prints 8"}}\n```',
     )),
)
REAL_TASK = "Now your task, in your workspace:\n"


def with_example(wire: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """The wire with the example tasks after the system prompt, when their tools are all here."""
    if not {SHELL_TOOL, WRITE_TOOL, STOP_TOOL} <= set(names):
        return wire
    at = 1 if wire and wire[0].get("role") == "system" else 0
    if at >= len(wire) or wire[at].get("role") != "user":
        return wire
    turns: list[dict[str, Any]] = []
    for task, replies in EXAMPLES:
        turns.append({"role": "user", "content": task})
        turns += [{"role": "assistant" if i % 2 == 0 else "user", "content": text}
                  for i, text in enumerate(replies)]
    first = {**wire[at], "content": REAL_TASK + str(wire[at].get("content") or "")}
    return [*wire[:at], *turns, first, *wire[at + 1:]]


def _argument_list(tool: ToolSpec) -> str:
    properties = tool.parameters.get("properties")
    if not isinstance(properties, dict):
        return ""
    required = set(tool.parameters.get("required") or ())
    return ", ".join(name if name in required else f"{name}?" for name in properties)


def to_text_wire(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as plain turns: calls stay in the assistant's words, results are user
    turns, and neighbouring user turns are merged (some chat templates need alternation)."""
    wire: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> tool name: the wire form of a tool message has none
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            content = message.get("content") or _calls_as_text(message["tool_calls"])
            wire.append({"role": "assistant", "content": content})
            names.update((str(c.get("id")), str((c.get("function") or {}).get("name")))
                         for c in message["tool_calls"])
        elif role == "tool":
            name = names.get(message.get("tool_call_id") or "") or "the tool"
            output = str(message.get("content") or "").strip() or (
                NO_OUTPUT if name == SHELL_TOOL else "(no output)")
            wire.append({"role": "user", "content": f"Result of {name}:\n{output}"})
        else:
            wire.append({key: value for key, value in message.items() if key != "tool_calls"})
    return merge_user_turns(wire)


def _calls_as_text(calls: list[dict[str, Any]]) -> str:
    """A call recorded without its words (a native reply, a resumed log), written as text."""
    blocks = []
    for call in calls:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = {}
        if function.get("name") == SHELL_TOOL and isinstance(arguments, dict) \
                and isinstance(arguments.get("cmd"), str):
            blocks.append(f"```bash\n{arguments['cmd']}\n```")
        else:
            body = json.dumps({"name": function.get("name"), "arguments": arguments})
            blocks.append(f"```json\n{body}\n```")
    return "\n".join(blocks)


def merge_user_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join user messages that follow each other into one (a note from the loop, then text)."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and message.get("role") == "user" and merged[-1].get("role") == "user" \
                and set(message) <= {"role", "content"} and set(merged[-1]) <= {"role", "content"}:
            text = f"{merged[-1].get('content') or ''}\n\n{message.get('content') or ''}"
            merged[-1] = {"role": "user", "content": text.strip()}
        else:
            merged.append(message)
    return merged


def nudge(protocol: str, names: Sequence[str]) -> str:
    """The user turn that answers a text-only reply in an unattended run."""
    done = ' If the task is done, call stop with the result.' if STOP_TOOL in names else ""
    if protocol == TEXT:
        act = ("reply with exactly one ```bash block to run next" if SHELL_TOOL in names
               else "reply with exactly one ```json tool call")
        return f"No action found in your reply. Nobody will answer questions here: {act}.{done}"
    return (f"You replied without calling a tool. Nobody will answer questions here: "
            f"act now with a tool call ({', '.join(names)}).{done}")


#: How the problems with a fenced block as a file start: they are about saving a file, and
#: the tool list added to them, Qwen2.5-Coder-1.5B ran ``write_file sorted.txt`` in bash.
_BLOCK_PROBLEMS = ("the ```", "the block under ")


def problems_note(problems: Sequence[str], names: Sequence[str]) -> str:
    """The user turn that says why tool calls written as text could not be run."""
    listed = "; ".join(problems)
    if all(problem.startswith(_BLOCK_PROBLEMS) for problem in problems):
        return f"Nothing was run: {listed}."
    tools = "" if "available tools" in listed else f" Available tools: {', '.join(names)}."
    return f"Your tool call could not be run: {listed}.{tools} Write the call again, correctly."


def failed(output: str, is_error: bool) -> bool:
    """True when a tool result reports a failure: an error, a non-zero exit, a timeout."""
    return is_error or bool(_FAILED.search(output))

