"""Sampling settings reach the server: temperature and seed through the real ``openai`` SDK."""

from __future__ import annotations

from typing import Optional

import pytest

from pygent.adapters.openai_model import OpenAIModel
from pygent.app.settings import Settings
from pygent.container import make_openai_model
from tests.chat_server import ChatServer, streamed, text

HELLO = [{"role": "user", "content": "hi"}]


def ask(model: OpenAIModel, server: ChatServer, stream: bool = False) -> dict:
    """One request through the SDK; the body the server received."""
    reply = text("ok")
    server.add(streamed(reply) if stream else reply)
    model.chat(HELLO, "", [])
    return server.requests[-1]


@pytest.mark.parametrize("stream", [False, True])
def test_temperature_and_seed_are_sent_when_set(chat_server: ChatServer, stream: bool) -> None:
    model = OpenAIModel("m", api_key="k", base_url=chat_server.url, max_retries=0,
                        stream=stream, temperature=0.2, seed=7)
    body = ask(model, chat_server, stream)
    assert (body["temperature"], body["seed"]) == (0.2, 7)


@pytest.mark.parametrize("stream", [False, True])
def test_unset_temperature_and_seed_leave_the_servers_defaults(
    chat_server: ChatServer, stream: bool
) -> None:
    model = OpenAIModel("m", api_key="k", base_url=chat_server.url, max_retries=0, stream=stream)
    body = ask(model, chat_server, stream)
    assert "temperature" not in body and "seed" not in body


def test_a_zero_temperature_and_a_zero_seed_are_sent_not_dropped(
    chat_server: ChatServer,
) -> None:
    model = OpenAIModel("m", api_key="k", base_url=chat_server.url, max_retries=0,
                        temperature=0.0, seed=0)
    body = ask(model, chat_server)
    assert (body["temperature"], body["seed"]) == (0.0, 0)


@pytest.mark.parametrize(("temperature", "seed"), [(1.5, 123), (None, None), (0.0, None)])
def test_the_container_passes_the_sampling_settings_to_the_adapter(
    chat_server: ChatServer, temperature: Optional[float], seed: Optional[int]
) -> None:
    settings = Settings(base_url=chat_server.url, stream=False, max_retries=0,
                        temperature=temperature, seed=seed)
    body = ask(make_openai_model(settings), chat_server)
    assert body.get("temperature") == temperature and body.get("seed") == seed
    assert ("temperature" in body) is (temperature is not None)


@pytest.mark.parametrize("stream", [False, True])
def test_a_temperature_given_to_one_request_overrides_the_models_for_it_only(
    chat_server: ChatServer, stream: bool
) -> None:
    model = OpenAIModel("m", api_key="k", base_url=chat_server.url, max_retries=0,
                        stream=stream, temperature=0.0, seed=7)
    chat_server.add(streamed(text("ok")) if stream else text("ok"))
    model.chat(HELLO, "", [], temperature=1.0)
    assert (chat_server.requests[-1]["temperature"], chat_server.requests[-1]["seed"]) == (1.0, 7)
    assert ask(model, chat_server, stream)["temperature"] == 0.0
