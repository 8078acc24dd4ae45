"""read_actions on the reply shapes a real Qwen2.5-Coder-1.5B wrote, and the rules around them."""

from __future__ import annotations

import json

import pytest

from pygent.app.tool_text import TextActions, read_actions

NAMES = ("bash", "write_file", "stop")


def calls_of(actions: TextActions) -> list[tuple[str, dict]]:
    return [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls]


def fence(lang: str, body: str) -> str:
    return f"```{lang}\n{body}\n```"


# -- 2. JSON with an invalid escape -------------------------------------------------------------
def test_a_json_call_with_an_invalid_escape_is_read_as_the_model_wrote_it() -> None:
    text = (
        '```json {"name": "bash", "arguments": {"cmd": "find docs -name \'*.txt\' -exec rename '
        "'s/\\.txt$/.md/' {} \\\\;\"}} ```"
    )
    command = "find docs -name '*.txt' -exec rename 's/\\.txt$/.md/' {} \\;"
    actions = read_actions(text, NAMES)
    assert calls_of(actions) == [("bash", {"cmd": command})]
    assert actions.prose == "" and actions.problems == []


def test_a_docstrings_unescaped_triple_quotes_inside_json_content_are_its_text() -> None:
    # Qwen2.5-Coder-1.5B, converting inventory.py's tabs; the repair library had turned the
    # docstring into an argument named after it.
    body = ('{"name": "write_file", "arguments": {"path": "inventory.py", "content": '
            '"def restock(items):\\n    """Return the names."""\\n    return []\\n"}}')
    actions = read_actions(fence("json", body), NAMES)
    content = 'def restock(items):\n    """Return the names."""\n    return []\n'
    assert calls_of(actions) == [("write_file", {"path": "inventory.py", "content": content})]
    assert actions.problems == []
    escaped = body.replace('"""', '\\"\\"\\"')  # written correctly, it reads the same
    assert calls_of(read_actions(fence("json", escaped), NAMES)) == calls_of(actions)


# -- 3. an unknown tool -------------------------------------------------------------------------
def test_an_unknown_tool_is_a_problem_that_lists_the_tools() -> None:
    text = '```json {"name": "log_with_error", "arguments": {"path": "logs/error.log"}} ```'
    actions = read_actions(text, NAMES)
    assert actions.calls == [] and actions.prose == text
    assert actions.problems == [
        "unknown tool 'log_with_error' (available tools: bash, write_file, stop)"
    ]


# -- 4. doubled braces --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '{{"name": "write_file", "arguments": {"path": "fizzbuzz.py", "content": "print(1)"}}}',
        '{{"name": "write_file", "arguments": {{"path": "fizzbuzz.py", "content": "print(1)"}}}}',
        '```json\n{{"name": "write_file", "arguments": {{"path": "fizzbuzz.py", '
        '"content": "print(1)"}}}}\n```',
    ],
)
def test_doubled_braces_are_read_as_one_call(text: str) -> None:
    actions = read_actions(text, NAMES)
    assert calls_of(actions) == [("write_file", {"path": "fizzbuzz.py", "content": "print(1)"})]
    assert actions.problems == []


# -- 5. a plan in prose -------------------------------------------------------------------------
def test_a_plan_that_mentions_the_tools_is_neither_a_call_nor_a_problem() -> None:
    text = (
        "Here is how we will do it: first I will use bash to list files, then write_file to "
        "save the result. When you call stop, the task is complete."
    )
    assert read_actions(text, NAMES, shell_blocks=True) == TextActions([], text, [])


# -- 6. many calls in one reply -----------------------------------------------------------------
STEPS = ["mkdir -p textkit", "cd textkit && git init", "cd textkit && touch a.py",
         "cd textkit && ls", "cd textkit && python -m pytest", "cd textkit && git status"]


