"""``AgentLoop.cancel()``: the one way to stop a step, from any thread, losing nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pygent import Runtime, StepCancelled
from pygent.app.agent import AgentLoop
from pygent.app.outcomes import INTERRUPTED
from pygent.domain.events import AssistantDelta, Event, ToolCallStarted
from pygent.domain.messages import Message
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

SLOW = "touch started; sleep 30; touch finished"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A real local shell, so a cancelled command is a real process that must die."""
    runtime = Runtime(use_docker=False, workspace=tmp_path)
    yield runtime
    runtime.cleanup()


def cancel_once(agent: AgentLoop, marker: Path, deadline: float = 20.0) -> threading.Thread:
    """Cancel from another thread as soon as ``marker`` exists (the command has started)."""

    def wait_then_cancel() -> None:
        end = time.monotonic() + deadline
        while not marker.exists() and time.monotonic() < end:
            time.sleep(0.01)
        agent.cancel()

    thread = threading.Thread(target=wait_then_cancel, daemon=True)
    thread.start()
    return thread


def test_cancel_stops_a_running_command_and_the_conversation_is_kept(
    runtime: Runtime, tmp_path: Path
) -> None:
    model = FakeModel([calls(call("bash", {"cmd": SLOW})), say("never asked")])
    agent = AgentLoop(model, runtime)
    thread = cancel_once(agent, tmp_path / "started")
    started = time.monotonic()
    with pytest.raises(StepCancelled):
        agent.run_until_stop("go")
    thread.join()
    assert time.monotonic() - started < 20
    assert not (tmp_path / "finished").exists()
    assert len(model.requests) == 1  # no request after the cancel
    assert not agent.conversation.unanswered_calls()
    assert [m.role for m in agent.conversation] == ["user", "assistant", "tool"]
    model.replies = [say("back again")]
    assert agent.run_until_stop("and now?", unattended=False).message.content == "back again"


def test_cancel_leaves_the_later_calls_of_the_reply_unrun_and_answered(
    runtime: Runtime, tmp_path: Path
) -> None:
    reply = calls(call("bash", {"cmd": SLOW}), call("bash", {"cmd": "touch second"}))
    agent = AgentLoop(FakeModel([reply]), runtime)
    thread = cancel_once(agent, tmp_path / "started")
    with pytest.raises(StepCancelled):
        agent.step("go")
    thread.join()
    assert not (tmp_path / "second").exists()
    answers = [m for m in agent.conversation if m.role == "tool"]
    assert len(answers) == 2 and answers[1].content == INTERRUPTED


class StreamingModel:
    """Sends its reply in pieces through ``on_delta``, counting the pieces it got out."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.sent = 0

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]],
             on_delta: Optional[Callable[[str], None]] = None) -> Message:
        for piece in self.pieces:
            self.sent += 1
            if on_delta is not None:
                on_delta(piece)
        return say("".join(self.pieces))


def test_cancel_during_a_streamed_reply_ends_it_at_the_next_piece(tmp_path: Path) -> None:
    model = StreamingModel(["one ", "two ", "three ", "four"])
    agent = AgentLoop(model, Runtime(sandbox=FakeSandbox(tmp_path)))

    def on_event(event: Event) -> None:
        if isinstance(event, AssistantDelta) and event.text == "two ":
            agent.cancel()

    agent.subscribe(on_event)
    with pytest.raises(StepCancelled):
        agent.step("count")
    assert model.sent == 3  # "three " was being sent when the loop noticed
    assert [m.role for m in agent.conversation] == ["user"]


def test_a_cancel_before_a_step_ends_that_step_and_the_next_starts_afresh(
    tmp_path: Path,
) -> None:
    """A Stop pressed just before the worker starts the step must not be lost."""
    sandbox = FakeSandbox(tmp_path)
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"})), say("done")])
    agent = AgentLoop(model, Runtime(sandbox=sandbox))
    agent.cancel()
    with pytest.raises(StepCancelled):
        agent.run_until_stop("go", unattended=False)
    assert model.requests == [] and sandbox.commands == []
    assert agent.run_until_stop("go", unattended=False).reason == "answer"
    assert sandbox.commands == ["echo hi"]


def test_a_command_that_starts_just_after_the_cancel_is_interrupted_too(
    runtime: Runtime, tmp_path: Path
) -> None:
    agent = AgentLoop(FakeModel([calls(call("bash", {"cmd": SLOW}))]), runtime)

    def cancel_when_the_call_starts(event: Event) -> None:
        if isinstance(event, ToolCallStarted):  # after the loop's own check, before the run
            agent.cancel()

    agent.subscribe(cancel_when_the_call_starts)
    started = time.monotonic()
    with pytest.raises(StepCancelled):
        agent.step("go")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "finished").exists()
