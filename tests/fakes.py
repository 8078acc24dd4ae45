"""Test doubles that honour the real ports: a scripted model and an in-memory sandbox."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional, Union

from pygent.adapters.sandbox.paths import WorkspaceFiles
from pygent.adapters.sandbox.shell import SandboxFiles
from pygent.domain.errors import ModelError, SandboxError
from pygent.domain.messages import Message, ToolCall, ToolCallFunction
from pygent.domain.sandbox import CommandResult

Reply = Union[Message, dict, Exception]


def call(name: str, arguments: Any = None, call_id: Optional[str] = None) -> ToolCall:
    """A tool call; dict arguments are JSON-encoded, strings are sent as they are."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(id=call_id or f"call_{name}_{id(raw)}", function=ToolCallFunction(name, raw))


def calls(*tool_calls: ToolCall, content: Optional[str] = None) -> Message:
    """An assistant message making these tool calls."""
    return Message(role="assistant", content=content, tool_calls=list(tool_calls))


def say(text: str) -> Message:
    """An assistant message with text only."""
    return Message(role="assistant", content=text)


class FakeModel:
    """Replies from a script, in order; records every request. An Exception reply is raised.

    ``usage`` scripts the token counts each reply reports as ``last_usage``, as
    ``(prompt, completion)`` pairs (None: no usage); once used up, replies report none.
    """

    def __init__(self, replies: Iterable[Reply] = (), default: Optional[Reply] = None,
                 usage: Iterable[Optional[tuple[int, int]]] = ()) -> None:
        self.replies = list(replies)
        self.default = default
        self.usage = list(usage)
        self.requests: list[dict[str, Any]] = []
        self.last_usage: Optional[dict[str, int]] = None

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]) -> Any:
        self.requests.append(
            {"messages": [dict(m) for m in messages], "model": model, "tools": tools}
        )
        counts = self.usage.pop(0) if self.usage else None
        self.last_usage = None if counts is None else {
            "prompt_tokens": counts[0], "completion_tokens": counts[1],
            "total_tokens": counts[0] + counts[1]}
        reply = self.replies.pop(0) if self.replies else self.default
        if reply is None:
            return say("done")
        if isinstance(reply, Exception):
            raise reply
        return reply



class SamplingModel(FakeModel):
    """A scripted model that, like the OpenAI adapter, takes a temperature per request."""

    def __init__(self, replies: Iterable[Reply] = ()) -> None:
        super().__init__(replies)
        self.temperatures: list[Optional[float]] = []

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]],
             temperature: Optional[float] = None) -> Any:
        self.temperatures.append(temperature)
        return super().chat(messages, model, tools)

class CrowdModel:
    """Replies after ``seconds``, counting the requests in flight and the most ever at once
    (``peak``); with ``fail``, each request ends in a ModelError instead."""

    def __init__(self, seconds: float = 0.05, reply: Optional[Message] = None,
                 fail: bool = False) -> None:
        self.seconds, self.reply, self.fail = seconds, reply, fail
        self.now = self.peak = self.calls = 0
        self.lock = threading.Lock()
        self.last_usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]) -> Any:
        with self.lock:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.seconds)
        with self.lock:
            self.now -= 1
        if self.fail:
            raise ModelError("the server said no")
        return self.reply or say("done")


class FakeSandbox(SandboxFiles):
    """A sandbox with no processes (``echo``, ``cat``, ``exit`` understood); the real sandboxes'
    file operations, so the file part of the contract suite holds for it too."""

    kind = "fake"

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._files = WorkspaceFiles(workspace)
        self.commands: list[str] = []
        self.closed = False

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        if self.closed:
            raise SandboxError("closed")
        self.commands.append(command)
        word, _, rest = command.partition(" ")
        if word == "echo":
            return CommandResult(rest + "\n")
        if word == "cat":
            return CommandResult(self.read_file(rest))
        if word == "exit":
            return CommandResult("", int(rest or 0))
        return CommandResult(f"ran {command}\n")

    def interrupt(self) -> None:
        self.interrupts = getattr(self, "interrupts", 0) + 1

    def close(self) -> None:
        self.closed = True