def test_six_bash_calls_and_a_stop_in_one_reply_are_seven_calls_in_order() -> None:
    lines = [json.dumps({"name": "bash", "arguments": {"command": step}}) for step in STEPS]
    text = "\n".join(lines) + '\n{"name": "stop", "arguments": {}}'
    expected = [("bash", {"command": step}) for step in STEPS] + [("stop", {})]
    assert calls_of(read_actions(text, NAMES)) == expected
    fenced = "\n".join(fence("json", line) for line in text.splitlines())
    assert calls_of(read_actions(fenced, NAMES)) == expected


def test_calls_in_tags_fences_and_prose_keep_reply_order() -> None:
    text = (
        'Start {"name": "bash", "arguments": {"cmd": "one"}}\n'
        + fence("json", '{"name": "bash", "arguments": {"cmd": "two"}}')
        + '\n<tool_call>{"name": "bash", "arguments": {"cmd": "three"}}</tool_call>'
    )
    assert [a["cmd"] for _, a in calls_of(read_actions(text, NAMES))] == ["one", "two", "three"]


def test_a_call_repeated_word_for_word_is_kept_once_and_so_is_a_problem() -> None:
    call = '{"name": "bash", "arguments": {"cmd": "ls"}}\n{"name": "nope", "arguments": {}}\n'
    actions = read_actions(call * 3, NAMES)
    assert calls_of(actions) == [("bash", {"cmd": "ls"})] and len(actions.problems) == 1


# -- 7. echoed tool schemas and <result> calls --------------------------------------------------
ECHOED_SCHEMA = (
    '{"type": "function", "function": {"name": "bash", "description": "Run a command.", '
    '"parameters": {"type": "object", "properties": {"command": {"type": "string"}}, '
    '"required": ["command"]}}}'
)


def test_an_echoed_tool_list_is_ignored_and_the_result_tags_are_the_calls() -> None:
    text = (
        "<tools>\n" + ECHOED_SCHEMA + "\n</tools>\n"
        "I will write the program.\n"
        '<result>{"name": "write_file", "arguments": {"path": "primes.py", '
        '"content": "print(2)"}}</result>\n'
        '<result>{"name": "stop", "arguments": {}}</result>'
    )
    actions = read_actions(text, NAMES, shell_blocks=True)
    expected = [("write_file", {"path": "primes.py", "content": "print(2)"}), ("stop", {})]
    assert calls_of(actions) == expected and actions.problems == []
    assert "I will write the program." in actions.prose and "<result>" not in actions.prose


@pytest.mark.parametrize(
    "text",
    [
        ECHOED_SCHEMA,
        "Tools:\n" + fence("json", ECHOED_SCHEMA),
        "<tools>\n" + ECHOED_SCHEMA + "\n",  # never closed
        "<tool_call>" + ECHOED_SCHEMA + "</tool_call>",
        '{"name": "bash", "parameters": {"type": "object", "properties": {}}}',
        '{"name": "stop", "description": "Call when the task is finished."}',
        ECHOED_SCHEMA.replace('"', "'"),  # repaired, still a schema
    ],
)
def test_an_echoed_tool_schema_is_neither_a_call_nor_a_problem(text: str) -> None:
    actions = read_actions(text, NAMES, shell_blocks=True)
    assert actions.calls == [] and actions.problems == []


# -- 8. near-JSON -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("{'name': 'bash', 'arguments': {'command': 'ls'}}", {"command": "ls"}),
        ('{"name": "bash", "arguments": {"cmd": "ls", "x": True, "y": None, "z": False}}',
         {"cmd": "ls", "x": True, "y": None, "z": False}),
        ('{"name": "bash", "arguments": {"cmd": "ls",},}', {"cmd": "ls"}),
        ('<tool_call>\n{"name": "bash", "arguments": {"cmd": "ls",}}\n</tool_call>', {"cmd": "ls"}),
        ('{"name": "bash", "arguments": "{\'cmd\': \'ls\'}"}', {"cmd": "ls"}),
    ],
)
def test_near_json_calls_are_repaired(text: str, arguments: dict) -> None:
    actions = read_actions(text, NAMES)
    assert calls_of(actions) == [("bash", arguments)] and actions.problems == []


