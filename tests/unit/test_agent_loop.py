"""The agent loop: every tool call answered, mistakes turned into tool results, limits told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pygent.app.agent import AgentLoop, RunResult
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.app.replies import parse_arguments, to_message
from pygent.domain.errors import ModelError
from pygent.domain.events import AssistantText, Notice, ToolCallStarted, ToolOutput
from pygent.domain.messages import Message
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say


def assert_every_call_answered(agent: AgentLoop) -> None:
    """Each assistant tool call is followed by exactly one tool message with its id."""
    messages = agent.conversation.messages
    for index, message in enumerate(messages):
        if message.role == "assistant" and message.tool_calls:
            ids = [c.id for c in message.tool_calls]
            answers = [m.tool_call_id for m in messages[index + 1 : index + 1 + len(ids)]]
            assert answers == ids, (ids, answers)


def make_agent(
    model: FakeModel, workspace: Path, registry: ToolRegistry | None = None
) -> AgentLoop:
    runtime = Runtime(sandbox=FakeSandbox(workspace))
    return AgentLoop(model, runtime, tools=registry or ToolRegistry(builtin_tools()))


def test_a_step_runs_each_tool_call_and_appends_its_result(workspace: Path) -> None:
    model = FakeModel(
        [calls(call("bash", {"cmd": "echo one"}, "a"), call("bash", {"cmd": "echo two"}, "b"))]
    )
    agent = make_agent(model, workspace)
    reply = agent.step("go")
    assert [c.id for c in reply.tool_calls or []] == ["a", "b"]
    tool_messages = [m for m in agent.conversation if m.role == "tool"]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [("a", "one"), ("b", "two")]
    assert_every_call_answered(agent)


def test_events_report_text_tool_start_and_output_in_order(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"}, "x"), content="Let me look.")])
    agent = make_agent(model, workspace)
    events: list[object] = []
    agent.subscribe(events.append)
    agent.step("go")
    assert events == [
        AssistantText("Let me look."),
        ToolCallStarted("x", "bash", json.dumps({"cmd": "echo hi"})),
        ToolOutput("x", "bash", "hi"),
    ]


@pytest.mark.parametrize(
    ("tool_call", "expected"),
    [
        (call("nope", {}), "unknown tool 'nope'"),
        (call("bash", "{not json"), "not valid JSON"),
        (call("bash", "[1, 2]"), "must be a JSON object"),
        (call("bash", {}), "missing a required argument"),
        (call("bash", {"cmd": "x", "extra": 1}), "unexpected keyword argument"),
    ],
)
def test_model_mistakes_become_tool_results_and_the_loop_goes_on(
    workspace: Path,
    tool_call,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    model = FakeModel([calls(tool_call), calls(call("bash", {"cmd": "echo fine"}))])
    agent = make_agent(model, workspace)
    events: list[object] = []
    agent.subscribe(events.append)
    agent.step("first")
    result = agent.conversation[-1]
    assert result.role == "tool" and expected in (result.content or "")
    assert any(isinstance(e, ToolOutput) and e.is_error for e in events)
    agent.step("second")
    assert agent.conversation[-1].content == "fine"
    assert_every_call_answered(agent)


def test_a_tool_that_raises_is_reported_to_the_model(workspace: Path) -> None:
    registry = ToolRegistry(builtin_tools())

    def explode(runtime: object) -> str:
        raise RuntimeError("boom")

    registry.register("explode", "Always fails.", {"type": "object", "properties": {}}, explode)
    agent = make_agent(FakeModel([calls(call("explode"))]), workspace, registry)
    agent.step("go")
    assert "RuntimeError: boom" in (agent.conversation[-1].content or "")


def test_an_interrupt_in_a_tool_still_answers_every_call_then_propagates(workspace: Path) -> None:
    registry = ToolRegistry(builtin_tools())

    def interrupt(runtime: object) -> str:
        raise KeyboardInterrupt

    registry.register("interrupt", "Ctrl-C.", {"type": "object", "properties": {}}, interrupt)
    model = FakeModel([calls(call("interrupt", {}, "1"), call("bash", {"cmd": "echo x"}, "2"))])
    agent = make_agent(model, workspace, registry)
    with pytest.raises(KeyboardInterrupt):
        agent.step("go")
    assert_every_call_answered(agent)
    assert [m.role for m in agent.conversation] == ["user", "assistant", "tool", "tool"]


def test_a_model_error_keeps_the_conversation_and_the_next_step_works(workspace: Path) -> None:
    model = FakeModel([ModelError("server down"), say("back")])
    agent = make_agent(model, workspace)
    with pytest.raises(ModelError):
        agent.step("hello")
    assert [m.content for m in agent.conversation] == ["hello"]
    assert agent.step("again").content == "back"
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == ["hello", "again"]


def test_run_until_stop_ends_on_the_stop_tool(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo a"})), calls(call("stop")), say("unused")])
    result = make_agent(model, workspace).run_until_stop("task")
    assert (result.reason, result.steps, result.finished) == ("stop", 2, True)


def test_a_chat_run_ends_on_a_plain_answer(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo a"})), say("All done.")])
    result = make_agent(model, workspace).run_until_stop("task", unattended=False)
    assert (result.reason, result.text) == ("answer", "All done.")


def test_run_until_stop_reports_the_step_limit(workspace: Path) -> None:
    model = FakeModel(default=calls(call("bash", {"cmd": "echo again"})))
    agent = make_agent(model, workspace)
    notices: list[object] = []
    agent.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    result = agent.run_until_stop("loop forever", max_steps=3)
    assert isinstance(result, RunResult)
    assert (result.reason, result.steps, result.finished) == ("max_steps", 3, False)
    assert notices == [Notice("Stopped: step limit of 3 reached.")]
    assert_every_call_answered(agent)


def test_run_until_stop_reports_the_time_limit(workspace: Path) -> None:
    model = FakeModel(default=calls(call("bash", {"cmd": "echo again"})))
    result = make_agent(model, workspace).run_until_stop("loop", max_steps=50, max_time=0)
    assert (result.reason, result.steps) == ("max_time", 1)


def test_only_the_first_step_of_a_run_adds_a_user_message(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo a"})), calls(call("stop"))])
    agent = make_agent(model, workspace)
    agent.run_until_stop("task")
    assert [m.role for m in agent.conversation] == [
        "user", "assistant", "tool", "assistant", "tool"]


def test_the_system_prompt_lists_exactly_the_tools_registered_at_each_step(workspace: Path) -> None:
    registry = ToolRegistry(builtin_tools())
    model = FakeModel()
    agent = make_agent(model, workspace, registry)
    agent.step("one")
    registry.remove("bash")
    registry.register("greet", "Say hello.", {"type": "object", "properties": {}}, lambda rt: "hi")
    agent.step("two")
    first, second = (r["messages"][0]["content"] for r in model.requests)
    assert "bash:" in first and "greet" not in first
    assert "bash:" not in second and "greet: Say hello." in second
    assert [t["function"]["name"] for t in model.requests[1]["tools"]] == [
        "write_file",
        "stop",
        "greet",
    ]


def test_a_guard_refusal_is_the_tool_result_and_nothing_runs(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "rm -rf /"}))])
    agent = make_agent(model, workspace)
    agent.guard = lambda name, args: "Refused by policy." if "rm" in args.get("cmd", "") else None
    agent.step("go")
    assert agent.conversation[-1].content == "Refused by policy."
    assert agent.runtime.sandbox.commands == []


def test_new_conversation_forgets_messages_but_keeps_the_runtime(workspace: Path) -> None:
    agent = make_agent(FakeModel(), workspace)
    agent.step("hello")
    runtime = agent.runtime
    agent.new_conversation()
    assert len(agent.conversation) == 0 and agent.runtime is runtime


def test_replies_in_every_accepted_shape_become_messages() -> None:
    from openai.types.chat import ChatCompletionMessage

    sdk = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
            ],
        }
    )
    for reply in (
        Message(role="assistant", content="hi"),
        {"role": "assistant", "content": "hi"},
        sdk,
        "hi",
    ):
        assert isinstance(to_message(reply), Message)
    assert to_message(sdk).tool_calls[0].function.name == "bash"  # type: ignore[index]
    with pytest.raises(ModelError):
        to_message(42)


def test_tool_calls_without_ids_get_unique_ones() -> None:
    message = to_message(
        {
            "role": "assistant",
            "tool_calls": [{"function": {"name": "a"}}, {"function": {"name": "b"}}],
        }
    )
    ids = [c.id for c in message.tool_calls or []]
    assert all(ids) and len(set(ids)) == 2


@pytest.mark.parametrize(
    ("raw", "ok"),
    [("", True), (None, True), ('{"a": 1}', True), ({"a": 1}, True), ("nope", False), ("3", False)],
)
def test_parse_arguments_accepts_objects_only(raw, ok: bool) -> None:  # type: ignore[no-untyped-def]
    _, problem = parse_arguments(raw)
    assert (problem is None) == ok


def test_stepping_without_text_after_a_reply_is_refused(workspace: Path) -> None:
    agent = make_agent(FakeModel([say("hello")]), workspace)
    agent.step("hi")
    with pytest.raises(ValueError, match="needs new text"):
        agent.step()


def test_parse_arguments_reports_deep_nesting_and_size_instead_of_raising() -> None:
    from pygent.app.replies import MAX_ARGUMENT_BYTES

    _, deep = parse_arguments("[" * 100_000 + "]" * 100_000)
    assert deep is not None and "nested too deeply" in deep
    big = '{"cmd": "' + "é" * (MAX_ARGUMENT_BYTES // 2) + '"}'
    _, large = parse_arguments(big)
    assert large == (f"arguments too large ({len(big.encode())} bytes; "
                     f"the limit is {MAX_ARGUMENT_BYTES})")
    assert parse_arguments(b'{"cmd": "ls"}') == ({"cmd": "ls"}, None)


def test_a_string_parameter_given_another_type_is_a_bad_argument(workspace: Path) -> None:
    model = FakeModel([calls(call("write_file", {"path": "a.txt", "content": 42}))])
    agent = make_agent(model, workspace)
    agent.step("go")
    assert "content is int; the schema asks for a string" in (agent.conversation[-1].content or "")
    assert not (workspace / "a.txt").exists()
