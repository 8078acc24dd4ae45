"""The ``chat_server`` fixture: a scripted chat-completions server on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chat_server import ChatServer


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A started :class:`ChatServer` with an empty script; add replies with ``.add(...)``."""
    with ChatServer() as server:
        yield server