def test_raw_newlines_in_a_string_are_read_as_newlines() -> None:
    text = (
        '<tool_call>\n{"name": "write_file", "arguments": {"path": "a.py", '
        '"content": "def f():\n\treturn 1\n"}}\n</tool_call>'
    )
    actions = read_actions(text, NAMES)
    expected = {"path": "a.py", "content": "def f():\n\treturn 1\n"}
    assert calls_of(actions) == [("write_file", expected)]


def test_mending_trailing_commas_leaves_the_strings_alone() -> None:
    text = '{"name": "write_file", "arguments": {"path": "a.js", "content": "x = {a: 1,}",},}'
    assert calls_of(read_actions(text, NAMES)) == [
        ("write_file", {"path": "a.js", "content": "x = {a: 1,}"})
    ]


# -- 9. attempts that cannot be read, and data that is no attempt -------------------------------
@pytest.mark.parametrize(
    ("text", "place"),
    [
        ('```json\n{"name": "bash", "arguments": \n```', "a json block"),
        ('```json\n{"name": "bash", "arguments": {"cmd": "ls"}\n```', "a json block"),
        ('<tool_call>{"name": "bash", "arguments": </tool_call>', "a <tool_call> tag"),
        ("<tool_call>run bash with ls</tool_call>", "a <tool_call> tag"),
        ('I call {"name": "write_file", "arguments": {"path": "a.py", "content": "x', "the reply"),
    ],
)
def test_a_call_attempt_that_cannot_be_read_is_a_problem_naming_it(text: str, place: str) -> None:
    actions = read_actions(text, NAMES, shell_blocks=True)
    assert actions.calls == [] and len(actions.problems) == 1
    assert actions.problems[0].startswith(f"could not read the tool call in {place}: ")
    assert len(actions.problems[0]) < 150


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "bash", "arguments": ["ls"]}',
         "the arguments of the call to 'bash' must be a JSON object"),
        ('{"name": "bash", "arguments": "ls -la"}',
         "the arguments of the call to 'bash' must be a JSON object"),
        ('{"name": "stop"}', "the call to 'stop' has no \"arguments\" object"),
        ('{"name": "bash", "args": {"cmd": "ls"}}',
         "the call to 'bash' has no \"arguments\" object"),
    ],
)
def test_a_call_to_a_real_tool_with_bad_arguments_is_a_problem(text: str, problem: str) -> None:
    assert read_actions(text, NAMES) == TextActions([], text, [problem])


@pytest.mark.parametrize(
    "text",
    [
        'The config is {"a": 1} and the list [1, 2, 3].',
        fence("json", '{"name": "Ada", "age": 36}'),
        '{"tool": "bash", "args": {"cmd": "ls"}}',
        "A set {1, 2} and a dict {name: value} in prose.",
        "<result>All 12 tests passed.</result>",
        fence("python", 'call = {"name": "bash", "arguments": {"cmd": "ls"}}'),
    ],
)
def test_data_and_prose_that_are_no_call_attempt_are_neither_call_nor_problem(text: str) -> None:
    assert read_actions(text, NAMES, shell_blocks=True) == TextActions([], text, [])


# -- 10. wrapped and string arguments -----------------------------------------------------------
def test_string_arguments_and_the_openai_function_shape_are_accepted() -> None:
    text = json.dumps([
        {"name": "bash", "arguments": json.dumps({"cmd": "ls"})},
        {"type": "function", "function": {"name": "stop", "arguments": "{}"}},
        {"tool_calls": [{"name": "write_file", "parameters": {"path": "a", "content": "b"}}]},
    ])
    actions = read_actions(text, NAMES)
    assert calls_of(actions) == [("bash", {"cmd": "ls"}), ("stop", {})]
    assert calls_of(read_actions(json.dumps(json.loads(text)[2]), NAMES)) == [
        ("write_file", {"path": "a", "content": "b"})
    ]


