"""The domain's messages and conversations: round trips that lose nothing, wire forms that strict
servers accept."""

from __future__ import annotations

import json
from typing import Any, Optional

from hypothesis import given
from hypothesis import strategies as st

from pygent.domain.conversation import Conversation
from pygent.domain.errors import said
from pygent.domain.messages import Message, ToolCall, ToolCallFunction

texts = st.text(max_size=40)
optional_texts = st.none() | texts
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)

tool_calls = st.builds(
    ToolCall,
    id=texts,
    type=st.just("function"),
    function=st.builds(ToolCallFunction, name=texts, arguments=texts),
)

# ``None`` or a non-empty list: an empty list of tool calls means "no tool calls" and is
# stored as ``None`` (strict servers refuse ``"tool_calls": []``).
messages = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    content=optional_texts,
    tool_calls=st.none() | st.lists(tool_calls, min_size=1, max_size=3),
    tool_call_id=optional_texts,
    name=optional_texts,
)
conversations = st.lists(messages, max_size=8).map(Conversation)


@given(conversations)
def test_a_conversation_survives_a_json_round_trip_unchanged(conversation: Conversation) -> None:
    restored = Conversation.from_json(conversation.to_json())
    assert restored == conversation
    assert restored.to_json() == conversation.to_json()


def test_json_keeps_none_content_apart_from_empty_content() -> None:
    conversation = Conversation(
        [Message("assistant", None, [ToolCall("c1", function=ToolCallFunction("bash"))]),
         Message("assistant", "")]
    )
    restored = Conversation.from_json(conversation.to_json())
    assert [m.content for m in restored] == [None, ""]


def test_tool_calls_and_tool_results_survive_json() -> None:
    call = ToolCall("call_1", function=ToolCallFunction("bash", '{"cmd": "ls"}'))
    conversation = Conversation([
        Message("user", "list"),
        Message("assistant", None, tool_calls=[call]),
        Message("tool", "a.txt", tool_call_id="call_1", name="bash"),
    ])
    restored = Conversation.from_json(conversation.to_json())
    assert restored[1].tool_calls == [call]
    assert (restored[2].tool_call_id, restored[2].name) == ("call_1", "bash")


@given(conversations)
def test_the_openai_form_round_trips_everything_the_wire_carries(
    conversation: Conversation,
) -> None:
    wire = conversation.to_openai()
    restored = Conversation.from_openai(json.loads(json.dumps(wire)))
    assert restored.to_openai() == wire
    for before, after in zip(conversation, restored):
        assert after.role == before.role
        assert after.content == (before.content or "")
        assert after.tool_calls == before.tool_calls
        assert after.tool_call_id == before.tool_call_id
        assert after.name == (None if before.role == "tool" else before.name)


@given(conversations)
def test_the_openai_form_is_each_message_in_order(conversation: Conversation) -> None:
    assert conversation.to_openai() == [m.to_dict() for m in conversation.messages]


@given(messages)
def test_a_wire_message_never_has_null_content_or_null_fields(message: Message) -> None:
    data = message.to_dict()
    assert isinstance(data["content"], str)
    assert None not in data.values()
    for call in data.get("tool_calls", []):
        assert None not in call.values() and None not in call["function"].values()


@given(messages)
def test_a_message_survives_its_lossless_record(message: Message) -> None:
    assert Message.from_dict(json.loads(json.dumps(message.to_record()))) == message


@given(st.fixed_dictionaries({}, optional={
    "id": st.none() | texts,
    "type": st.none() | texts,
    "function": st.none() | st.fixed_dictionaries({}, optional={
        "name": st.none() | texts,
        "arguments": json_values,
    }),
}))
def test_a_tool_call_is_read_from_a_dict_with_any_keys_missing(data: dict[str, Any]) -> None:
    call = ToolCall.from_dict(data)
    assert isinstance(call.id, str) and isinstance(call.function.name, str)
    assert call.type == (data.get("type") or "function")
    arguments = (data.get("function") or {}).get("arguments")
    if isinstance(arguments, str):
        assert call.function.arguments == arguments
    elif arguments is None:
        assert call.function.arguments == "{}"
    else:
        assert json.loads(call.function.arguments) == arguments


def test_an_empty_tool_call_dict_becomes_a_nameless_call_with_empty_arguments() -> None:
    assert ToolCall.from_dict({}) == ToolCall("", "function", ToolCallFunction("", "{}"))


@given(st.lists(st.one_of(st.builds(lambda t: {"type": "text", "text": t}, texts), texts),
                max_size=4))
def test_content_given_as_parts_is_read_as_their_text(parts: list[Any]) -> None:
    message = Message.from_dict({"role": "user", "content": parts})
    expected = "".join(p["text"] if isinstance(p, dict) else p for p in parts)
    assert message.content == expected


@given(optional_texts)
def test_a_message_dict_without_a_role_is_an_assistant_message(content: Optional[str]) -> None:
    assert Message.from_dict({"content": content}) == Message("assistant", content)


def test_an_error_is_said_in_one_line_with_its_type() -> None:
    error = RuntimeError("worker died\n  File 'x.py', line 3\nMemoryError")
    assert said(error) == "RuntimeError: worker died"
    assert said(error, whole=True) == "RuntimeError: worker died File 'x.py', line 3 MemoryError"
    assert said(ValueError("x" * 600), whole=True) == "ValueError: " + "x" * 500
    assert said(KeyError()) == said(KeyError(), whole=True) == "KeyError"
