"""``ask_user``: the model hands the turn back with a question; nothing else of that reply runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pygent import Agent, Runtime
from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools, with_ask_user
from pygent.app.settings import Settings
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

QUESTION = "Which file should I change, a.py or b.py?"


def asking_agent(tmp_path: Path, *replies: object) -> tuple[AgentLoop, FakeModel, FakeSandbox]:
    sandbox = FakeSandbox(tmp_path)
    model = FakeModel(list(replies))  # type: ignore[arg-type]
    tools = with_ask_user(ToolRegistry(builtin_tools()), True)
    return AgentLoop(model, Runtime(sandbox=sandbox), tools=tools), model, sandbox


@pytest.mark.parametrize("unattended", [True, False])
def test_a_question_ends_the_run_with_its_own_reason_and_the_answer_continues_it(
    tmp_path: Path, unattended: bool
) -> None:
    agent, model, sandbox = asking_agent(
        tmp_path,
        calls(call("ask_user", {"question": QUESTION}), call("bash", {"cmd": "echo too-soon"})),
        calls(call("bash", {"cmd": "echo editing b.py"})),
        say("Done."))
    result = agent.run_until_stop("fix the bug", unattended=unattended)
    assert (result.reason, result.result, result.finished) == ("asked", QUESTION, False)
    assert sandbox.commands == []  # the call after the question waited
    tool_answers = [m.content for m in agent.conversation if m.role == "tool"]
    assert "their answer is the next message" in tool_answers[0]
    assert "wait for the answer" in tool_answers[1]
    again = agent.run_until_stop("b.py", unattended=False)
    assert again.reason == "answer" and sandbox.commands == ["echo editing b.py"]
    sent = model.requests[1]["messages"]
    assert [m["role"] for m in sent[-4:]] == ["assistant", "tool", "tool", "user"]


def test_the_tool_is_there_only_when_the_setting_says_so(tmp_path: Path) -> None:
    base = Settings(backend="echo", use_docker=False)
    with Agent(settings=base) as agent:
        assert "ask_user" not in agent.tools.names()  # Agent() and pygent run: nobody to ask
    with Agent(settings=replace(base, ask_user=True)) as agent:
        assert agent.tools.names()[:3] == ["bash", "write_file", "stop"]
        assert agent.tools.names()[-1] == "ask_user"
    import pygent

    assert "ask_user" not in pygent.tools()  # the shared registry is never changed
