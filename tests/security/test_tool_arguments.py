"""Deeply nested or huge tool arguments are an error the model hears about, never a crash,
and a call left unanswered is labelled with what really happened (issue 11, item 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pygent.adapters.openai_model import OpenAIModel
from pygent.app.agent import AgentLoop
from pygent.app.approval import Approval
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.errors import ModelError
from pygent.domain.events import Event, ToolCallStarted
from pygent.domain.messages import Message, ToolCall, ToolCallFunction
from pygent.runtime import Runtime
from tests.chat_server import ChatServer, Reply, tool_call
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

ROOT = Path(__file__).resolve().parents[2]
DEPTH = 50_000
DEEP = '{"cmd": ' + "[" * DEPTH + "]" * DEPTH + "}"
DEEP_OBJECT = '{"a": ' * DEPTH + "1" + "}" * DEPTH


def make_agent(model: Any, workspace: Path, **kwargs: Any) -> tuple[AgentLoop, FakeSandbox]:
    sandbox = FakeSandbox(workspace)
    agent = AgentLoop(model, Runtime(sandbox=sandbox), tools=ToolRegistry(builtin_tools()),
                      **kwargs)
    return agent, sandbox


def tool_results(agent: AgentLoop) -> list[str]:
    return [m.content or "" for m in agent.conversation if m.role == "tool"]


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT], ids=["lists", "objects"])
def test_arguments_nested_50000_deep_are_an_error_the_model_is_told(
    workspace: Path, raw: str
) -> None:
    model = FakeModel([calls(call("bash", raw, "deep")), say("understood")])
    agent, sandbox = make_agent(model, workspace)
    result = agent.run_until_stop("go", unattended=False)
    assert (result.reason, result.text) == ("answer", "understood")
    assert sandbox.commands == []
    told = model.requests[1]["messages"][-1]
    assert told["role"] == "tool" and "nested too deeply" in told["content"]
    assert "Interrupted" not in told["content"]


def test_arguments_over_the_size_limit_are_an_error_that_names_the_limit(
    workspace: Path
) -> None:
    raw = json.dumps({"path": "big.txt", "content": "x" * (9 * 1024 * 1024)})
    model = FakeModel([calls(call("write_file", raw)), say("ok")])
    agent, _ = make_agent(model, workspace)
    agent.run_until_stop("go")
    told = tool_results(agent)[0]
    assert f"arguments too large ({len(raw)} bytes; the limit is {8 * 1024 * 1024})" in told
    assert not (workspace / "big.txt").exists()


def test_a_command_that_is_not_a_string_is_refused_before_anyone_is_asked(
    workspace: Path
) -> None:
    asked: list[str] = []
    approval = Approval(confirm=True, ask=lambda command: asked.append(command) or True)
    model = FakeModel([calls(call("bash", {"cmd": ["touch", "pwned"]})), say("ok")])
    agent, sandbox = make_agent(model, workspace, guard=approval)
    agent.run_until_stop("go")
    assert asked == [] and sandbox.commands == []
    assert "cmd is list" in tool_results(agent)[0]


def test_a_guard_that_fails_refuses_the_call_instead_of_ending_the_run(workspace: Path) -> None:
    def broken_guard(name: str, arguments: dict[str, Any]) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    model = FakeModel([calls(call("bash", {"cmd": "echo hi"})), say("ok")])
    agent, sandbox = make_agent(model, workspace, guard=broken_guard)
    assert agent.run_until_stop("go", unattended=False).text == "ok"
    assert sandbox.commands == []
    assert tool_results(agent)[0].startswith("Refused: the approval check failed")


def test_a_failure_that_is_not_an_interrupt_is_not_blamed_on_the_user(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo a"}, "1"), call("stop", {}, "2"))])
    agent, _ = make_agent(model, workspace)

    def broken_listener(event: Event) -> None:
        if isinstance(event, ToolCallStarted):
            raise RuntimeError("the screen broke")

    agent.subscribe(broken_listener)
    with pytest.raises(RuntimeError):
        agent.step("go")
    answers = tool_results(agent)
    assert len(answers) == 2
    for answer in answers:
        assert "Interrupted by the user" not in answer
        assert "RuntimeError: the screen broke" in answer


def test_ctrl_c_is_still_labelled_as_the_users_interrupt(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo a"}, "1"))])
    agent, _ = make_agent(model, workspace)

    def ctrl_c(event: Event) -> None:
        if isinstance(event, ToolCallStarted):
            raise KeyboardInterrupt

    agent.subscribe(ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        agent.step("go")
    assert tool_results(agent) == ["Interrupted by the user before this tool finished."]


def test_a_custom_model_replying_with_deeply_nested_arguments_is_a_model_error(
    workspace: Path
) -> None:
    deep: Any = {}
    for _ in range(DEPTH):
        deep = {"a": deep}
    reply = Message(role="assistant", tool_calls=[
        ToolCall("c1", function=ToolCallFunction("bash", deep))])  # type: ignore[arg-type]
    agent, _ = make_agent(FakeModel([reply, say("back")]), workspace)
    with pytest.raises(ModelError, match="nested too deeply"):
        agent.step("go")
    assert agent.step("again").content == "back"


DEEP_BODY = ('{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": '
             '[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", '
             '"content": ' + "[" * DEPTH + "]" * DEPTH + "}}]}")
DEEP_CHUNK = ('{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", '
              '"choices": [{"index": 0, "delta": {"content": ' + "[" * DEPTH + "]" * DEPTH +
              "}}]}")


@pytest.mark.parametrize(("stream", "reply"), [
    (False, Reply(DEEP_BODY, headers={"Content-Type": "application/json"})),
    (True, Reply(DEEP_BODY, headers={"Content-Type": "application/json"})),
    (True, Reply(None, chunks=[DEEP_CHUNK])),
], ids=["whole body", "body instead of a stream", "stream chunk"])
def test_a_deeply_nested_response_body_is_a_model_error(
    chat_server: ChatServer, stream: bool, reply: Reply
) -> None:
    chat_server.add(reply)
    model = OpenAIModel("m", api_key="test-key", base_url=chat_server.url, max_retries=0,
                        stream=stream)
    with pytest.raises(ModelError, match="nested too deeply"):
        model.chat([{"role": "user", "content": "hi"}], "m", [])


def pygent_run(server: ChatServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYGENT_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT), OPENAI_API_KEY="test-key",
               OPENAI_BASE_URL=server.url)
    return subprocess.run([sys.executable, "-m", "pygent", "--no-docker", "run", "go"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_pygent_run_goes_on_after_50000_deep_arguments(tmp_path: Path) -> None:
    with ChatServer([tool_call("bash", DEEP), tool_call("stop", {"result": "all good"})]) as server:
        done = pygent_run(server, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "all good\n"
    assert "RecursionError" not in done.stderr and "Traceback" not in done.stderr
    told = server.requests[1]["messages"][-1]
    assert told["role"] == "tool" and "nested too deeply" in told["content"]


def test_pygent_run_ends_with_one_line_on_a_deeply_nested_reply(tmp_path: Path) -> None:
    with ChatServer([Reply(DEEP_BODY, headers={"Content-Type": "application/json"})]) as server:
        done = pygent_run(server, tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "nested too deeply" in done.stderr and "Traceback" not in done.stderr
