"""Token and time accounting: a StepStats per step, totals, and the token limit of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from pygent.app.agent import AgentLoop, takes_on_delta
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.errors import ModelError
from pygent.domain.events import AssistantDelta, AssistantText, Notice, ToolCallStarted
from pygent.domain.stats import StepStats, Totals, totals
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say


def make_agent(model: Any, workspace: Path) -> AgentLoop:
    runtime = Runtime(sandbox=FakeSandbox(workspace))
    return AgentLoop(model, runtime, tools=ToolRegistry(builtin_tools()))


def echo(text: str = "hi") -> Any:
    return calls(call("bash", {"cmd": f"echo {text}"}))


def test_totals_add_up_tokens_and_seconds_and_count_steps_without_usage() -> None:
    stats = [StepStats(10, 2, 1.5, 1.0, True), StepStats(30, 4, 0.5, 0.25, True), StepStats()]
    assert totals(stats) == Totals(3, 40, 6, 2.0, 1.25, unreported=1)
    assert totals(stats).tokens == 46
    assert totals([]) == Totals()


def test_the_totals_line_names_steps_tokens_and_time() -> None:
    assert Totals(3, 1200, 80, 4.25).describe() == (
        "3 steps, 1,200 prompt + 80 completion tokens, 4.2 s")
    assert Totals(1, 0, 0, 0.5, unreported=1).describe() == (
        "1 step, tokens not reported by the server, 0.5 s")
    assert "(1 step(s) without usage)" in Totals(2, 5, 5, 1.0, unreported=1).describe()


def test_each_step_records_the_usage_the_model_reported(workspace: Path) -> None:
    model = FakeModel([echo(), say("done")], usage=[(100, 7), (120, 3)])
    agent = make_agent(model, workspace)
    result = agent.run_until_stop("go", unattended=False)
    assert result.reason == "answer"
    assert [(s.prompt_tokens, s.completion_tokens, s.usage_known) for s in agent.stats] == [
        (100, 7, True), (120, 3, True)]
    assert all(s.seconds >= s.model_seconds >= 0 for s in agent.stats)
    assert (agent.totals().steps, agent.totals().tokens) == (2, 230)


def test_a_model_without_usage_still_gets_a_step_with_its_time(workspace: Path) -> None:
    class Plain:
        def chat(self, messages: list[Any], model: str, tools: list[Any]) -> Any:
            return say("hello")

    agent = make_agent(Plain(), workspace)
    agent.step("hi")
    assert len(agent.stats) == 1
    assert agent.stats[0].usage_known is False and agent.stats[0].tokens == 0


def test_a_failed_model_call_records_no_step(workspace: Path) -> None:
    agent = make_agent(FakeModel([ModelError("down")]), workspace)
    with pytest.raises(ModelError):
        agent.step("hi")
    assert agent.stats == []


def test_the_token_limit_stops_a_run_with_its_reason_and_a_notice(workspace: Path) -> None:
    model = FakeModel([echo("1"), echo("2"), echo("3"), say("never")],
                      usage=[(40, 5), (50, 5), (60, 5)])
    agent = make_agent(model, workspace)
    notices: list[str] = []
    agent.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    result = agent.run_until_stop("go", max_tokens=100)
    assert (result.reason, result.steps, result.finished) == ("max_tokens", 2, False)
    assert notices == ["Stopped: token limit of 100 reached (100 tokens used)."]
    assert agent.conversation[-1].role == "tool"  # every call of the last step was answered


def test_the_token_limit_counts_only_the_current_run(workspace: Path) -> None:
    model = FakeModel([echo(), say("one"), echo(), say("two")],
                      usage=[(40, 5), (40, 5), (40, 5), (40, 5)])
    agent = make_agent(model, workspace)
    assert agent.run_until_stop("first", max_tokens=100, unattended=False).reason == "answer"
    assert agent.run_until_stop("second", max_tokens=100, unattended=False).reason == "answer"
    assert agent.totals().tokens == 180


def test_a_final_answer_over_the_token_limit_still_counts_as_finished(workspace: Path) -> None:
    agent = make_agent(FakeModel([say("done")], usage=[(500, 50)]), workspace)
    assert agent.run_until_stop("go", max_tokens=10, unattended=False).reason == "answer"


def test_a_token_limit_without_usage_from_the_server_is_said_once(workspace: Path) -> None:
    agent = make_agent(FakeModel(default=echo()), workspace)
    notices: list[str] = []
    agent.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    result = agent.run_until_stop("go", max_steps=3, max_tokens=10)
    assert result.reason == "max_steps"
    assert notices == [
        "The server reports no token usage, so the token limit of 10 cannot be enforced.",
        "Stopped: step limit of 3 reached.",
    ]


class StreamingModel(FakeModel):
    """A scripted model that also passes its reply's text on in pieces, as a stream would."""

    def chat(self, messages: list[Any], model: str, tools: list[Any],
             on_delta: Optional[Any] = None) -> Any:
        reply = super().chat(messages, model, tools)
        for piece in (reply.content or "").split(" "):
            if on_delta is not None:
                on_delta(piece + " ")
        return reply


def test_a_model_that_takes_on_delta_streams_its_text_before_the_whole_text(
    workspace: Path
) -> None:
    model = StreamingModel([calls(call("bash", {"cmd": "echo hi"}, "x"), content="Let me look.")])
    agent = make_agent(model, workspace)
    events: list[Any] = []
    agent.subscribe(events.append)
    agent.step("go")
    assert events[:4] == [AssistantDelta("Let "), AssistantDelta("me "), AssistantDelta("look. "),
                          AssistantText("Let me look.")]
    assert isinstance(events[4], ToolCallStarted)


def test_only_a_chat_that_names_on_delta_is_given_one() -> None:
    assert takes_on_delta(StreamingModel().chat)
    assert not takes_on_delta(FakeModel().chat)
    assert not takes_on_delta(len)


def test_an_interrupt_from_a_delta_listener_leaves_only_the_user_message(
    workspace: Path
) -> None:
    model = StreamingModel([say("a long answer"), say("second try")])
    agent = make_agent(model, workspace)

    def stop_at_first_piece(event: Any) -> None:
        if isinstance(event, AssistantDelta):
            raise KeyboardInterrupt

    agent.subscribe(stop_at_first_piece)
    with pytest.raises(KeyboardInterrupt):
        agent.step("go")
    assert [m.role for m in agent.conversation] == ["user"]
    agent.listeners.clear()
    assert agent.step().content == "second try"
