"""A failed check that names one function asks for it alone, and puts the answer in its place.

Asked to write pages.py whole and fixed, Qwen2.5-Coder-1.5B copied the file it had been shown,
bug and all, five times; asked for page_count alone it wrote ``(total + per_page - 1) //
per_page`` at once. These tests hold the asking (what is shown, and when nothing is) and the
splicing (what is kept, and which writes are left alone).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygent.app.agent import REDRAW_TEMPERATURE, AgentLoop
from pygent.app.function_edit import (
    called_function,
    definition_text,
    definitions_only,
    splice,
)
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.app.run_guide import RunGuide
from pygent.app.text_shell import python_style_call
from pygent.app.tracebacks import failed_equality, value_script
from pygent.runtime import Runtime
from tests.fakes import FakeModel, SamplingModel, call, calls, say

PAGES = ('"""Pages."""\n\nimport math\n\n\ndef page_count(total, per_page):\n'
         "    return total // per_page\n\n\n@staticmethod\ndef page(items, number):\n"
         "    return items[number]\n\nLIMIT = 3\n")
TEST = ("from pages import page_count\n\nassert page_count(10, 10) == 1\n"
        "assert page_count(11, 10) == 2\n")
FIXED = "def page_count(total, per_page):\n    return -(-total // per_page)\n"
CHECK = "python3 test_pages.py"
STOP = '```json\n{"name": "stop", "arguments": {"result": "done"}}\n```'


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "pages.py").write_text(PAGES)
    (workspace / "test_pages.py").write_text(TEST)
    with Runtime(use_docker=False, workspace=workspace) as each:
        yield each


def text_agent(model: FakeModel, runtime: Runtime) -> AgentLoop:
    return AgentLoop(model, runtime, tools=ToolRegistry(builtin_tools()), tool_protocol="text",
                     example_task=False, check_before_stop=True, read_before_write=True)


def results(model: FakeModel) -> list[str]:
    """What each request's last user turn said (the text protocol's tool results)."""
    return [request["messages"][-1]["content"] for request in model.requests]


def run(runtime: Runtime, *replies: str) -> tuple[AgentLoop, FakeModel]:
    model = FakeModel([say(f"```bash\n{CHECK}\n```"), *map(say, replies), say(STOP), say(STOP)])
    loop = text_agent(model, runtime)
    loop.run_until_stop(f"Fix pages.py so that {CHECK} passes.")
    return loop, model


def test_a_failed_assert_shows_its_function_and_asks_for_it_alone(runtime: Runtime) -> None:
    _, model = run(runtime)
    asked = results(model)[1]
    assert "page_count(11, 10) gives 1, not 2." in asked
    assert ("[page_count is in pages.py:\n```python\ndef page_count(total, per_page):\n"
            "    return total // per_page\n```\nWrite only page_count, fixed: a python block "
            "with just its def and body. It replaces page_count in pages.py, and the rest of "
            "pages.py stays as it is.]") in asked


@pytest.mark.parametrize("reply", [
    f"The fix:\n```python\n{FIXED}```",  # as asked: no path over it
    f"pages.py\n```python\n{FIXED}```",  # under the file's path
    f"```python\nimport math\n\n{FIXED}```",  # with an import the file has
])
def test_the_function_alone_is_put_in_its_place_and_the_rest_kept(runtime: Runtime,
                                                                    reply: str) -> None:
    loop, model = run(runtime, reply, f"```bash\n{CHECK}\n```")
    text = (runtime.workspace / "pages.py").read_text()
    assert text == PAGES.replace("return total // per_page", "return -(-total // per_page)")
    assert "[page_count was put in place in pages.py; the rest of the file is as it was. " \
           "Run the check.]" in results(model)[2]
    assert results(model)[3] == "Result of bash:\n(no output, exit status 0)"
    kept = [m for m in loop.conversation if m.role == "assistant"][1]
    words = kept.content or ""
    assert "return -(-total // per_page)" in words and "LIMIT" not in words
    assert "LIMIT = 3" in kept.tool_calls[0].function.arguments  # the call says what was written


def test_the_same_function_written_back_a_third_time_is_drawn_again(runtime: Runtime) -> None:
    # The 1.5B model wrote slugify back unchanged, alone as asked, five times in a row.
    same = "```python\ndef page_count(total, per_page):\n    return total // per_page\n```"
    model = SamplingModel([say(f"```bash\n{CHECK}\n```"), *(say(same) for _ in range(3)),
                           say(STOP)])
    text_agent(model, runtime).run_until_stop(f"Fix pages.py so that {CHECK} passes.")
    assert model.temperatures[:5] == [None, None, None, None, REDRAW_TEMPERATURE]


def test_a_name_a_test_cannot_import_is_asked_for_as_a_new_function(runtime: Runtime) -> None:
    (runtime.workspace / "test_pages.py").write_text(
        "from pages import page_count, slugify\n\nassert slugify('A b') == 'a-b'\n")
    slug = "def slugify(text):\n    return '-'.join(text.lower().split())\n"
    _, model = run(runtime, f"```python\n{slug}```", f"```bash\n{CHECK}\n```")
    assert ("[Write only the new slugify: a python block with just this function, its body "
            "written. It is added to pages.py, and the rest of pages.py stays as it is:\n"
            "```python\ndef slugify(...):\n    ...\n```]") in results(model)[1]
    assert (runtime.workspace / "pages.py").read_text() == PAGES + "\n\n" + slug
    assert results(model)[3] == "Result of bash:\n(no output, exit status 0)"


def test_the_review_the_recheck_and_a_repeat_end_with_the_request(runtime: Runtime) -> None:
    # With the request before the files shown whole, the 1.5B model wrote the whole file
    # back; with it before a line of prose, it ran cat; with the code block last, it wrote
    # the function (the same conversation, replayed).
    look = "```bash\ncat pages.py\n```"
    model = FakeModel([say(STOP), say(STOP), say(look), say(look), say(STOP), say(STOP)])
    text_agent(model, runtime).run_until_stop(f"Fix pages.py so that {CHECK} passes.")
    review, recheck, _, repeat = results(model)[1:5]
    asked = ("page_count is in pages.py:\n```python\ndef page_count(total, per_page):\n"
             "    return total // per_page\n```\nWrite only page_count, fixed: a python block "
             "with just its def and body. It replaces page_count in pages.py, and the rest of "
             "pages.py stays as it is.")
    assert review.endswith(f"It fails. {asked}") and review.count("Write only") == 1
    assert "--- pages.py holds" not in review  # no whole file to copy
    assert recheck.startswith("Result of stop:\nNot stopped: the check still fails (if it "
                              "cannot be fixed, call stop again and say why).\n$ python3 "
                              "test_pages.py\n")
    assert recheck.endswith(f"\n{asked}") and recheck.count("Write only") == 1
    assert repeat.endswith(f"doing it again changes nothing. Next: {asked}")


def test_a_whole_file_write_is_written_as_it_is(runtime: Runtime) -> None:
    whole = '"""Pages."""\n\n' + FIXED
    run(runtime, f"pages.py\n```python\n{whole}```")
    assert (runtime.workspace / "pages.py").read_text() == whole


def test_definitions_written_to_another_file_are_not_spliced(runtime: Runtime) -> None:
    run(runtime, f"other.py\n```python\n{FIXED}```")
    assert (runtime.workspace / "other.py").read_text() == FIXED
    assert (runtime.workspace / "pages.py").read_text() == PAGES


def test_a_block_of_another_function_with_no_path_is_not_taken(runtime: Runtime) -> None:
    _, model = run(runtime, "```python\ndef other():\n    return 1\n```")
    assert (runtime.workspace / "pages.py").read_text() == PAGES
    assert "has no file path on the line above it" in results(model)[2]


def test_a_chat_is_never_asked_for_a_function(runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": CHECK})), say("It fails.")])
    loop = AgentLoop(model, runtime, tools=ToolRegistry(builtin_tools()))
    loop.run_until_stop("check", unattended=False)
    output = [m.content for m in loop.conversation if m.role == "tool"][0] or ""
    assert "AssertionError" in output and "Write only" not in output


def test_a_module_that_is_a_link_out_of_the_workspace_is_neither_shown_nor_spliced(
        runtime: Runtime, tmp_path: Path) -> None:
    # The test is the model's to write: its import may name any module. The module is read
    # only as a regular file inside the shell's folder, never through a link.
    outside = tmp_path / "secret.py"
    outside.write_text("def page_count(total, per_page):\n    return 'the secret'\n")
    (runtime.workspace / "pages.py").unlink()
    (runtime.workspace / "pages.py").symlink_to(outside)
    _, model = run(runtime, f"```python\n{FIXED}```")
    assert "the secret" not in "\n".join(results(model))
    assert "Write only" not in results(model)[1]
    assert outside.read_text().endswith("'the secret'\n")


def test_a_module_that_does_not_parse_is_not_asked_about(runtime: Runtime) -> None:
    # A command's output may say anything: a module it blames that does not parse (so no
    # function could be put into it) gets the plain note, with no request.
    (runtime.workspace / "pages.py").write_text("def page_count(total, per_page)\n    return 1\n")
    folder = str(runtime.workspace.resolve())
    output = (f'Traceback (most recent call last):\n  File "{folder}/test_pages.py", line 1, '
              "in <module>\n    from pages import slugify\nImportError: cannot import name "
              f"'slugify' from 'pages' ({folder}/pages.py)")
    guide = RunGuide(runtime)
    guide.start("go", review=True)
    note = guide.failure_note("bash", output)
    assert note.endswith("pages.py has no slugify.]") and guide.focus is None
    (runtime.workspace / "pages.py").write_text(PAGES)
    assert "Write only the new slugify" in guide.failure_note("bash", output)
    assert guide.focus == ("pages.py", "slugify")


# -- the pure parts ----------------------------------------------------------------------

def test_definitions_only_names_what_a_block_of_definitions_defines() -> None:
    assert definitions_only("import re\n\n@cache\ndef a():\n    pass\nclass B:\n    x = 1\n") \
        == ["a", "B"]
    assert definitions_only("def a():\n    pass\nprint(a())\n") == []  # a script: a file
    assert definitions_only('"""Doc."""\ndef a():\n    pass\n') == []  # a module's docstring
    assert definitions_only("def a(:\n") == [] and definitions_only("") == []


def test_definition_text_is_the_function_with_its_decorators() -> None:
    assert definition_text(PAGES, "page") == ("@staticmethod\ndef page(items, number):\n"
                                              "    return items[number]")
    assert definition_text(PAGES, "LIMIT") is None and definition_text("def (", "a") is None


def test_splice_replaces_a_decorated_function_with_its_decorators() -> None:
    new = splice(PAGES, "def page(items, number):\n    return items[number - 1]\n")
    assert new == PAGES.replace("@staticmethod\ndef page(items, number):\n    return items[number]",
                                "def page(items, number):\n    return items[number - 1]")
    assert splice("def a(:", FIXED) is None and splice(PAGES, "x = 1\n") is None


def test_a_new_import_goes_before_the_first_definition() -> None:
    new = splice(PAGES, "import re\nimport math\n\ndef page_count(total, per_page):\n    pass\n")
    assert new is not None and new.index("import re") < new.index("def page_count")
    assert new.count("import math") == 1


@pytest.mark.parametrize(("test", "expression", "found"), [
    ("from pages import page, page_count\n", "page_count(11, 10)", ("pages", "page_count")),
    ("from pkg.pages import page_count as count\n", "count(1, 2)", ("pkg.pages", "page_count")),
    ("import pages as p\n", "p.page_count(11, 10)", ("pages", "page_count")),
    ("from .pages import page_count\n", "page_count(1, 2)", None),  # relative: not followed
    ("def helper(n):\n    return n\n", "helper(11)", None),
    ("from pages import page_count\n", "page_count(1)(2)", None),
])
def test_the_function_an_assert_calls_is_found_by_the_tests_imports(test: str, expression: str,
                                                                   found: object) -> None:
    assert called_function(test, expression) == found


_NAMES = st.sampled_from(["a", "b", "page", "count"])
_DEFINITION = st.builds(lambda name, value: f"def {name}(x):\n    return {value}\n",
                        _NAMES, st.integers(0, 9))


@given(st.lists(_DEFINITION, max_size=4), st.lists(_DEFINITION, min_size=1, max_size=3))
def test_a_splice_parses_and_holds_every_function_of_both(old: list[str], new: list[str]) -> None:
    source = '"""Doc."""\n\n' + "\n\n".join(old) + "\nVALUE = 1\n"
    code = "\n\n".join(new)
    spliced = splice(source, code)
    assert spliced is not None
    tree = ast.parse(spliced)
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert names == {definitions_only(each)[0] for each in old + new}
    assert spliced.startswith('"""Doc."""') and "VALUE = 1" in spliced
    for name in definitions_only(code):  # the last definition of a name is the one that holds
        assert definition_text(spliced, name) == definition_text(code, name)


@given(st.text(max_size=200), st.text(max_size=200))
def test_splice_never_raises(source: str, code: str) -> None:
    splice(source, code)


@pytest.mark.parametrize("deep", ["x" + ".a" * 100_000, "-" * 100_000 + "1",
                                  "x" + ".a" * 900, "-" * 900 + "1", "a" + "[0]" * 100_000])
def test_python_nested_past_the_parsers_depth_is_no_python_and_never_ends_the_run(
        deep: str) -> None:
    # A module, a test or a traceback line is text a command or a model wrote: nested deep
    # enough, ast.parse raised MemoryError or RecursionError, and ast.unparse RecursionError.
    trace = ('Traceback (most recent call last):\n  File "/w/test_a.py", line 1, in <module>\n'
             f"    assert f({deep}) == 1\nAssertionError")
    assert failed_equality(trace, "/w") is None
    for spliced in (splice(f"x = {deep}\n", FIXED), splice(PAGES, f"def f():\n    {deep}\n")):
        assert spliced is None or spliced.endswith("\n")  # parsed, or no Python: no raise
    assert definitions_only(deep) == [] and called_function(f"x = {deep}", "f(1)") is None
    assert value_script(f"x = {deep}", "f(1)") in (None, "print(repr(f(1)))")
    assert python_style_call(f"write_file('a', {deep})", ["write_file"],
                             lambda name: ["path", "content"]) is None
