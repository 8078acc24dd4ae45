"""Fenced shell blocks read as bash calls, for models that answer with a script."""

from __future__ import annotations

import json

import pytest

from pygent.app.registry import builtin_tools
from pygent.app.tool_text import TextActions, read_actions

NAMES = ("bash", "write_file", "stop")
SHELL_ARG = next(s for s in builtin_tools() if s.name == "bash").parameters["required"][0]


def calls_of(actions: TextActions) -> list[tuple[str, dict]]:
    return [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls]


def fence(lang: str, body: str) -> str:
    return f"```{lang}\n{body}\n```"


# -- 1. prose and a fenced shell block ----------------------------------------------------------
COUNT_REPLY = (
    "Let me count them.\n"
    "```bash\n"
    "line_count=$(wc -l < data.txt)\n"
    'echo "$line_count" > count.txt\n'
    "```"
)
COUNT_SCRIPT = 'line_count=$(wc -l < data.txt)\necho "$line_count" > count.txt'


def test_a_fenced_bash_block_becomes_a_bash_call_when_shell_blocks_are_on() -> None:
    actions = read_actions(COUNT_REPLY, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: COUNT_SCRIPT})]
    assert actions.prose == "Let me count them." and actions.problems == []


def test_a_fenced_bash_block_stays_prose_when_shell_blocks_are_off() -> None:
    assert read_actions(COUNT_REPLY, NAMES) == TextActions([], COUNT_REPLY, [])


@pytest.mark.parametrize("lang", ["bash", "sh", "shell", "console", "zsh", "BASH", "Shell"])
def test_every_shell_language_is_read_whatever_its_case(lang: str) -> None:
    actions = read_actions(fence(lang, "ls -la"), NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: "ls -la"})]


def test_a_shell_block_is_not_a_call_when_no_bash_tool_is_registered() -> None:
    assert read_actions(COUNT_REPLY, ("write_file", "stop"), shell_blocks=True).calls == []


@pytest.mark.parametrize("lang", ["python", "text", "diff", ""])
def test_code_fenced_in_another_language_is_never_run(lang: str) -> None:
    assert read_actions(fence(lang, "ls -la"), NAMES, shell_blocks=True).calls == []


def test_a_console_block_runs_its_prompted_lines_and_drops_the_output() -> None:
    body = "$ ls\na.txt  b.txt\n$ wc -l a.txt \\\n    b.txt\n3 a.txt\n$ cat a.txt\nhello"
    actions = read_actions(fence("console", body), NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: "ls\nwc -l a.txt \\\n    b.txt\ncat a.txt"})]


def test_a_console_block_without_any_prompt_is_taken_whole() -> None:
    actions = read_actions(fence("console", "mkdir out\ntouch out/a"), NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: "mkdir out\ntouch out/a"})]


def test_a_bash_block_loses_its_prompts_only_when_every_line_has_one() -> None:
    prompted = read_actions(fence("bash", "$ ls\n$ pwd"), NAMES, shell_blocks=True)
    assert calls_of(prompted) == [("bash", {SHELL_ARG: "ls\npwd"})]
    mixed = read_actions(fence("bash", 'echo "$ 5"\n$ ls'), NAMES, shell_blocks=True)
    assert calls_of(mixed) == [("bash", {SHELL_ARG: 'echo "$ 5"\n$ ls'})]


def test_several_shell_blocks_are_one_call_each_in_order_and_empty_ones_are_skipped() -> None:
    text = "First:\n" + fence("bash", "ls") + "\nThen:\n" + fence("sh", "  \n") + "\n"
    text += fence("sh", "pwd") + "\nDone."
    actions = read_actions(text, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: "ls"}), ("bash", {SHELL_ARG: "pwd"})]
    assert actions.prose == "First:\n\nThen:\n\nDone."  # an empty fence is noise


def test_shell_blocks_count_only_when_the_reply_holds_no_json_call() -> None:
    text = fence("bash", "ls") + "\n" + fence("json", '{"name": "stop", "arguments": {}}')
    actions = read_actions(text, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("stop", {})]
    assert actions.prose == fence("bash", "ls")


def test_a_shell_block_cut_off_by_the_end_of_the_reply_is_not_run() -> None:
    assert read_actions("Cleaning:\n```bash\nrm -rf bui", NAMES, shell_blocks=True).calls == []


def test_a_bare_call_whose_string_holds_a_fence_is_one_call_and_runs_no_shell() -> None:
    readme = "# Tool\n\n```bash\nrm -rf build\n```\n"
    call = {"name": "write_file", "arguments": {"path": "README.md", "content": readme}}
    actions = read_actions("Writing it. " + json.dumps(call), NAMES, shell_blocks=True)
    assert calls_of(actions) == [("write_file", call["arguments"])]
    assert actions.prose == "Writing it." and actions.problems == []


