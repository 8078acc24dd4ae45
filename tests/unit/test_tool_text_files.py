"""A file written as a fenced block under its path: the text protocol's write, with no JSON.

Qwen2.5-Coder-1.5B, asked for JSON ``write_file`` calls, dropped the quotes of a module's
docstring (a ``"content"`` value in triple quotes that opened the file) and wrote the shell's
``$(cat words.txt | tac)`` as a file's text; a path line over a fenced block needs no escaping.
"""

from __future__ import annotations

import json

import pytest

from pygent.app.tool_text import TextActions, read_actions

NAMES = ("bash", "write_file", "stop")


def read(text: str, names: tuple[str, ...] = NAMES) -> TextActions:
    return read_actions(text, names, shell_blocks=True, shell_beside_calls=True,
                        file_blocks=True)


def calls_of(actions: TextActions) -> list[tuple[str, dict]]:
    return [(c.function.name, json.loads(c.function.arguments)) for c in actions.calls]


PAGES = '"""Split a list of items into pages."""\n\n\ndef page_count(total, per_page):\n' \
        '    return -(-total // per_page)\n'


@pytest.mark.parametrize("line", [
    "pages.py", "`pages.py`", "**pages.py**", "### pages.py", "pages.py:", "`pages.py`:",
    "  pages.py  ",
])
def test_a_path_alone_over_a_fence_writes_the_fence_text_to_that_path(line: str) -> None:
    actions = read(f"The fix:\n{line}\n```python\n{PAGES}```\nThat is all.")
    assert calls_of(actions) == [("write_file", {"path": "pages.py", "content": PAGES})]
    assert actions.prose == "The fix:\n\nThat is all." and actions.problems == []


def test_quotes_backslashes_and_fences_of_other_kinds_reach_the_file_as_written() -> None:
    text = 'print("a\\tb", \'c\')\nx = r"\\d+"\n'
    assert calls_of(read(f"tool.py\n```py\n{text}```")) == [
        ("write_file", {"path": "tool.py", "content": text})]


@pytest.mark.parametrize("path", ["webapp/README.md", ".gitignore", "src/pkg/__init__.py",
                                  "notes/2026-12.txt"])
def test_folders_dotfiles_and_bare_fences_are_files_too(path: str) -> None:
    assert calls_of(read(f"{path}\n\n```\nline\n```")) == [
        ("write_file", {"path": path, "content": "line\n"})]


def test_a_script_under_its_name_is_written_not_refused() -> None:
    # The 1.5B model wrote the script as a bash block; alone, that block is refused as text
    # that is no command (#!), but under its file name it is plainly the file.
    script = '#!/bin/bash\necho "backup-$1.tar.gz"\n'
    assert calls_of(read(f"backup_name.sh\n```bash\n{script}```")) == [
        ("write_file", {"path": "backup_name.sh", "content": script})]
    assert calls_of(read(f"run\n```sh\n{script}```")) == []  # no dot, no folder: no path


def test_a_shell_command_under_a_file_name_still_runs() -> None:
    actions = read("greet.py\n```bash\npython3 greet.py Ann\n```")
    assert calls_of(actions) == [("bash", {"cmd": "python3 greet.py Ann"})]


def test_lines_that_are_no_commands_under_a_file_name_are_its_text() -> None:
    # The 1.5B model put the names for names.txt in a bash fence under the file's name.
    names = "Anna\nbob\nZoe\n"
    assert calls_of(read(f"names.txt\n```bash\n{names}```")) == [
        ("write_file", {"path": "names.txt", "content": names})]
    assert calls_of(read("sorted.txt\n```bash\nsort -u names.txt\n```")) == [
        ("bash", {"cmd": "sort -u names.txt"})]  # a common command: run
    assert calls_of(read("sorted.txt\n```bash\nuniq names.txt > sorted.txt\n```")) == [
        ("bash", {"cmd": "uniq names.txt > sorted.txt"})]  # names its file: run


def test_a_files_text_with_no_path_over_it_is_answered_with_how_to_save_it() -> None:
    # Qwen2.5-Coder-1.5B: "I change the file." over config.json's whole new text, no path.
    actions = read('I change the file.\n```json\n{"debug": true, "port": 8080}\n```')
    assert actions.calls == [] and actions.problems == [
        "the ```json block has no file path on the line above it, so it was not saved: to "
        "write it to a file, put the file's path alone on the line above the block"]
    assert read_actions("Try:\n```python\nprint(1)\n```", NAMES, shell_blocks=True).problems \
        == []  # not the text protocol: no note
    assert read("Run:\n```bash\nls\n```").problems == []  # a command, run
    with_call = read('```python\nx = 1\n```\n```bash\nls\n```')
    assert with_call.problems == [] and len(with_call.calls) == 1  # an action: no note


def test_a_path_over_a_fence_left_open_and_empty_is_answered_with_how_to_fill_it() -> None:
    # Qwen2.5-Coder-1.5B: "I create the file.", sorted.txt, an opening fence, end of reply.
    for reply in ("I create the file.\nsorted.txt\n```", "sorted.txt\n\n```text\n  \n"):
        actions = read(reply)
        assert actions.calls == [] and actions.problems == [
            "the block under sorted.txt is empty and never closed, so nothing was written: put "
            "sorted.txt's whole text in the block and close it with ```, or make it with a "
            "command whose output goes to it (COMMAND > sorted.txt)"]
    assert read("Next:\n```").problems == []  # no path over it: nothing to say of a file
    # Closed, the empty block is an empty file, as written.
    assert calls_of(read("sorted.txt\n```\n```")) == [
        ("write_file", {"path": "sorted.txt", "content": ""})]


def test_a_json_call_under_a_file_name_is_the_call_and_other_json_is_the_file() -> None:
    call = '{"name": "bash", "arguments": {"cmd": "cat config.json"}}'
    assert calls_of(read(f"config.json\n```json\n{call}\n```")) == [
        ("bash", {"cmd": "cat config.json"})]
    config = '{"debug": true, "server": {"port": 8080}}\n'
    assert calls_of(read(f"config.json\n```json\n{config}```")) == [
        ("write_file", {"path": "config.json", "content": config})]


@pytest.mark.parametrize("reply", [
    "Here is the code:\n```python\nprint(1)\n```",  # prose, not a path
    "Note:\n```python\nprint(1)\n```",
    "1.\n```python\nprint(1)\n```",  # a list marker
    "e.g.\n```python\nprint(1)\n```",
    "Run python3 a.py\n```python\nprint(1)\n```",  # a path inside a sentence
    "a.py\n\n\n```python\nprint(1)\n```",  # two blank lines: too far to belong
    "a.py ```python\nprint(1)\n```",  # the fence does not open its own line
    "a.py\n```python\nprint(1)\n",  # never closed: maybe cut short, so not written
])
def test_no_path_line_right_over_a_whole_fence_means_no_file(reply: str) -> None:
    assert [name for name, _ in calls_of(read(reply))] != ["write_file"]


def test_file_blocks_are_off_unless_asked_and_without_a_write_tool() -> None:
    reply = "a.py\n```python\nprint(1)\n```"
    assert read_actions(reply, NAMES, shell_blocks=True).calls == []
    assert read(reply, ("bash", "stop")).calls == []


def test_files_and_commands_keep_reply_order() -> None:
    reply = "a.py\n```python\nprint(1)\n```\n```bash\npython3 a.py\n```"
    assert calls_of(read(reply)) == [("write_file", {"path": "a.py", "content": "print(1)\n"}),
                                     ("bash", {"cmd": "python3 a.py"})]

