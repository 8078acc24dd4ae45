"""The offline direct model: any line is a tool call or a bash command, and it never raises."""

from __future__ import annotations

import json
import shlex
from typing import Any

from hypothesis import assume, example, given
from hypothesis import strategies as st

from pygent.adapters.direct_model import HELP, DirectModel, parse_tool_line
from pygent.domain.messages import Message

TOOLS = ("bash", "write_file", "stop")
tool_names = st.sets(st.sampled_from([*TOOLS, "grep_files", "x"]), max_size=5)
keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
values = st.text(max_size=30)


def schemas(*names: str) -> list[dict[str, Any]]:
    """OpenAI tool schemas for these names, as the agent sends them."""
    return [{"type": "function", "function": {"name": n, "description": "", "parameters": {}}}
            for n in names]


def user(line: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "prompt"}, {"role": "user", "content": line}]


def only_call(reply: Message) -> tuple[str, dict[str, Any]]:
    """The single tool call of a reply, decoded."""
    assert reply.role == "assistant" and reply.tool_calls and len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    return call.function.name, json.loads(call.function.arguments)


@given(st.text(), tool_names)
@example('write_file path="unterminated', {"write_file"})
@example("bash cmd=\\", {"bash"})
def test_the_parser_never_raises_on_any_text(line: str, names: set[str]) -> None:
    parsed = parse_tool_line(line, names)
    if parsed is not None:
        name, arguments = parsed
        assert name in names
        assert all(isinstance(v, str) for v in arguments.values())


@given(st.sampled_from(TOOLS), st.dictionaries(keys, values, max_size=4))
def test_key_value_pairs_round_trip_through_shell_quoting(
    name: str, arguments: dict[str, str]
) -> None:
    line = " ".join([name, *(f"{k}={shlex.quote(v)}" for k, v in arguments.items())])
    assert parse_tool_line(line, set(TOOLS)) == (name, arguments)


def test_the_seed_write_file_line_becomes_a_write_file_call() -> None:
    reply = DirectModel().chat(
        user('write_file path="hello.txt" content="Hello from Pygent"'), "", schemas(*TOOLS)
    )
    assert only_call(reply) == ("write_file", {"path": "hello.txt",
                                               "content": "Hello from Pygent"})


@given(st.text(), tool_names)
def test_the_model_never_raises_and_always_answers_as_the_assistant(
    line: str, names: set[str]
) -> None:
    reply = DirectModel().chat(user(line), "", schemas(*names))
    assert reply.role == "assistant"
    for call in reply.tool_calls or []:
        assert call.function.name in names
        assert isinstance(json.loads(call.function.arguments), dict)


@given(st.text().filter(str.strip))
@example("echo 'Hello World'")
@example("ls -la | wc -l")
@example("cat 'unterminated")
def test_a_line_that_is_not_a_tool_call_runs_as_a_bash_command(line: str) -> None:
    assume(line.split()[0] not in TOOLS and parse_tool_line(line, set(TOOLS)) is None)
    reply = DirectModel().chat(user(line), "", schemas(*TOOLS))
    assert only_call(reply) == ("bash", {"cmd": line.strip()})


def test_a_tool_name_with_arguments_that_do_not_parse_gets_a_hint() -> None:
    reply = DirectModel().chat(user('write_file path="a.txt" oops'), "", schemas(*TOOLS))
    assert not reply.tool_calls
    assert 'write_file key="value"' in (reply.content or "")


def test_without_a_bash_tool_a_plain_line_is_answered_with_the_tools_available() -> None:
    reply = DirectModel().chat(user("ls"), "", schemas("write_file", "stop"))
    assert not reply.tool_calls
    assert "bash tool is not registered" in (reply.content or "")
    assert "write_file" in (reply.content or "")


@given(st.text())
def test_after_a_tool_result_it_calls_stop(output: str) -> None:
    messages = [*user("ls"),
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "bash", "arguments": '{"cmd": "ls"}'}}]},
                {"role": "tool", "tool_call_id": "c1", "content": output}]
    reply = DirectModel().chat(messages, "", schemas(*TOOLS))
    assert reply.content == "" and [c.function.name for c in reply.tool_calls or []] == ["stop"]
    assert DirectModel().chat(messages, "", schemas("bash")) == Message("assistant", "")


@given(st.text(alphabet=" \t\n\r\x0b\x0c", max_size=5))
def test_an_empty_line_gets_help(line: str) -> None:
    assert DirectModel().chat(user(line), "", schemas(*TOOLS)) == Message("assistant", HELP)


def test_an_empty_conversation_gets_an_empty_answer() -> None:
    assert DirectModel().chat([], "", schemas(*TOOLS)).tool_calls is None


def test_each_call_gets_its_own_id() -> None:
    model = DirectModel()
    first = model.chat(user("ls"), "", schemas(*TOOLS)).tool_calls or []
    second = model.chat(user("ls"), "", schemas(*TOOLS)).tool_calls or []
    assert first[0].id != second[0].id


def run_lines(text: str, names: tuple[str, ...] = (*TOOLS, "delegate_task")) -> list[tuple]:
    """Every call the direct model makes for one message, each answered, until it stops."""
    messages = user(text)
    made: list[tuple] = []
    for _ in range(10):
        reply = DirectModel().chat(messages, "", schemas(*names))
        name, arguments = only_call(reply)
        made.append((name, arguments))
        if name == "stop":
            return made
        messages += [reply.to_dict(), {"role": "tool", "content": "ok",
                                         "tool_call_id": reply.tool_calls[0].id}]
    raise AssertionError(f"never stopped: {made}")


def test_a_message_of_several_lines_runs_one_call_per_tool_line_in_order_then_stops() -> None:
    made = run_lines('write_file path="a.txt" content="A"\n'
                     "cat a.txt\n"
                     "wc -c a.txt\n"
                     'write_file path="b.txt" content="B"')
    assert made == [("write_file", {"path": "a.txt", "content": "A"}),
                    ("bash", {"cmd": "cat a.txt\nwc -c a.txt"}),
                    ("write_file", {"path": "b.txt", "content": "B"}),
                    ("stop", {})]


def test_a_quoted_value_may_span_lines_and_stays_one_call() -> None:
    made = run_lines('delegate_task prompt="write_file path=a.txt content=hi\n'
                     'echo made >> a.txt"\nls')
    assert made == [("delegate_task", {"prompt": "write_file path=a.txt content=hi\n"
                                                 "echo made >> a.txt"}),
                    ("bash", {"cmd": "ls"}), ("stop", {})]


def test_a_tool_name_inside_an_open_shell_quote_is_part_of_the_script() -> None:
    made = run_lines("echo 'one\nwrite_file is just text here'\necho two")
    assert made == [("bash", {"cmd": "echo 'one\nwrite_file is just text here'\necho two"}),
                    ("stop", {})]
