"""Arbitrary model replies never break the loop: every call answered, nothing raised."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.errors import ModelError
from pygent.domain.messages import Message
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
tool_names = st.sampled_from(["bash", "write_file", "stop", "boom", "nope", ""]) | st.text(
    max_size=12
)
arguments = st.one_of(
    st.dictionaries(st.sampled_from(["cmd", "path", "content", "x"]), json_values, max_size=3).map(
        json.dumps
    ),
    st.text(max_size=40),  # mostly not JSON
    st.just('{"cmd": "echo ' + "x" * 5000 + '"}'),  # huge
    st.just('{"path": "../../escape.txt", "content": "no"}'),
)
tool_call = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["", "1", "dup"]) | st.text(max_size=6),
        "type": st.just("function"),
        "function": st.fixed_dictionaries({"name": tool_names, "arguments": arguments}),
    }
)
replies = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["assistant", "user", "tool"]),
        "content": st.none() | st.text(max_size=50),
        "tool_calls": st.none() | st.lists(tool_call, max_size=8),
    }
)


def _boom(runtime: Any, **kwargs: Any) -> str:
    raise RuntimeError("tool failure")


class AgentMachine(RuleBasedStateMachine):
    """Drives one agent with arbitrary replies and checks the conversation after each step."""

    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.workspace = Path(self._tmp.name)
        registry = ToolRegistry(builtin_tools())
        registry.register("boom", "Fails.", {"type": "object", "properties": {}}, _boom)
        self.model = FakeModel()
        self.agent = AgentLoop(
            self.model, Runtime(sandbox=FakeSandbox(self.workspace)), tools=registry
        )

    @rule(reply=replies, text=st.none() | st.text(max_size=30))
    def model_replies(self, reply: dict[str, Any], text: str | None) -> None:
        last = self.agent.conversation[-1] if len(self.agent.conversation) else None
        if text is None and last is not None and last.role == "assistant":
            text = "go on"  # step(None) after a reply is refused; see test_agent_loop
        self.model.replies.append(reply)
        message = self.agent.step(text)
        assert isinstance(message, Message)

    @rule()
    def the_api_fails(self) -> None:
        self.model.replies.append(ModelError("server down"))
        before = len(self.agent.conversation)
        try:
            self.agent.step("try")
        except ModelError:
            pass
        assert len(self.agent.conversation) == before + 1  # only the user message was added

    @invariant()
    def every_tool_call_is_answered_once_before_the_next_request(self) -> None:
        messages = self.agent.conversation.messages
        for index, message in enumerate(messages):
            if message.role == "assistant" and message.tool_calls:
                ids = [c.id for c in message.tool_calls]
                assert len(set(ids)) == len(ids)
                following = messages[index + 1 : index + 1 + len(ids)]
                assert [m.tool_call_id for m in following] == ids
                assert all(m.role == "tool" for m in following)
        wire = self.agent.request_messages()
        assert all(m["content"] is not None for m in wire)
        roles = [m["role"] for m in wire]
        assert not any(a == b == "assistant" for a, b in zip(roles, roles[1:]))

    def teardown(self) -> None:
        self._tmp.cleanup()
        escaped = self.workspace.parent / "escape.txt"
        assert not escaped.exists()


AgentMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_arbitrary_model_replies_keep_the_conversation_valid = AgentMachine.TestCase