# -- the rest of the contract ------------------------------------------------------------------
def test_a_json_block_whose_content_holds_a_fence_is_read_whole() -> None:
    readme = "# Tool\n\n```bash\npip install tool\n```\n"
    call = {"name": "write_file", "arguments": {"path": "README.md", "content": readme}}
    text = "Writing the readme.\n" + fence("json", json.dumps(call)) + "\nDone."
    actions = read_actions(text, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("write_file", call["arguments"])]
    assert actions.prose == "Writing the readme.\n\nDone."


def test_every_call_gets_its_own_generated_id() -> None:
    text = "\n".join(json.dumps({"name": "bash", "arguments": {"cmd": c}}) for c in "abc")
    ids = [call.id for call in read_actions(text, NAMES).calls]
    assert len(set(ids)) == 3 and all(i.startswith("call_") and len(i) > 5 for i in ids)


def test_the_old_entry_points_are_thin_wrappers_of_read_actions() -> None:
    text = 'Go.\n{"name": "bash", "arguments": {"cmd": "ls"}}\n{"name": "nope", "arguments": {}}'
    actions = read_actions(text, NAMES)
    actions = read_actions(text, NAMES)
    calls, prose = actions.calls, actions.prose
    assert prose == actions.prose == 'Go.\n\n{"name": "nope", "arguments": {}}'
    assert [c.function for c in calls] == [c.function for c in actions.calls]
    assert [c.function for c in read_actions(text, NAMES).calls] == [
        c.function for c in actions.calls
    ]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_an_empty_reply_asks_for_nothing(text: str) -> None:
    assert read_actions(text, NAMES, shell_blocks=True) == TextActions([], text or "", [])


def test_a_reply_too_long_to_hold_a_call_is_not_scanned() -> None:
    text = '{"name": "stop", "arguments": {}}' + " " * 200_001
    assert read_actions(text, NAMES) == TextActions([], text, [])


def test_a_json_file_written_as_a_single_quoted_content_value_is_that_text() -> None:
    # Qwen2.5-Coder-1.5B editing config.json; the repair library had made "debug", "server"
    # and the rest arguments of write_file, cutting content at its first key.
    config = ('{"name": "inventory-service", "debug": true, "server": {"host": "0.0.0.0", '
              '"port": 8080}, "features": ["search", "export"]}')
    body = ('{"name": "write_file", "arguments": {"path": "config.json", "content": '
            f"'{config}'" + "}}")
    actions = read_actions(fence("json", body), NAMES)
    assert calls_of(actions) == [("write_file", {"path": "config.json", "content": config})]
    assert actions.problems == []


@pytest.mark.parametrize(("value", "content"), [
    ("'print(\\'hi\\')\\nx = \"y\"\\n'", "print('hi')\nx = \"y\"\n"),
    ("'a: \\'b\\''", "a: 'b'"),
    ("'plain'", "plain"),
])
def test_single_quoted_values_keep_their_quotes_and_escapes(value: str, content: str) -> None:
    body = '{"name": "write_file", "arguments": {"path": "a.py", "content": ' + value + "}}"
    assert calls_of(read_actions(body, NAMES)) == [
        ("write_file", {"path": "a.py", "content": content})]


def test_a_colon_and_quote_inside_a_string_are_not_a_value() -> None:
    body = '{"name": "write_file", "arguments": {"path": "a: \'b.txt", "content": \'hi\'}}'
    assert calls_of(read_actions(body, NAMES)) == [
        ("write_file", {"path": "a: 'b.txt", "content": "hi"})]


def test_content_in_python_triple_quotes_is_that_text() -> None:
    # Qwen2.5-Coder-1.5B, fifteen times in a row; it had been read as content "" plus a key.
    script = 'from textutils import slugify\n\nassert slugify("Hi") == "hi"\nprint("ok")\n'
    body = ('{"name": "write_file", "arguments": {"path": "t.py", "content": """'
            + script + '"""}}')
    assert calls_of(read_actions(fence("json", body), NAMES)) == [
        ("write_file", {"path": "t.py", "content": script})]
