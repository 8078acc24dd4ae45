"""Tool calls written as text: recovered when they name a registered tool, text otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygent.agent import Agent
from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.app.settings import Settings
from pygent.app.tool_text import read_actions
from pygent.domain.events import AssistantText, Event, Notice, ToolCallStarted, ToolOutput
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, say

NAMES = ("bash", "write_file", "stop")


def recovered(text: str, names: tuple[str, ...] = NAMES) -> list[tuple[str, dict]]:
    return [
        (c.function.name, json.loads(c.function.arguments))
        for c in read_actions(text, names).calls
    ]


# -- the recognised forms ---------------------------------------------------------------------
def test_the_qwen_fenced_json_form_from_the_issue_is_a_call() -> None:
    text = '```json {"name": "bash", "arguments": {"cmd": "echo hi"}} ```'
    assert recovered(text) == [("bash", {"cmd": "echo hi"})]


def test_a_multiline_fenced_block_with_prose_around_it_is_a_call() -> None:
    text = (
        "Sure, I will create it.\n```json\n"
        '{\n  "name": "write_file",\n  "arguments": {"path": "hello.txt", "content": "hi"}\n}\n'
        "```\nThat writes the file."
    )
    assert recovered(text) == [("write_file", {"path": "hello.txt", "content": "hi"})]


def test_hermes_tool_call_tags_are_calls_even_without_the_closing_tag() -> None:
    text = (
        '<tool_call>\n{"name": "bash", "arguments": {"cmd": "ls"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "stop", "arguments": {}}'
    )
    assert recovered(text) == [("bash", {"cmd": "ls"}), ("stop", {})]


def test_a_list_of_calls_keeps_its_order_and_accepts_parameters_and_string_arguments() -> None:
    text = json.dumps([
        {"name": "bash", "parameters": {"cmd": "ls"}},
        {"name": "write_file", "arguments": json.dumps({"path": "a", "content": "b"})},
    ])
    expected = [("bash", {"cmd": "ls"}), ("write_file", {"path": "a", "content": "b"})]
    assert recovered(text) == expected


def test_a_bare_object_and_the_openai_function_shape_are_calls() -> None:
    assert recovered('{"name": "bash", "arguments": {"cmd": "pwd"}}') == [("bash", {"cmd": "pwd"})]
    wrapped = '{"type": "function", "function": {"name": "stop", "arguments": "{}"}}'
    assert recovered(wrapped) == [("stop", {})]


def test_every_recovered_call_gets_its_own_id() -> None:
    text = json.dumps([{"name": "bash", "arguments": {"cmd": c}} for c in ("a", "b")])
    ids = [c.id for c in read_actions(text, NAMES).calls]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(ids)


def test_a_call_repeated_word_for_word_in_one_reply_is_kept_once() -> None:
    one = '```json\n{"name": "write_file", "arguments": {"path": "a", "content": "hi"}}\n```\n'
    stop = '```json\n{"name": "stop", "arguments": {}}\n```\n'
    expected = [("write_file", {"path": "a", "content": "hi"}), ("stop", {})]
    assert recovered((one + stop) * 3) == expected


def test_the_prose_around_recovered_calls_is_kept_and_the_calls_cut_out() -> None:
    text = 'First I list.\n```json\n{"name": "bash", "arguments": {"cmd": "ls"}}\n```\nThen I stop.'
    actions = read_actions(text, NAMES)
    calls, prose = actions.calls, actions.prose
    assert [c.function.name for c in calls] == ["bash"]
    assert prose == "First I list.\n\nThen I stop."
    bare = 'Running {"name": "bash", "arguments": {"cmd": "ls"}} now'
    assert read_actions(bare, NAMES).prose == "Running  now"
    words = read_actions("just words", NAMES)
    assert (words.calls, words.prose) == ([], "just words")


# -- what stays text ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "I will use the bash tool to run `echo hi`.",
        "Call write_file with path hello.txt and content hi.",
        '```bash\necho hi > hello.txt\n```',
        '```python\ncall = {"name": "bash", "arguments": {"cmd": "ls"}}\n```',
        '{"name": "rm_everything", "arguments": {}}',
        '{"name": "bash"}',
        '{"name": "bash", "arguments": ["ls"]}',
        '{"name": "bash", "arguments": "not json"}',
        '{"tool": "bash", "args": {"cmd": "ls"}}',
        '{"name": "bash", "arguments": {"cmd": "ls"}',
        "",
    ],
)
def test_text_that_mentions_a_tool_or_names_an_unknown_one_stays_text(text: str) -> None:
    assert read_actions(text, NAMES).calls == []


# -- properties ---------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
noise_pieces = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["{", "}", "[", "]", '"', ":", ",", "```json\n", "```", "<tool_call>",
                     "</tool_call>", '"name"', '"arguments"', '"parameters"', '"bash"', "stop"]),
    json_values.map(json.dumps),
    st.builds(
        lambda name, args: json.dumps({"name": name, "arguments": args}),
        st.sampled_from([*NAMES, "rm", "Bash", ""]) | st.text(max_size=6),
        json_values,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_the_recogniser_never_raises_on_arbitrary_text(text: str) -> None:
    read_actions(text, NAMES)


@settings(max_examples=300, deadline=None)
@given(st.lists(noise_pieces, max_size=12).map("".join))
def test_every_recovered_call_names_a_registered_tool_with_object_arguments(text: str) -> None:
    for call in read_actions(text, NAMES).calls:
        assert call.function.name in NAMES
        assert isinstance(json.loads(call.function.arguments), dict)
        assert call.id


@settings(max_examples=200, deadline=None)
@given(st.lists(noise_pieces, max_size=12).map("".join))
def test_text_without_a_registered_name_yields_no_call(text: str) -> None:
    if not any(name in text for name in NAMES):
        assert read_actions(text, NAMES).calls == []


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.dictionaries(st.text(max_size=8), json_values, max_size=3),
       st.text(alphabet=st.characters(blacklist_characters="{}[]`<>"), max_size=40))
def test_a_call_wrapped_in_prose_is_recovered_exactly(name: str, args: dict, prose: str) -> None:
    text = f"{prose}\n```json\n{json.dumps({'name': name, 'arguments': args})}\n```\n{prose}"
    assert recovered(text) == [(name, args)]


# -- the agent loop -----------------------------------------------------------------------------
def make_agent(model: FakeModel, workspace: Path, recover: bool = True) -> AgentLoop:
    runtime = Runtime(sandbox=FakeSandbox(workspace))
    return AgentLoop(
        model, runtime, tools=ToolRegistry(builtin_tools()), recover_text_tool_calls=recover
    )


def test_the_agent_runs_calls_written_as_text_and_says_it_recovered_them(workspace: Path) -> None:
    model = FakeModel([say('```json {"name": "bash", "arguments": {"cmd": "echo hi"}} ```')])
    agent = make_agent(model, workspace)
    events: list[Event] = []
    agent.subscribe(events.append)
    message = agent.step("run echo hi")
    assert message.tool_calls and message.tool_calls[0].function.name == "bash"
    assert message.content == ""  # the call now lives in tool_calls, not twice
    kinds = [type(e) for e in events]
    assert kinds == [Notice, ToolCallStarted, ToolOutput]
    assert "recovered" in events[0].text.lower() and "bash" in events[0].text  # type: ignore[union-attr]
    assert events[2].output.strip() == "hi"  # type: ignore[union-attr]
    tool_answer = agent.conversation.messages[-1]
    assert tool_answer.role == "tool" and tool_answer.tool_call_id == message.tool_calls[0].id


def test_with_recovery_off_a_call_written_as_text_stays_an_answer(workspace: Path) -> None:
    model = FakeModel([say('{"name": "stop", "arguments": {}}')])
    result = make_agent(model, workspace, recover=False).run_until_stop("go", unattended=False)
    assert result.reason == "answer" and result.message.tool_calls is None


def test_prose_beside_a_recovered_call_is_still_shown(workspace: Path) -> None:
    model = FakeModel([say('Listing.\n{"name": "bash", "arguments": {"cmd": "echo x"}}')])
    agent = make_agent(model, workspace)
    events: list[Event] = []
    agent.subscribe(events.append)
    agent.step("go")
    assert [type(e) for e in events] == [AssistantText, Notice, ToolCallStarted, ToolOutput]
    assert events[0] == AssistantText("Listing.")


def test_a_recovered_stop_call_ends_the_run(workspace: Path) -> None:
    model = FakeModel([say('<tool_call>{"name": "stop", "arguments": {}}</tool_call>')])
    assert make_agent(model, workspace).run_until_stop("go").reason == "stop"


def test_the_setting_reaches_the_agent_and_reads_from_the_environment(workspace: Path) -> None:
    from pygent.app.settings import load_settings

    off = load_settings(environ={"PYGENT_RECOVER_TOOL_CALLS": "0"}, cwd=workspace)
    assert off.recover_text_tool_calls is False and Settings().recover_text_tool_calls is True
    agent = Agent(FakeModel(), Runtime(sandbox=FakeSandbox(workspace)), settings=off)
    assert agent.recover_text_tool_calls is False
