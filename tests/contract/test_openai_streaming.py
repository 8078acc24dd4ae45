"""OpenAIModel streaming through the real ``openai`` SDK against the loopback chat server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

import pygent
from pygent.adapters.openai_model import OpenAIModel
from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.errors import ModelError
from pygent.domain.events import AssistantDelta, AssistantText
from pygent.domain.messages import Message
from tests.chat_server import (
    ChatServer,
    Reply,
    completion,
    completion_chunks,
    error,
    malformed,
    reset,
    slow,
    streamed,
    text,
    tool_call,
    tool_calls,
)
from tests.fakes import FakeSandbox

WAIT = 20.0  # seconds before a missing outcome fails the test (not a speed assertion)


def make_model(url: str, *, tool_choice: Optional[str] = None, max_retries: int = 0,
               timeout: float = 5.0) -> OpenAIModel:
    """A streaming adapter for the test server, with a key so nothing reads the environment."""
    return OpenAIModel("test-model", api_key="test-key", base_url=url, timeout=timeout,
                       max_retries=max_retries, stream=True, tool_choice=tool_choice)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[pygent.Runtime]:
    """A Runtime over the in-memory sandbox: these tests are about the model, not commands."""
    with pygent.Runtime(sandbox=FakeSandbox(tmp_path)) as runtime:
        yield runtime


def make_agent(model: OpenAIModel, runtime: pygent.Runtime,
               tools: Optional[ToolRegistry] = None) -> AgentLoop:
    return AgentLoop(model, runtime, model_name="test-model",
                     tools=tools if tools is not None else ToolRegistry(builtin_tools()))


def record(agent: AgentLoop) -> list[Any]:
    events: list[Any] = []
    agent.subscribe(events.append)
    return events


def test_streamed_text_arrives_as_ordered_deltas_that_join_into_the_message(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    words = "The quick brown fox jumps over the lazy dog."
    chat_server.add(streamed(text(words, usage=(42, 9)), pieces=6))
    agent = make_agent(make_model(chat_server.url), runtime)
    events = record(agent)
    message = agent.step("hi")
    deltas = [e.text for e in events if isinstance(e, AssistantDelta)]
    assert len(deltas) == 6 and "".join(deltas) == words
    assert events[-1] == AssistantText(words)  # after every delta, for renderers that skip them
    assert message == Message(role="assistant", content=words)
    assert chat_server.requests[0]["stream"] is True
    assert chat_server.requests[0]["stream_options"] == {"include_usage": True}


def test_usage_from_the_final_chunk_is_recorded_in_the_step_stats(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(streamed(text("counted", usage=(42, 9))),
                    streamed(text("uncounted"), usage=False))
    model = make_model(chat_server.url)
    agent = make_agent(model, runtime)
    agent.step("one")
    assert model.last_usage == {"prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51}
    agent.step("two")
    assert model.last_usage is None
    first, second = agent.stats
    assert (first.prompt_tokens, first.completion_tokens, first.usage_known) == (42, 9, True)
    assert (second.tokens, second.usage_known) == (0, False)
    assert agent.totals().steps == 2


@pytest.mark.parametrize("repeat_name", [False, True], ids=["name once", "name in every chunk"])
def test_streamed_tool_calls_are_assembled_by_index(
    chat_server: ChatServer, runtime: pygent.Runtime, repeat_name: bool
) -> None:
    first = {"path": "a.txt", "content": "hello, streamed world, in many small pieces"}
    second = {"cmd": "cat a.txt"}
    chat_server.add(
        streamed(tool_calls(("write_file", first), ("bash", second), content="Writing."),
                 pieces=7, repeat_name=repeat_name),
        text("done"),
    )
    agent = make_agent(make_model(chat_server.url), runtime)
    message = agent.step("go")
    assert message.content == "Writing."
    calls = message.tool_calls or []
    assert [c.function.name for c in calls] == ["write_file", "bash"]
    assert [json.loads(c.function.arguments) for c in calls] == [first, second]
    assert [c.id for c in calls] == [m.tool_call_id for m in agent.conversation if m.role == "tool"]
    outputs = [m.content for m in agent.conversation if m.role == "tool"]
    assert outputs[1] == first["content"]


def test_a_server_repeating_id_and_name_in_every_chunk_without_indexes_gives_one_call(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    base = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": ""}

    def chunk(delta: dict[str, Any], finish: Optional[str] = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    arguments = json.dumps({"cmd": "echo repeated"})
    pieces = [arguments[i:i + 5] for i in range(0, len(arguments), 5)]
    chunks = [chunk({"role": "assistant"})]
    chunks += [chunk({"tool_calls": [{"id": "call_same", "type": "function",
                                      "function": {"name": "bash", "arguments": part}}]})
               for part in pieces]
    chunks += [chunk({}, "tool_calls"),
               {**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3,
                                                 "total_tokens": 10}}]
    chat_server.add(Reply(chunks=chunks), text("done"))
    agent = make_agent(make_model(chat_server.url), runtime)
    message = agent.step("go")
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []] == [
        ("call_same", "bash", arguments)]
    assert agent.conversation[-1].content == "repeated"
    assert agent.stats[-1].tokens == 10


@pytest.mark.parametrize(
    ("setting", "wire"),
    [("auto", "auto"), ("required", "required"), ("none", "none"),
     ("bash", {"type": "function", "function": {"name": "bash"}})],
)
def test_tool_choice_is_sent_as_configured(
    chat_server: ChatServer, runtime: pygent.Runtime, setting: str, wire: Any
) -> None:
    chat_server.add(text("ok"))
    make_agent(make_model(chat_server.url, tool_choice=setting), runtime).step("hi")
    assert chat_server.requests[0]["tool_choice"] == wire


def test_tool_choice_is_left_out_without_a_setting_or_without_tools(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(text("one"), text("two"))
    make_agent(make_model(chat_server.url), runtime).step("hi")
    make_agent(make_model(chat_server.url, tool_choice="required"), runtime,
               tools=ToolRegistry([])).step("hi")
    assert "tool_choice" not in chat_server.requests[0]
    assert "tool_choice" not in chat_server.requests[1] and "tools" not in chat_server.requests[1]


def test_a_server_refusing_stream_options_is_asked_again_without_and_it_is_remembered(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    def strict(body: Any) -> Reply:
        if "stream_options" in body:
            return error(400, "Unrecognized request argument supplied: stream_options")
        return text(f"answer {len(chat_server.requests)}")

    chat_server.default = strict
    model = make_model(chat_server.url)
    agent = make_agent(model, runtime)
    assert agent.step("one").content == "answer 2"
    assert agent.step("two").content == "answer 3"
    assert ["stream_options" in r for r in chat_server.requests] == [True, False, False]
    assert model.stream_usage is False


def test_a_server_without_tool_support_gets_a_clear_message_when_streaming(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(error(400, "registry.ollama.ai/library/gemma:2b does not support tools"))
    with pytest.raises(ModelError, match="does not accept tool calls"):
        make_agent(make_model(chat_server.url), runtime).step("hi")


def test_a_server_that_ignores_stream_and_sends_one_json_body_still_works(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    whole = completion({"role": "assistant", "content": "all at once"}, "stop", (5, 4))
    chat_server.add(Reply(json.dumps(whole)))
    agent = make_agent(make_model(chat_server.url), runtime)
    events = record(agent)
    assert agent.step("hi").content == "all at once"
    assert AssistantDelta("all at once") in events
    assert agent.stats[-1].tokens == 9


def error_event_stream() -> Reply:
    chunks: list[Any] = completion_chunks(completion({"role": "assistant", "content": "half"},
                                                     "stop"))[:2]
    return Reply(chunks=[*chunks, {"error": {"message": "the model crashed", "type": "server"}}])


STREAM_FAULTS: dict[str, tuple[Reply, str]] = {
    "401": (error(401, "Invalid key"), "OPENAI_API_KEY"),
    "500": (error(500, "Oops", kind="server_error"), "500"),
    "slower than the timeout": (slow(text("late"), 3.0), "request timeout"),
    "stalls mid-stream": (streamed(text("one two three"), chunk_delay=3.0), "stopped sending"),
    "reset mid-stream": (reset(2, streamed(text("one two three"))), "broke off mid-stream"),
    "error event mid-stream": (error_event_stream(), "the model crashed"),
    "malformed JSON": (malformed(), "not valid JSON"),
    "a web page": (Reply("<html>It works!</html>", headers={"Content-Type": "text/html"}),
                   "chat-completions format"),
    "an empty stream": (Reply(chunks=[]), "without a reply"),
}


@pytest.mark.parametrize("fault", STREAM_FAULTS, ids=list(STREAM_FAULTS))
def test_after_a_stream_fault_the_conversation_is_intact_and_the_next_step_works(
    chat_server: ChatServer, runtime: pygent.Runtime, fault: str
) -> None:
    reply, words = STREAM_FAULTS[fault]
    chat_server.add(text("first answer"), reply, text("recovered"))
    agent = make_agent(make_model(chat_server.url, timeout=0.5), runtime)
    agent.step("one")
    before = agent.conversation.messages
    with pytest.raises(ModelError, match=words) as caught:
        agent.step("two")
    assert "\n" not in str(caught.value)
    assert agent.conversation.messages == [*before, Message(role="user", content="two")]
    assert agent.step().content == "recovered"


def test_ctrl_c_during_a_stream_closes_it_and_the_next_step_works(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    endless = streamed(text("word " * 5000), pieces=5000, chunk_delay=0.01)  # ~50 s if read
    chat_server.add(endless, text("after the interrupt"))
    agent = make_agent(make_model(chat_server.url), runtime)
    seen: list[str] = []

    def interrupt_on_third_piece(event: Any) -> None:
        if isinstance(event, AssistantDelta):
            seen.append(event.text)
            if len(seen) == 3:
                raise KeyboardInterrupt

    agent.subscribe(interrupt_on_third_piece)
    with pytest.raises(KeyboardInterrupt):
        agent.step("go")
    assert agent.conversation.messages == [Message(role="user", content="go")]
    assert agent.stats == []
    server = chat_server._server
    assert server is not None
    deadline = time.monotonic() + WAIT  # the server notices the closed socket at its next write
    while server.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.connections, "the interrupted stream was left open"
    assert agent.step().content == "after the interrupt"
    assert chat_server.requests[1]["messages"] == chat_server.requests[0]["messages"]


def test_a_non_streaming_model_still_answers_and_reports_usage(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(tool_call("bash", {"cmd": "echo plain"}, usage=(11, 2)), text("done"))
    model = OpenAIModel("test-model", api_key="k", base_url=chat_server.url, stream=False)
    agent = make_agent(model, runtime)
    events = record(agent)
    assert agent.run_until_stop("go", unattended=False).text == "done"
    assert not any(isinstance(e, AssistantDelta) for e in events)
    assert "stream" not in chat_server.requests[0]
    assert agent.stats[0].tokens == 13
