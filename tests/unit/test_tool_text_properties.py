"""Properties of read_actions: it never raises, and prose or echoed schemas are never calls."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pygent.app.registry import builtin_tools
from pygent.app.tool_text import read_actions

NAMES = ("bash", "write_file", "stop")
SCHEMAS = [spec.to_openai() for spec in builtin_tools()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
call_objects = st.builds(
    lambda name, args: {"name": name, "arguments": args},
    st.sampled_from([*NAMES, "rm", "log_with_error"]),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)
noise_pieces = st.one_of(
    st.text(max_size=20),
    st.sampled_from([
        "{", "}", "{{", "}}", "[", "]", '"', "'", ":", ",", "\\", "\\\\", "\n", "$ ",
        "```", "```json\n", "```bash\n", "```console\n", "```python\n",
        "<tool_call>", "</tool_call>", "<result>", "</result>", "<tools>", "</tools>",
        '"name":', "'name':", '"arguments":', '"parameters":', '"bash"', "'stop'",
        "True", "None", '"type": "object"', '"properties":', "a.py\n", "**run.sh**\n",
        "#!/bin/sh\n",
    ]),
    json_values.map(json.dumps),
    call_objects.map(json.dumps),
    call_objects.map(repr),
)
noise = st.lists(noise_pieces, max_size=16).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.booleans(), st.booleans())
def test_read_actions_never_raises_on_arbitrary_text(text: str, shell_blocks: bool,
                                                     file_blocks: bool) -> None:
    read_actions(text, NAMES, shell_blocks=shell_blocks, file_blocks=file_blocks)


@settings(max_examples=300, deadline=None)
@given(noise, st.booleans(), st.booleans())
def test_every_call_read_names_a_registered_tool_with_object_arguments(
    text: str, shell_blocks: bool, file_blocks: bool
) -> None:
    actions = read_actions(text, NAMES, shell_blocks=shell_blocks, file_blocks=file_blocks)
    for call in actions.calls:
        assert call.function.name in NAMES
        assert isinstance(json.loads(call.function.arguments), dict)
    assert len({call.id for call in actions.calls}) == len(actions.calls)
    assert all(isinstance(problem, str) and problem for problem in actions.problems)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["{", "[", "{{", '{"name": ', "[{", '{"a": [', "```json\n{", "<tool_call>{",
                        "\\", '"']),
       st.integers(min_value=500, max_value=20_000), st.booleans())
def test_huge_nesting_neither_raises_nor_hangs(opening: str, depth: int, closed: bool) -> None:
    text = opening * depth + ("}" * depth if closed else "")
    assert read_actions(text, NAMES, shell_blocks=True).calls == []


# -- prose that mentions tools ------------------------------------------------------------------
prose_words = st.sampled_from([
    *NAMES, "I", "will", "use", "call", "the", "tool", "with", "then", "name", "arguments",
    "command", "path", "content", "first", "When", "you", "task", "is", "complete", "ls",
    "echo", "hi", "file", ".", ",", ":", ";", "'", '"', "(", ")", "-", "!", "?", "\n",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(prose_words, max_size=40).map(" ".join), st.booleans())
def test_prose_that_only_mentions_tools_asks_for_nothing(text: str, shell_blocks: bool) -> None:
    # The one exception, where shell blocks are actions: a last line that is just ``stop``
    # (or ``stop "result"``), the text protocol's way to finish written without its fence.
    assume(not (shell_blocks and re.search(r'^ *stop *(?:"[^\n]*" *)?\Z', text, re.MULTILINE)))
    actions = read_actions(text, NAMES, shell_blocks=shell_blocks, file_blocks=shell_blocks)
    assert actions.calls == [] and actions.problems == [] and actions.prose == text


# -- echoed tool schemas ------------------------------------------------------------------------
def schema_shapes(schema: dict[str, Any]) -> list[Any]:
    function = schema["function"]
    return [schema, function, [schema], {"tools": [schema]},
            {"name": function["name"], "parameters": function["parameters"]}]


def render(value: Any, how: str) -> str:
    if how == "repr":
        return repr(value)  # single quotes and Python literals: goes through repair
    return json.dumps(value, indent=2 if how == "indented" else None)


WRAPS = [
    "{}", "Available tools:\n{}\nI will use them.", "<tools>\n{}\n</tools>", "<tools>{}",
    "```json\n{}\n```", "```\n{}\n```", "<tool_call>\n{}\n</tool_call>", "<result>{}</result>",
    "```bash\n{}\n```", "<tools>\n```json\n{}\n```\n</tools>",
]
echoes = st.builds(
    lambda schemas, pick, how, wrap: wrap.replace(
        "{}", "\n".join(render(schema_shapes(s)[pick], how) for s in schemas)
    ),
    st.lists(st.sampled_from(SCHEMAS), min_size=1, max_size=3),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(["plain", "indented", "repr"]),
    st.sampled_from(WRAPS),
)


@settings(max_examples=200, deadline=None)
@given(echoes, st.booleans())
def test_an_echoed_tool_schema_is_never_a_call_or_a_problem(text: str, shell_blocks: bool) -> None:
    actions = read_actions(text, NAMES, shell_blocks=shell_blocks, file_blocks=shell_blocks)
    assert actions.calls == [] and actions.problems == []


@settings(max_examples=100, deadline=None)
@given(echoes, call_objects.filter(lambda c: c["name"] in NAMES))
def test_a_real_call_beside_an_echoed_schema_is_the_only_call(text: str, call: dict) -> None:
    reply = f"{text}\n<result>{json.dumps(call)}</result>"
    actions = read_actions(reply, NAMES)
    read = [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls]
    assert read == [(call["name"], call["arguments"])] and actions.problems == []


# -- near-JSON --------------------------------------------------------------------------------
plain_text = st.text(st.characters(whitelist_categories=("L", "N", "Zs")), max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(NAMES), st.dictionaries(plain_text, plain_text | st.booleans(), max_size=3),
       st.sampled_from(["repr", "doubled", "trailing"]))
def test_a_call_in_near_json_is_read_exactly(name: str, args: dict, how: str) -> None:
    call = {"name": name, "arguments": args}
    text = {
        "repr": repr(call),
        "doubled": "{" + json.dumps(call) + "}",
        "trailing": json.dumps(call)[:-1] + ",}",
    }[how]
    actions = read_actions(f"Doing it.\n{text}\n", NAMES)
    assert [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls] == [
        (name, args)
    ]
