"""OpenAIModel through the real ``openai`` SDK against a chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pygent
from pygent.adapters.openai_model import OpenAIModel
from pygent.app.agent import AgentLoop
from pygent.domain.errors import ModelError
from pygent.domain.messages import Message
from tests.chat_server import (
    ChatServer,
    Reply,
    error,
    malformed,
    refusing_url,
    reset,
    slow,
    streamed,
    text,
    tool_call,
)
from tests.fakes import FakeSandbox

FAST_RETRY = 0.01  # Retry-After seconds, so the SDK's own backoff stays out of the way


def make_model(url: str, *, max_retries: int = 2, timeout: float = 5.0) -> OpenAIModel:
    """An adapter for the test server with a key, so nothing reads the environment."""
    return OpenAIModel("test-model", api_key="test-key", base_url=url, timeout=timeout,
                       max_retries=max_retries)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[pygent.Runtime]:
    """A Runtime over the in-memory sandbox: these tests are about the model, not commands."""
    with pygent.Runtime(sandbox=FakeSandbox(tmp_path)) as runtime:
        yield runtime


def make_agent(model: OpenAIModel, runtime: pygent.Runtime) -> AgentLoop:
    return AgentLoop(model, runtime, model_name="test-model")


def test_a_plain_reply_becomes_an_assistant_message_and_its_usage_is_kept(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(text("Hello there", usage=(42, 7)))
    model = make_model(chat_server.url)
    message = make_agent(model, runtime).step("hi")
    assert message == Message(role="assistant", content="Hello there")
    assert model.last_usage == {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}


def test_a_reply_without_usage_leaves_last_usage_empty(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(text("one", usage=(1, 1)), text("two", usage=None))
    model = make_model(chat_server.url)
    agent = make_agent(model, runtime)
    agent.step("a")
    agent.step("b")
    assert model.last_usage is None


def test_a_tool_call_reply_runs_the_tool_and_sends_its_result_back(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(tool_call("bash", {"cmd": "echo hi"}), text("It printed hi."))
    agent = make_agent(make_model(chat_server.url), runtime)
    result = agent.run_until_stop("say hi", unattended=False)
    assert result.text == "It printed hi."
    assert runtime.sandbox.commands == ["echo hi"]  # type: ignore[attr-defined]
    assistant, tool = chat_server.requests[1]["messages"][-2:]
    assert assistant["tool_calls"][0]["function"] == {"name": "bash",
                                                      "arguments": '{"cmd": "echo hi"}'}
    assert assistant["content"] == ""
    assert tool == {"role": "tool", "content": "hi",
                    "tool_call_id": assistant["tool_calls"][0]["id"]}


def test_the_request_carries_the_model_the_messages_and_the_tools_exactly(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(tool_call("bash", {"cmd": "echo hi"}, content=None), text("done"))
    agent = make_agent(make_model(chat_server.url), runtime)
    agent.run_until_stop("say hi", unattended=False)
    first, second = chat_server.requests
    assert first["model"] == second["model"] == "test-model"
    assert first["tools"] == second["tools"] == json.loads(json.dumps(agent.tools.schemas()))
    assert second["messages"] == json.loads(json.dumps(agent.request_messages()[:-1]))
    assert first["messages"] == second["messages"][:2]
    sent = [m for request in chat_server.requests for m in request["messages"]]
    assert all(isinstance(m["content"], str) for m in sent), "null content reached the wire"


def test_a_refused_api_key_is_reported_once_without_retrying(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(error(401, "Incorrect API key provided: sk-wrong", code="invalid_api_key"))
    with pytest.raises(ModelError, match="OPENAI_API_KEY") as caught:
        make_agent(make_model(chat_server.url, max_retries=3), runtime).step("hi")
    assert "Incorrect API key provided" in str(caught.value)
    assert len(chat_server.requests) == 1


def test_a_rate_limit_is_retried_and_then_succeeds(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(error(429, "Rate limit reached", retry_after=FAST_RETRY), text("ok"))
    message = make_agent(make_model(chat_server.url), runtime).step("hi")
    assert message.content == "ok"
    assert len(chat_server.requests) == 2
    assert chat_server.requests[0] == chat_server.requests[1]


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_server_that_always_fails_is_tried_max_retries_plus_one_times(
    chat_server: ChatServer, runtime: pygent.Runtime, max_retries: int
) -> None:
    chat_server.default = error(500, "The server had an error", kind="server_error",
                                retry_after=FAST_RETRY)
    with pytest.raises(ModelError, match=r"failed \(500: The server had an error\)"):
        make_agent(make_model(chat_server.url, max_retries=max_retries), runtime).step("hi")
    assert len(chat_server.requests) == max_retries + 1


def test_a_reply_slower_than_the_timeout_names_the_timeout(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(slow(text("too late"), 3.0))
    model = make_model(chat_server.url, max_retries=0, timeout=0.3)
    with pytest.raises(ModelError, match=r"within the 0\.3 s request timeout"):
        make_agent(model, runtime).step("hi")
    assert len(chat_server.requests) == 1


def test_a_refused_connection_names_the_url(runtime: pygent.Runtime) -> None:
    with refusing_url() as url, pytest.raises(ModelError) as caught:
        make_agent(make_model(url, max_retries=0), runtime).step("hi")
    assert f"could not reach {url}" in str(caught.value)
    assert "refused" in str(caught.value).lower()


VLLM_NO_TOOLS = ('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser '
                 "to be set")
NO_TOOL_SUPPORT = {
    "ollama": Reply({"error": "library/gemma:2b does not support tools"}, status=400),
    "llama.cpp": error(500, "tools param requires --jinja flag", kind="server_error"),
    "vllm": Reply({"object": "error", "message": VLLM_NO_TOOLS, "type": "BadRequestError",
                   "code": 400}, status=400),
}


@pytest.mark.parametrize("server", NO_TOOL_SUPPORT, ids=list(NO_TOOL_SUPPORT))
def test_a_server_without_tool_support_gets_a_clear_message(
    chat_server: ChatServer, runtime: pygent.Runtime, server: str
) -> None:
    chat_server.add(NO_TOOL_SUPPORT[server])
    with pytest.raises(ModelError, match="does not accept tool calls") as caught:
        make_agent(make_model(chat_server.url, max_retries=0), runtime).step("hi")
    words = {"ollama": "gemma:2b does not support tools", "llama.cpp": "requires --jinja flag",
             "vllm": VLLM_NO_TOOLS}[server]
    assert words in str(caught.value)


def test_a_rejected_conversation_is_not_mistaken_for_missing_tool_support(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(error(400, "Invalid parameter: messages with role 'tool' must be a response "
                               "to a preceeding message with 'tool_calls'.", code=None))
    with pytest.raises(ModelError, match=r"rejected \(400: Invalid parameter") as caught:
        make_agent(make_model(chat_server.url), runtime).step("hi")
    assert "does not accept tool calls" not in str(caught.value)


FAULTS: dict[str, tuple[list[Reply], str]] = {
    "401": ([error(401, "Invalid key")], "OPENAI_API_KEY"),
    "429 storm": ([error(429, "Slow down", retry_after=FAST_RETRY)] * 2, "rate limited"),
    "500s": ([error(500, "Oops", kind="server_error", retry_after=FAST_RETRY)] * 2, "500"),
    "slower than the timeout": ([slow(text("late"), 3.0)] * 2, "request timeout"),
    "reset mid-body": ([reset()] * 2, "could not reach"),
    "malformed JSON": ([malformed()], "not valid JSON"),
    "a web page": ([Reply("<html>It works!</html>", headers={"Content-Type": "text/html"})],
                   "chat-completions format"),
    "no choices": ([Reply({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                           "choices": []})], "without any choices"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_after_a_model_fault_the_conversation_is_intact_and_the_next_step_works(
    chat_server: ChatServer, runtime: pygent.Runtime, fault: str
) -> None:
    replies, words = FAULTS[fault]
    chat_server.add(text("first answer"), *replies, text("recovered"))
    agent = make_agent(make_model(chat_server.url, max_retries=1, timeout=0.5), runtime)
    agent.step("one")
    before = agent.conversation.messages
    with pytest.raises(ModelError, match=words) as caught:
        agent.step("two")
    assert "\n" not in str(caught.value)
    assert len(chat_server.requests) == 1 + len(replies)
    assert agent.conversation.messages == [*before, Message(role="user", content="two")]
    assert agent.step().content == "recovered"
    assert chat_server.requests[-1]["messages"] == chat_server.requests[1]["messages"]


def test_after_a_refused_connection_the_same_conversation_continues_elsewhere(
    chat_server: ChatServer, runtime: pygent.Runtime
) -> None:
    chat_server.add(text("recovered"))
    with refusing_url() as url:
        agent = make_agent(make_model(url, max_retries=0), runtime)
        with pytest.raises(ModelError):
            agent.step("hello")
    agent.model = make_model(chat_server.url)
    assert agent.step().content == "recovered"
    assert chat_server.requests[0]["messages"][-1] == {"role": "user", "content": "hello"}


def test_an_agent_with_a_key_and_base_url_in_the_environment_talks_to_that_server(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.url)
    monkeypatch.setenv("PYGENT_MODEL", "env-model")
    chat_server.add(text("from the server"))
    agent = pygent.Agent()
    try:
        assert isinstance(agent.model, OpenAIModel)
        assert agent.step("hi").content == "from the server"
    finally:
        agent.runtime.cleanup()
    assert chat_server.requests[0]["model"] == "env-model"
    assert chat_server.headers[0]["authorization"] == "Bearer sk-from-env"


def test_a_pygent_process_pointed_at_the_server_with_openai_base_url_uses_it(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    chat_server.add(tool_call("bash", {"cmd": "echo from-the-sandbox"}),
                    tool_call("stop", {"result": "all done"}))
    env = {**os.environ, "OPENAI_API_KEY": "sk-sub", "OPENAI_BASE_URL": chat_server.url,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PYGENT_USE_DOCKER": "0",
           "PYGENT_WORKSPACE": str(tmp_path)}
    code = "import pygent; print(pygent.Agent().run_until_stop('go').text)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "all done"
    assert chat_server.requests[1]["messages"][-1]["content"] == "from-the-sandbox"


@pytest.mark.parametrize("repeat_name", [False, True])
def test_the_server_streams_a_tool_call_that_the_sdk_reassembles(
    chat_server: ChatServer, repeat_name: bool
) -> None:
    arguments = {"path": "a.txt", "content": "hello, streamed world"}
    chat_server.add(streamed(tool_call("write_file", arguments, content="Writing."),
                             pieces=4, repeat_name=repeat_name))
    client = make_model(chat_server.url).client
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                            stream=True)
    content, names, raw_arguments = "", set(), ""
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                names.add(call.function.name)
                raw_arguments += call.function.arguments or ""
    assert content == "Writing."
    assert names - {None} == {"write_file"}
    assert (None in names) is not repeat_name
    assert json.loads(raw_arguments) == arguments


def test_a_streaming_request_gets_usage_when_it_asks_for_it(chat_server: ChatServer) -> None:
    chat_server.add(text("streamed text", usage=(3, 2)))
    client = make_model(chat_server.url).client
    chunks: list[Any] = list(client.chat.completions.create(
        model="m", messages=[], stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed text"
    assert chunks[-1].usage.prompt_tokens == 3
    assert chunks[-1].usage.completion_tokens == 2


def test_openai_compat_chat_completions_create_speaks_to_the_configured_server(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pygent import openai_compat

    monkeypatch.setenv("OPENAI_API_KEY", "sk-compat")
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.url)
    chat_server.add(tool_call("bash", {"cmd": "ls"}))
    schema = {"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}
    reply = openai_compat.chat.completions.create(
        model="compat-model", messages=[{"role": "user", "content": "list"}], tools=[schema],
        tool_choice="auto")
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "bash" and json.loads(call.function.arguments) == {"cmd": "ls"}
    sent = chat_server.requests[-1]
    assert sent["model"] == "compat-model" and sent["tool_choice"] == "auto"
    assert sent["tools"] == [schema]


def test_openai_compat_without_a_key_or_server_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pygent import openai_compat

    with pytest.raises(ModelError, match="OPENAI_API_KEY is not set"):
        openai_compat.chat.completions.create(model="m", messages=[])