def test_a_fence_opened_mid_line_still_counts() -> None:
    actions = read_actions("Run this: ```bash\nls\n``` please", NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: "ls"})]
    assert actions.prose == "Run this:  please"


def test_json_in_a_shell_fence_is_read_as_json_and_never_run() -> None:
    call = fence("bash", '{"name": "write_file", "arguments": {"path": "a", "content": "b"}}')
    actions = read_actions(call, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("write_file", {"path": "a", "content": "b"})]


@pytest.mark.parametrize(
    "script",
    [
        "{ echo a; echo b; } > out.txt\n[ -f out.txt ] && cat out.txt",
        '{ cat <<EOF\n{"a": 1}\nEOF\n} > data.json',
        "[ -d src ] || mkdir src",
    ],
)
def test_a_script_that_opens_with_a_brace_or_bracket_still_runs(script: str) -> None:
    actions = read_actions(fence("bash", script), NAMES, shell_blocks=True)
    assert calls_of(actions) == [("bash", {SHELL_ARG: script})]


def test_beside_a_json_call_a_shell_block_waits_unless_shell_beside_calls_is_on() -> None:
    reply = ('Create it:\n```bash\necho hi > a.txt\n```\nThen:\n'
             '```json\n{"name": "stop", "arguments": {}}\n```')
    only_json = read_actions(reply, NAMES, shell_blocks=True)
    assert [c.function.name for c in only_json.calls] == ["stop"]
    both = read_actions(reply, NAMES, shell_blocks=True, shell_beside_calls=True)
    assert [(c.function.name, c.function.arguments) for c in both.calls] == [
        ("bash", json.dumps({"cmd": "echo hi > a.txt"})), ("stop", "{}")]


@pytest.mark.parametrize(("reply", "command"), [
    ('```json\n{"name": "run", "arguments": {"cmd": "python3 greet.py Ann"}}\n```',
     "python3 greet.py Ann"),
    ('```json\n{"name": "cat", "arguments": {"path": "pages.py"}}\n```', "cat pages.py"),
    ('{"name": "execute_command", "arguments": {"command": "ls -la"}}', "ls -la"),
    ('```json\n{"name": "python3", "arguments": {"file": "my script.py"}}\n```',
     "python3 'my script.py'"),
])
def test_an_invented_tool_that_plainly_runs_a_command_is_a_bash_call(
    reply: str, command: str,
) -> None:
    actions = read_actions(reply, NAMES)
    assert calls_of(actions) == [("bash", {SHELL_ARG: command})] and actions.problems == []


def test_other_invented_tools_stay_problems_and_need_bash_registered() -> None:
    unknown = '```json\n{"name": "log_with_error", "arguments": {"path": "logs/error.log"}}\n```'
    assert read_actions(unknown, NAMES).problems
    cat = '```json\n{"name": "cat", "arguments": {"path": "a.py"}}\n```'
    assert read_actions(cat, ("write_file", "stop")).calls == []
    two = '```json\n{"name": "run", "arguments": {"cmd": "ls", "cwd": "x"}}\n```'
    assert read_actions(two, NAMES).calls == []


# -- shapes Qwen2.5-Coder-1.5B wrote into shell fences (issue 12) ------------------------------
SHELL_NAMES = ["bash", "write_file", "stop"]


def _read(text: str) -> tuple[list[tuple[str, dict[str, object]]], list[str]]:
    actions = read_actions(text, SHELL_NAMES, shell_blocks=True, shell_beside_calls=True)
    return [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls], \
        actions.problems


def test_stop_run_as_a_command_is_the_stop_tool() -> None:
    assert _read("```bash\nstop\n```") == ([("stop", {"result": ""})], [])
    assert _read('```bash\nstop "all done"\n```') == ([("stop", {"result": "all done"})], [])
    assert _read("```bash\nstopwatch\n```") == ([("bash", {"cmd": "stopwatch"})], [])
    assert _read("```bash\nstop\nls\n```") == ([("bash", {"cmd": "stop\nls"})], [])


def test_a_tool_called_like_a_python_function_in_a_shell_fence_is_that_call() -> None:
    written = '```bash\nwrite_file("reverse.py", "print(1)\\n")\n```'
    assert _read(written) == ([("write_file", {"path": "reverse.py", "content": "print(1)\n"})],
                              [])
    named = "```sh\nwrite_file(path='a.txt', content='hi')\n```"
    assert _read(named) == ([("write_file", {"path": "a.txt", "content": "hi"})], [])
    for shell in ("```bash\nprintf('x')\n```", "```bash\nwrite_file(name)\n```",
                  "```bash\nwrite_file('a', 'b', 'c')\n```", "```bash\nbash('ls')\n```"):
        calls, _ = _read(shell)
        assert [name for name, _ in calls] == ["bash"], shell


def test_a_script_written_out_in_a_shell_fence_is_not_run() -> None:
    script = '```bash\n#!/bin/bash\nbackup_name="$1"\necho "backup-$backup_name.tar.gz"\n```'
    calls, problems = _read(script)
    assert calls == [] and len(problems) == 1
    assert "starts with #!" in problems[0] and "write_file" in problems[0]


# -- Python written in a shell block ------------------------------------------------------------
# Qwen2.5-Coder-1.5B sent this block 25 times: bash said "syntax error near unexpected token
# `('" with a line number one higher each time, so no two results were the same.
PYTHON_IN_BASH = ("```bash\ndef page_count(total_pages, pages_per_sheet):\n"
                  "    return total_pages // pages_per_sheet + (total_pages % pages_per_sheet != 0)"
                  "\n\nprint(page_count(11, 10))\n```")


@pytest.mark.parametrize("body", [
    "def f(x):\n    return x", "class Pages:\n    pass", "from math import ceil\nceil(1.5)",
    "print(sum(range(3)))", 'if __name__ == "__main__":\n    main()',
])
def test_python_in_a_shell_block_is_not_run_and_the_model_is_told_how_to_save_it(
    body: str,
) -> None:
    actions = read_actions(fence("bash", body), NAMES, shell_blocks=True)
    assert actions.calls == [] and len(actions.problems) == 1
    assert "holds Python code" in actions.problems[0]
    assert "call write_file" in actions.problems[0]  # no file blocks: the tool is the way
    with_files = read_actions(PYTHON_IN_BASH, NAMES, shell_blocks=True, file_blocks=True)
    assert "path alone on the line above a ```python block" in with_files.problems[0]


@pytest.mark.parametrize("body", [
    "printf '%s\\n' a b", "python3 -c 'print(1)'", "import -window root shot.png",
    "definitions=3; echo $definitions", "classify.sh input.txt",
])
def test_shell_that_only_resembles_python_still_runs(body: str) -> None:
    assert calls_of(read_actions(fence("bash", body), NAMES, shell_blocks=True)) == [
        ("bash", {SHELL_ARG: body})]


# -- stop written without its fence -------------------------------------------------------------
@pytest.mark.parametrize(("reply", "result"), [
    ('stop "fixed the syntax error"', "fixed the syntax error"),  # Qwen2.5-Coder-1.5B, verbatim
    ("It prints Hello, Ann! now.\nstop 'done'\n", "done"),
    ("stop", ""),
])
def test_a_last_line_that_is_only_stop_is_the_stop_tool(reply: str, result: str) -> None:
    actions = read_actions(reply, NAMES, shell_blocks=True)
    assert calls_of(actions) == [("stop", {"result": result})]
    assert "stop" not in actions.prose


@pytest.mark.parametrize("reply", [
    "stop the server first", 'stop "done" and then more', 'stop "done"\nthen more words',
    "We should stop.", "```bash\nls\n```\nstop",  # a call already: the stop line is no second
])
def test_stop_in_prose_or_beside_a_call_is_no_bare_stop(reply: str) -> None:
    assert [name for name, _ in calls_of(read_actions(reply, NAMES, shell_blocks=True))] \
        in ([], ["bash"])


def test_a_bare_stop_is_read_only_where_shell_blocks_are_actions() -> None:
    assert read_actions('stop "done"', NAMES).calls == []


# -- a tool written as a command ----------------------------------------------------------------
def test_a_tool_written_as_a_command_in_a_shell_block_is_that_call() -> None:
    # Qwen2.5-Coder-1.5B, told its #! block was a script's text, answered with this block.
    reply = ("```bash\nwrite_file backup_name.sh '#!/bin/bash\necho \"backup-$1.tar.gz\"'\n"
             'stop "what you did"\n```')
    assert _read(reply) == ([("write_file", {"path": "backup_name.sh",
                                            "content": '#!/bin/bash\necho "backup-$1.tar.gz"'})],
                            [])
    assert _read('```sh\nwrite_file notes.txt "two words"\n```') == (
        [("write_file", {"path": "notes.txt", "content": "two words"})], [])


@pytest.mark.parametrize("body", [
    "write_file a.txt", "write_file a.txt b c", "write_file a.txt hi\nls",
    "write_file 'a.txt hi", "echo write_file a.txt hi",
])
def test_commands_that_are_no_whole_tool_call_still_run_as_commands(body: str) -> None:
    calls, _ = _read(fence("bash", body))
    assert [name for name, _ in calls] == ["bash"]
