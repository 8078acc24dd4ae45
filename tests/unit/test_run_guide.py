"""The two answers an unattended run gives a small model (issue 12), on a real local shell.

Qwen2.5-Coder-1.5B overwrote ``pages.py`` with ``def pages(): return 'Hello, world!'``
without reading it, and stopped after ``awk ... > total.txt`` had written ``0``. So a write
over an unread file shows the file instead (once), and the first stop shows the task and what
changed.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from pygent.app.agent import RECHECKS, REDRAW_TEMPERATURE, AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.app.run_guide import (
    CHECK_CHANGE,
    FIX_NOW,
    MAKE_CHANGE,
    NOT_DONE,
    READ_AGAIN,
    REPEATED,
    STILL_TYPED,
    TYPED_NUMBER,
    RunGuide,
    task_checks,
)
from pygent.app.tracebacks import (
    defines,
    failed_equality,
    fix_target,
    traceback_tip,
    value_script,
)
from pygent.domain.sandbox import CommandResult
from pygent.runtime import Runtime
from tests.fakes import FakeModel, SamplingModel, call, calls, say

PAGES = "def page_count(total, per_page):\n    return total // per_page\n"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "pages.py").write_text(PAGES)
    (workspace / "sales.csv").write_text("item,amount\npen,3\nink,4\n")
    with Runtime(use_docker=False, workspace=workspace) as each:
        yield each


def agent(model: FakeModel, runtime: Runtime, **options: object) -> AgentLoop:
    return AgentLoop(model, runtime, tools=ToolRegistry(builtin_tools()),
                     **options)  # type: ignore[arg-type]


def tool_texts(loop: AgentLoop, name: str) -> list[str]:
    return [m.content or "" for m in loop.conversation if m.role == "tool" and m.name == name]


def write(path: str, content: str) -> object:
    return calls(call("write_file", {"path": path, "content": content}))


def test_a_write_over_an_unread_file_becomes_reading_it_once(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B, told "not written, it holds: ...", sent the same write again.
    model = FakeModel([write("pages.py", "def pages():\n    return 'Hello, world!'"),
                       write("pages.py", PAGES.replace("//", "/")),
                       calls(call("stop", {"result": "fixed"}))])
    loop = agent(model, runtime, read_before_write=True)
    notices: list[str] = []
    loop.subscribe(lambda event: notices.append(getattr(event, "text", "")))
    result = loop.run_until_stop("fix pages.py")
    first = [m for m in loop.conversation if m.role == "assistant"][0]
    assert first.content == "" and [(c.function.name, c.function.arguments)
                                    for c in first.tool_calls or []] == [
        ("bash", '{"cmd": "cat pages.py"}')]
    assert tool_texts(loop, "bash") == [PAGES.rstrip("\n")]
    assert tool_texts(loop, "write_file")[0].startswith("Wrote")
    assert (runtime.workspace / "pages.py").read_text() == PAGES.replace("//", "/")
    assert any("pages.py exists and this run has not read it" in text for text in notices)
    assert result.reason == "stop"


def test_an_unread_write_after_another_call_is_answered_with_the_file(
        runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"}),
                             call("write_file", {"path": "pages.py", "content": "x = 1\n"})),
                       calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("fix pages.py")
    answer = tool_texts(loop, "write_file")[0]
    assert answer.startswith("Not written: pages.py already exists and you have not read it.")
    assert "return total // per_page" in answer
    assert (runtime.workspace / "pages.py").read_text() == PAGES


def test_a_file_the_run_printed_or_made_is_written_at_once(runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "cat ./pages.py"})),
                       write("pages.py", "x = 1\n"),
                       write("new.py", "y = 2\n"), write("new.py", "y = 3\n"),
                       calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("go")
    assert all(text.startswith("Wrote") for text in tool_texts(loop, "write_file"))
    assert (runtime.workspace / "new.py").read_text() == "y = 3\n"


def test_a_failed_command_that_named_the_file_does_not_count_as_reading_it(
        runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "cat pages.py; exit 1"})),
                       write("pages.py", "x = 1\n"), calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("go")
    assert tool_texts(loop, "bash")[1] == PAGES.rstrip("\n")  # the write became a read
    assert (runtime.workspace / "pages.py").read_text() == PAGES


def test_off_and_in_a_chat_the_write_goes_through(runtime: Runtime) -> None:
    for options, unattended in (({}, True), ({"read_before_write": True}, False)):
        model = FakeModel([write("pages.py", "x = 1\n"), calls(call("stop"))])
        loop = agent(model, runtime, **options)
        loop.run_until_stop("go", unattended=unattended)
        assert tool_texts(loop, "write_file")[0].startswith("Wrote")
        (runtime.workspace / "pages.py").write_text(PAGES)


def test_the_first_stop_shows_the_task_and_what_changed(runtime: Runtime) -> None:
    awk = "awk -F, 'NR > 1 {s += $3} END {print s}' sales.csv > total.txt; rm pages.py"
    model = FakeModel([calls(call("bash", {"cmd": awk})), calls(call("stop")),
                       calls(call("stop", {"result": "done"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Add up the amount column into total.txt")
    review = tool_texts(loop, "stop")[0]
    assert review.startswith("Not stopped yet: first check that the task is really done.")
    assert "The task: Add up the amount column into total.txt" in review
    assert "Changed or new: total.txt" in review
    assert "Deleted: pages.py" in review
    assert "--- total.txt now holds:\n0\n" in review  # no $3: the model can see it is wrong
    assert result.reason == "stop" and result.text == "done"


def test_a_stop_with_nothing_changed_says_so_twice_then_is_taken(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B's write failed, and it stopped, and stopped again at the review.
    model = FakeModel([calls(call("stop")), calls(call("stop")),
                       calls(call("stop", {"result": "nothing to change"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("go")
    review, again = tool_texts(loop, "stop")[:2]
    assert "Nothing in the workspace has changed since the task began." in review
    assert again.startswith("Not stopped: the workspace is still as it was")
    assert result.reason == "stop" and result.text == "nothing to change"


def test_a_stop_before_any_change_is_shown_the_files_the_task_names(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B stopped first thing on "In config.json, set ...", and on "Write
    # reverse.py that reads words.txt" after only reading words.txt: it needs the files in
    # front of it, and to be told to act rather than to check.
    (runtime.sandbox.workspace / "words.txt").write_text("alpha\nbravo\n")
    (runtime.sandbox.workspace / "outside.txt").symlink_to("/etc/hostname")
    model = FakeModel([calls(call("stop")), calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Write reverse.py that reads words.txt (not outside.txt, *.log or "
                        "e.g. 3.5 of sales.csv) and prints its words in reverse order.")
    review = tool_texts(loop, "stop")[0]
    assert "--- reverse.py does not exist yet." in review
    assert "--- words.txt holds:\nalpha\nbravo\n" in review
    assert "--- outside.txt" not in review  # a link: never followed, never said to be missing
    assert ".log" not in review.split("The task:")[0] and "--- e.g" not in review
    assert "--- sales.csv" not in review  # three files at most, in the task's order
    assert review.endswith("Nothing is done yet. Make the change the task asks for now (write "
                           "the file's whole new text), then check it.")


def test_a_first_change_after_an_idle_review_is_reviewed_then_the_next_stop_ends_the_run(
        runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B, shown words.txt at an idle review, wrote a broken reverse.py with
    # echo and stopped at once: its first change deserves the look a first stop gets.
    model = FakeModel([calls(call("stop")), write("new.txt", "made"), calls(call("stop")),
                       calls(call("stop", {"result": "made it"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("go")
    idle, review = tool_texts(loop, "stop")[:2]
    assert "Nothing is done yet." in idle
    assert "Changed or new: new.txt\n--- new.txt now holds:\nmade" in review
    assert result.reason == "stop" and result.text == "made it"


def test_the_review_names_the_paths_the_task_asks_for_that_are_missing_and_holds_the_stop(
        runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B made webapp/src/webapp of three folders the task named, and stopped.
    made = calls(call("bash", {"cmd": "mkdir -p webapp/src/webapp && touch webapp/README.md"}))
    more = calls(call("bash", {"cmd": "mkdir -p webapp/tests webapp/docs src && touch "
                                      "src/app.py total.txt"}))
    look = calls(call("bash", {"cmd": "ls webapp"}))
    model = FakeModel([made, look, calls(call("stop")), look, calls(call("stop")), more,
                       calls(call("stop", {"result": "made"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop(
        "Make folders webapp/src/webapp, webapp/tests and webapp/docs/, src/app.py, "
        "../up/x.txt, 1/2, a README.md in webapp and total.txt, e.g. from pages.py or out.tar.gz.")
    review = tool_texts(loop, "stop")[0]
    assert ("The task names these, which do not exist yet: webapp/tests, webapp/docs, "
            "src/app.py, total.txt.\nRun the program") in review  # README.md is in webapp
    assert tool_texts(loop, "stop")[1] == (
        "Not stopped: the task names these, which do not exist yet: webapp/tests, webapp/docs, "
        "src/app.py, total.txt. Make them; if the task needs none of them, call stop again "
        "and say why.")
    assert result.reason == "stop" and result.text == "made"
    assert tool_texts(loop, "bash")[2] == REPEATED.format(next=NOT_DONE)  # not "call stop"


def test_a_file_written_back_with_its_own_text_is_no_change(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B "converted" inventory.py by writing it out unchanged; the review
    # said "Changed or new: inventory.py", and it stopped.
    model = FakeModel([calls(call("bash", {"cmd": "cat pages.py"})), write("pages.py", PAGES),
                       calls(call("stop")), calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Indent pages.py with spaces.")
    review = tool_texts(loop, "stop")[0]
    assert "Nothing in the workspace has changed since the task began." in review
    assert "Changed or new" not in review


def test_a_file_changed_then_written_back_as_it_began_is_no_change_but_others_are(
        runtime: Runtime) -> None:
    back = calls(call("bash", {"cmd": "echo more >> pages.py && cat pages.py && "
                                      "echo made > new.txt"}))
    model = FakeModel([back, write("pages.py", PAGES), calls(call("stop")),
                       calls(call("stop", {"result": "ok"}))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("go")
    review = tool_texts(loop, "stop")[0]
    assert "Changed or new: new.txt\n" in review and "pages.py now holds" not in review


def test_a_sandbox_whose_listing_fails_gives_the_plain_review(runtime: Runtime) -> None:
    guide = RunGuide(runtime)
    (runtime.workspace / "find").write_text("#!/bin/sh\nexit 3\n")
    (runtime.workspace / "find").chmod(0o755)
    runtime.bash("export PATH=$PWD:$PATH")  # the model can break find: no listing, no lie
    guide.start("go", review=True)
    review = guide.review()
    assert "Changed" not in review and "Nothing" not in review
    assert review.endswith("call stop again; if not, fix it.")


def test_a_heredoc_over_an_unread_file_becomes_a_read_once(runtime: Runtime) -> None:
    heredoc = "cat > pages.py <<'EOF'\nx = 1\nEOF"
    model = FakeModel([calls(call("bash", {"cmd": heredoc})), calls(call("bash", {"cmd": heredoc})),
                       calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("go")
    first, second = tool_texts(loop, "bash")
    assert first == PAGES.rstrip("\n")
    assert (runtime.workspace / "pages.py").read_text() == "x = 1\n" and second == ""


def test_an_echo_over_an_unread_file_becomes_a_read_once(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B replaced a whole config.json with the two keys the task named.
    (runtime.workspace / "config.json").write_text('{"name": "svc", "debug": false}\n')
    echo = """echo '{"debug": true, "port": 8080}' > config.json"""
    model = FakeModel([calls(call("bash", {"cmd": echo})), calls(call("bash", {"cmd": echo})),
                       calls(call("bash", {"cmd": "echo x >> pages.py"})), calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("set debug in config.json")
    first, second, third = tool_texts(loop, "bash")
    assert first == '{"name": "svc", "debug": false}'  # shown, not replaced
    assert second == "" and third == ""  # the second echo wrote; appending is no replacing
    assert (runtime.workspace / "config.json").read_text() == '{"debug": true, "port": 8080}\n'


def test_the_same_action_with_the_same_result_is_called_out(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B wrote the test's text over pages.py and ran the test, over and over.
    model = FakeModel([calls(call("bash", {"cmd": "python3 -c 'import sys; sys.exit(1)'"}))] * 3
                      + [calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    outputs = tool_texts(loop, "bash")
    assert "[exit status 1]" in outputs[0] and "same action" not in outputs[0]
    assert outputs[1:] == [REPEATED.format(next=MAKE_CHANGE)] * 2  # the output is not repeated


def test_a_repeat_after_a_change_is_told_to_check_it(runtime: Runtime) -> None:
    # It read greet.py again and again; after a change the next step is the check.
    model = FakeModel([calls(call("bash", {"cmd": "cat pages.py"}))] * 2
                      + [calls(call("bash", {"cmd": "echo 1 > n.txt"}))]
                      + [calls(call("bash", {"cmd": "cat sales.csv"}))] * 2
                      + [calls(call("stop"))] * 2)
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("go")
    outputs = tool_texts(loop, "bash")
    assert outputs[1] == REPEATED.format(next=MAKE_CHANGE)
    assert outputs[4] == REPEATED.format(next=CHECK_CHANGE)


def test_a_chat_never_hears_about_repeats(runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"}), call("bash", {"cmd": "echo hi"})),
                       calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go", unattended=False)
    assert tool_texts(loop, "bash") == ["hi", "hi"]


def test_a_write_that_changes_nothing_says_so(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B "fixed" pages.py by writing it out again unchanged.
    heredoc = f"cat > pages.py <<'EOF'\n{PAGES}EOF"
    model = FakeModel([calls(call("bash", {"cmd": "cat pages.py"})),
                       calls(call("bash", {"cmd": heredoc})),
                       write("pages.py", PAGES), write("pages.py", "x = 1\n"),
                       calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    nothing = "[pages.py already held exactly this text: nothing changed."
    assert nothing in tool_texts(loop, "bash")[1]
    first, second = tool_texts(loop, "write_file")[:2]
    assert nothing in first and nothing not in second


def test_a_tabbed_file_written_back_unchanged_gets_the_expand_tip(runtime: Runtime) -> None:
    # Asked for spaces, Qwen2.5-Coder-1.5B wrote inventory.py back with its tabs three times.
    tabbed = "def f():\n\treturn 1\n"
    (runtime.workspace / "inventory.py").write_text(tabbed)
    expand = "expand -t 4 inventory.py > expanded.tmp && mv expanded.tmp inventory.py"
    model = FakeModel([calls(call("bash", {"cmd": "cat inventory.py"})),
                       write("inventory.py", tabbed), calls(call("bash", {"cmd": expand})),
                       calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("Convert every tab in inventory.py to 4 spaces.")
    note = tool_texts(loop, "write_file")[0]
    assert note.endswith("write a different text. It holds tab characters, which a copy keeps; "
                         f"expand turns them into spaces: {expand}]")
    assert (runtime.workspace / "inventory.py").read_text() == "def f():\n    return 1\n"


def test_the_same_check_after_a_write_is_no_repeat(runtime: Runtime) -> None:
    test = calls(call("bash", {"cmd": "python3 -c 'import sys; sys.exit(1)'"}))
    model = FakeModel([test, write("new.py", "x = 1\n"), test, test, calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    outputs = tool_texts(loop, "bash")
    assert "[exit status 1]" in outputs[1]
    assert outputs[2] == REPEATED.format(next=CHECK_CHANGE)


def test_a_third_run_of_the_same_action_is_drawn_again_hotter(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B ran "cat -T inventory.py" fifteen times in a row.
    read = calls(call("bash", {"cmd": "cat pages.py"}))
    model = SamplingModel([read, read, read, calls(call("bash", {"cmd": "echo other"})),
                           calls(call("stop"))])
    loop = agent(model, runtime)
    notices: list[str] = []
    loop.subscribe(lambda event: notices.append(getattr(event, "text", "")))
    result = loop.run_until_stop("go")
    assert model.temperatures == [None, None, None, REDRAW_TEMPERATURE, None]
    assert tool_texts(loop, "bash")[-1] == "other"  # the third read never ran
    assert sum("cat pages.py" in (m.content or "") or any(
        "cat pages.py" in c.function.arguments for c in m.tool_calls or [])
        for m in loop.conversation if m.role == "assistant") == 2
    assert any("asking again at temperature 1.0" in text for text in notices)
    assert result.reason == "stop" and len(loop.stats) == 5  # the redrawn reply is counted


def test_after_a_write_the_same_action_is_no_loop(runtime: Runtime) -> None:
    test = calls(call("bash", {"cmd": "cat pages.py"}))
    model = SamplingModel([test, test, write("pages.py", "x = 2\n"), test, calls(call("stop"))])
    agent(model, runtime).run_until_stop("go")
    assert model.temperatures == [None] * 5


def test_a_chat_and_a_model_without_temperature_are_never_redrawn(runtime: Runtime) -> None:
    read = calls(call("bash", {"cmd": "cat pages.py"}))
    model = SamplingModel([read] * 3 + [calls(call("stop"))])
    agent(model, runtime).run_until_stop("go", unattended=False)
    assert model.temperatures == [None] * 4  # in a chat the person sees the loop
    plain = FakeModel([read] * 3 + [calls(call("stop"))])
    loop = agent(plain, runtime)
    loop.run_until_stop("go")
    assert len(plain.requests) == 4


def test_a_write_that_failed_is_not_said_to_have_changed_nothing(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B sent write_file with a made-up server_port argument.
    bad = calls(call("write_file", {"path": "pages.py", "content": "x", "server_port": 1}))
    model = FakeModel([calls(call("bash", {"cmd": "cat pages.py"})), bad, calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    answer = tool_texts(loop, "write_file")[0]
    assert answer.startswith("Error: bad arguments") and "nothing changed" not in answer


def test_after_a_cd_the_first_stop_makes_no_claim_about_changes(runtime: Runtime) -> None:
    (runtime.workspace / "sub").mkdir()
    model = FakeModel([calls(call("bash", {"cmd": "cd sub && echo 1 > n.txt"})),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("go")
    review = tool_texts(loop, "stop")[0]
    assert "Changed" not in review and "Nothing in the workspace" not in review
    assert "The task: go" in review


def test_no_redraw_beyond_the_runs_token_budget(runtime: Runtime) -> None:
    read = calls(call("bash", {"cmd": "cat pages.py"}))
    model = SamplingModel([read] * 4)
    model.usage = [(40, 10)] * 4
    loop = agent(model, runtime)
    result = loop.run_until_stop("go", max_tokens=120)
    assert model.temperatures == [None, None, None]  # 150 tokens spent: the third read runs
    assert result.reason == "max_tokens" and len(loop.stats) == 3


def test_read_before_write_keeps_a_stop_after_a_failed_call_waiting(runtime: Runtime) -> None:
    failing = call("bash", {"cmd": "exit 4"})
    model = FakeModel([calls(failing, call("stop")), calls(call("stop")),  # then: last failed
                       calls(call("stop", {"result": "gave up"}))])
    loop = agent(model, runtime, read_before_write=True)
    result = loop.run_until_stop("go")
    assert tool_texts(loop, "stop")[0].startswith("Not stopped: bash failed earlier")
    assert result.text == "gave up"


@pytest.mark.parametrize(("task", "checks"), [
    ("fix pages.py so that python3 test_pages.py passes.", ["python3 test_pages.py"]),
    ('Fix it so that "python3 greet.py Ann" prints "Hello, Ann!".', ["python3 greet.py Ann"]),
    ("e.g. ./backup_name.sh site prints backup-site.tar.gz", ["./backup_name.sh"]),
    ("run `pytest -q tests` and then `bash build.sh`", ["pytest -q tests", "bash build.sh"]),
    ("so python3 main.py still works; python main.py too; and sh x.sh", ["python3 main.py",
                                                                          "python main.py"]),
    ("Write reverse.py that reads words.txt. Python is fine.", []),
    ("test_textutils.py imports slugify: add it so the test passes", ["python3 test_textutils.py"]),
    ("fix it: python3 tests/test_a.py fails, see tests/test_a.py", ["python3 tests/test_a.py"]),
])
def test_the_commands_a_task_names_are_its_checks(task: str, checks: list[str]) -> None:
    assert task_checks(task) == checks


FAILING_TEST = "import pages\nassert pages.page_count(7, 3) == 3, 'page_count(7, 3)'\n"
FIXED = "def page_count(total, per_page):\n    return -(-total // per_page)\n"


def test_the_first_stop_runs_the_check_the_task_names(runtime: Runtime) -> None:
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    model = FakeModel([calls(call("stop")), write("pages.py", FIXED),
                       calls(call("stop", {"result": "fixed"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    review = tool_texts(loop, "stop")[0]
    assert "The task's check, run now:\n$ python3 test_pages.py\n" in review
    assert "AssertionError: page_count(7, 3)" in review and "[exit status 1]" in review
    assert "[The error is in test_pages.py, line 2: `assert pages.page_count(7, 3) == 3, " \
           "'page_count(7, 3)'`. That line is the test; fix the code it tests, not the " \
           "test.]" in review
    # Qwen2.5-Coder-1.5B ran the test first and never read pages.py: the review shows it.
    assert f"--- pages.py holds:\n{PAGES}" in review
    assert review.endswith("It fails: fix that (write the file's whole new text), then run it "
                           "again.")
    assert result.reason == "stop" and result.text == "fixed"
    assert len(model.requests) == 3  # the fix passed the check: the second stop ended the run


def test_python_caches_are_no_change_and_binary_files_are_not_shown(runtime: Runtime) -> None:
    # The review once showed __pycache__/pages.cpython-311.pyc, bytes and all, as the change.
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    model = FakeModel([calls(call("bash", {"cmd": "python3 -c 'import pages'"})),
                       calls(call("stop")),
                       calls(call("bash", {"cmd": "printf 'a\\0b' > blob.bin"})),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    assert (runtime.workspace / "__pycache__").is_dir()
    review, recheck = tool_texts(loop, "stop")[:2]
    assert "Nothing in the workspace has changed since the task began." in review
    assert "pycache" not in review
    assert "--- blob.bin" not in recheck  # a recheck shows the check, not the files
    listing = loop.guide._changes()
    assert listing is not None and "--- blob.bin now holds:\n(binary data, not text)" in listing


def test_a_stop_while_the_check_still_fails_is_answered_three_times_more(
        runtime: Runtime) -> None:
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    model = FakeModel([calls(call("stop"))] * (1 + RECHECKS)
                      + [calls(call("stop", {"result": "cannot fix it"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    rechecks = tool_texts(loop, "stop")[1:-1]
    assert len(rechecks) == RECHECKS
    assert all(text.startswith("Not stopped: the check still fails.\n$ python3 test_pages.py\n")
               and "AssertionError" in text for text in rechecks)
    assert result.reason == "stop" and result.text == "cannot fix it"  # then a stop ends it


@pytest.mark.parametrize("command, advice", [
    ("python3 test_pages.py", FIX_NOW),
    ("cat test_pages.py", FIX_NOW),  # the task's test is not the file to rewrite
    # Qwen2.5-Coder-1.5B ran cat textutils.py eleven times, told to write its whole new text.
    ("cat pages.py", READ_AGAIN.format(path="pages.py")),
])
def test_a_repeat_after_a_failed_check_is_told_to_fix_not_to_stop(
        runtime: Runtime, command: str, advice: str) -> None:
    # Qwen2.5-Coder-1.5B went cat, stop, cat, stop: "call stop if it is right" led it back.
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    look = calls(call("bash", {"cmd": command}))
    model = FakeModel([look, calls(call("stop")), look, calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    again = tool_texts(loop, "bash")[1]
    assert again == REPEATED.format(next=advice)


def test_a_check_runs_in_the_starting_folder_and_reads_no_input(runtime: Runtime) -> None:
    (runtime.workspace / "sub").mkdir()
    (runtime.workspace / "ask.py").write_text("print(input('name? '))\n")
    model = FakeModel([calls(call("bash", {"cmd": "cd sub"}))]
                      + [calls(call("stop"))] * (2 + RECHECKS))
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Make python3 ask.py work.")
    review = tool_texts(loop, "stop")[0]
    assert "$ python3 ask.py\nname? Traceback" in review and "EOFError" in review
    assert result.reason == "stop"  # the rechecks failed too, and the stop after them is taken
    assert runtime.run("pwd").output.strip().endswith("/sub")  # the shell stays where it was


def test_a_write_that_changes_nothing_written_a_third_time_is_drawn_again(
        runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B wrote pages.py out unchanged, stopped, and did it again and again.
    same = write("pages.py", PAGES)
    model = SamplingModel([calls(call("bash", {"cmd": "cat pages.py"})), same, same, same,
                           write("pages.py", "x = 1\n"), calls(call("stop"))])
    agent(model, runtime).run_until_stop("go")
    assert model.temperatures == [None, None, None, None, REDRAW_TEMPERATURE, None]
    assert (runtime.workspace / "pages.py").read_text() == "x = 1\n"


def test_a_refused_stop_sent_again_word_for_word_is_drawn_again(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B copied the prompt's example stop three times, nothing made.
    parrot = calls(call("stop", {"result": "what you did"}))
    model = SamplingModel([parrot, parrot, write("reverse.py", "print(1)\n"), calls(call("stop")),
                           calls(call("stop", {"result": "wrote reverse.py"}))])
    result = agent(model, runtime, check_before_stop=True).run_until_stop("write reverse.py")
    assert model.temperatures == [None, None, REDRAW_TEMPERATURE, None, None]
    assert result.reason == "stop" and result.text == "wrote reverse.py"


def test_a_named_script_without_the_x_bit_gets_a_hint(runtime: Runtime) -> None:
    (runtime.workspace / "name.sh").write_text("#!/bin/sh\necho backup-$1.tar.gz\n")
    model = FakeModel([calls(call("stop")), calls(call("bash", {"cmd": "chmod +x name.sh"})),
                       calls(call("stop", {"result": "done"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Write an executable name.sh; ./name.sh prints backup-.tar.gz")
    review = tool_texts(loop, "stop")[0]
    assert "[exit status 126]\n(./name.sh is not executable: chmod +x makes it so)" in review
    assert result.reason == "stop" and result.text == "done"  # the check passes now


def test_a_check_the_guard_refuses_is_not_run(runtime: Runtime) -> None:
    (runtime.workspace / "test_pages.py").write_text("open('ran.txt', 'w')\n")
    asked: list[tuple[str, dict[str, Any]]] = []

    def guard(name: str, arguments: dict[str, Any]) -> Optional[str]:
        asked.append((name, arguments))
        return "Refused: python3 is denied here" if "python3" in arguments.get("cmd", "") \
            else None

    model = FakeModel([calls(call("stop")), calls(call("stop")),
                       calls(call("stop", {"result": "done"}))])
    loop = agent(model, runtime, check_before_stop=True, guard=guard)
    result = loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    review = tool_texts(loop, "stop")[0]
    assert "$ python3 test_pages.py\n[not run: Refused: python3 is denied here]" in review
    assert ("bash", {"cmd": "python3 test_pages.py"}) in asked
    assert not (runtime.workspace / "ran.txt").exists()
    assert result.reason == "stop" and result.text == "done"  # nothing changed: asked twice


@pytest.mark.parametrize("command", ["nano pages.py", "vim +3 pages.py", "/usr/bin/vi pages.py",
                                     "less pages.py"])
def test_an_editor_on_one_file_shows_the_file_instead(runtime: Runtime, command: str) -> None:
    # Qwen2.5-Coder-1.5B ran "nano pages.py" (not found here) fifteen times in a row.
    model = FakeModel([calls(call("bash", {"cmd": command})), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("fix pages.py")
    editor = command.split()[0]
    assert tool_texts(loop, "bash")[0] == (
        f"[{editor} waits for a person to type, and nobody can here, so this is pages.py "
        f"shown with cat instead. To change it, write its whole new text.]\n{PAGES}".rstrip("\n"))
    call_made = [m for m in loop.conversation if m.role == "assistant"][0].tool_calls
    assert call_made and command in call_made[0].function.arguments  # the model's call is kept


@pytest.mark.parametrize("command", ["nano", "vim a.py b.py", "nano pages.py; ls"])
def test_an_editor_on_no_single_file_gets_a_note_after_its_output(runtime: Runtime,
                                                                  command: str) -> None:
    model = FakeModel([calls(call("bash", {"cmd": command})), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("fix pages.py")
    answer = tool_texts(loop, "bash")[0]
    assert answer.endswith("waits for a person to type, and nobody can here. To change a file, "
                           "write its whole new text.]")


def test_the_same_failure_on_another_shell_line_is_still_a_repeat(runtime: Runtime) -> None:
    # bash numbers its lines ("main: line 3: ...", then "line 4"): once the same, always.
    missing = calls(call("bash", {"cmd": "nosuchtool_xyz pages.py"}))
    model = FakeModel([missing, missing, calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    assert tool_texts(loop, "bash")[1].startswith("The same action gave this same result")


def test_the_same_failure_with_new_memory_addresses_is_still_a_repeat(runtime: Runtime) -> None:
    # pip with no network names a new "object at 0x7f..." in each retry line.
    command = "python3 -c 'print(object()); raise SystemExit(1)'"
    again = calls(call("bash", {"cmd": command}))
    loop = agent(FakeModel([again, again, calls(call("stop"))]), runtime)
    loop.run_until_stop("go")
    first, second = tool_texts(loop, "bash")[:2]
    assert "object object at 0x" in first
    assert second.startswith("The same action gave this same result")


def test_mkdir_under_a_missing_folder_gets_the_tip_to_use_p(runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "mkdir webapp/tests webapp/docs"})),
                       calls(call("bash", {"cmd": "mkdir x/y || true"})), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    failed, ignored = tool_texts(loop, "bash")
    assert failed.endswith("[exit status 1]\n[mkdir -p makes the missing parent folders too.]")
    assert "mkdir -p" not in ignored  # it did not fail: no advice


def test_a_python_failure_says_where_in_the_users_files_it_happened(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B renamed calc in shop.py, fixed report.py, then kept rewriting shop.py
    # while the traceback said main.py line 2 still imported calc.
    workspace = runtime.workspace
    (workspace / "shop.py").write_text("def order_total(order):\n    return 1\n")
    (workspace / "report.py").write_text("from shop import order_total\n")
    (workspace / "main.py").write_text("import report\nfrom shop import calc\n")
    model = FakeModel([calls(call("bash", {"cmd": "python3 main.py"})),
                       calls(call("bash", {"cmd": "python3 -c 'import json; json.loads(1)'"})),
                       calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    renamed, library = tool_texts(loop, "bash")
    assert renamed.endswith("[exit status 1]\n[The error is in main.py, line 2: "
                            "`from shop import calc`. shop.py has no calc.]")
    # Only the library's frames (and the command line's "<string>") are the user's: no tip.
    assert "The error is in" not in library


def test_the_failure_tip_names_the_last_frame_relative_to_the_users_files() -> None:
    nested = ('Traceback (most recent call last):\n'
              '  File "/w/main.py", line 1, in <module>\n    from pkg import mod\n'
              '  File "/w/pkg/mod.py", line 3, in <module>\n    x = 1 / 0\n'
              '        ~~^~~\n'
              '  File "/usr/lib/python3.11/json/__init__.py", line 9, in loads\n    raise X\n'
              'ZeroDivisionError: division by zero\n')
    assert traceback_tip(nested) == "[The error is in pkg/mod.py, line 3: `x = 1 / 0`.]"
    syntax = '  File "/w/a.py", line 3\n    def f(\n         ^\nSyntaxError: never closed\n'
    assert traceback_tip(syntax) == "[The error is in a.py, line 3: `def f(`.]"
    assert traceback_tip("Error: /w/main.py line 2") == ""


def test_a_read_loop_while_the_check_fails_is_told_which_file_to_write(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B ran ls (and cat textutils.py) over and over after the review showed
    # "cannot import name 'slugify' from 'textutils'", told each time to change "the file".
    workspace = runtime.workspace
    (workspace / "textutils.py").write_text("def shout(text):\n    return text.upper()\n")
    (workspace / "test_textutils.py").write_text("from textutils import shout, slugify\n")
    look = calls(call("bash", {"cmd": "ls"}))
    model = FakeModel([calls(call("stop")), look, look, calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Add slugify so that python3 test_textutils.py passes.")
    assert "textutils.py has no slugify.]" in tool_texts(loop, "stop")[0]
    again = tool_texts(loop, "bash")[1]
    assert again == REPEATED.format(next=(  # asked for alone, as the review asked for it
        "Next: Write only the new slugify: a python block with just this function, its body "
        "written. It is added to textutils.py, and the rest of textutils.py stays as it is:\n"
        "```python\ndef slugify(...):\n    ...\n```"))


@pytest.mark.parametrize("trace, target", [
    # A test could not import a name: the module is what to fix, not the test.
    ('  File "/w/test_t.py", line 1, in <module>\n    from t import slug\n'
     "ImportError: cannot import name 'slug' from 't' (/w/t.py)\n", "t.py"),
    # A renamed function still imported by main.py: main.py is what to fix, not shop.py.
    ('  File "/w/main.py", line 2, in <module>\n    from shop import calc\n'
     "ImportError: cannot import name 'calc' from 'shop' (/w/shop.py)\n", "main.py"),
    ('  File "/w/test_pages.py", line 3, in <module>\n    assert f(0) == 0\n'
     "AssertionError\n", ""),  # the test's own assertion: the file to fix is unknown
    ('  File "/w/app/views.py", line 9, in show\n    return x[1]\nIndexError\n',
     "views.py"),
])
def test_a_failed_check_points_at_the_file_to_fix(trace: str, target: str) -> None:
    assert fix_target("Traceback (most recent call last):\n" + trace) == target


def test_paths_in_a_tip_are_said_from_the_runs_folder_when_it_holds_them() -> None:
    trace = '  File "/w/app/views.py", line 9, in show\n    return x[1]\nIndexError\n'
    assert fix_target(trace, "/w") == "app/views.py"
    assert traceback_tip(trace, "/w/") == "[The error is in app/views.py, line 9: `return x[1]`.]"
    assert fix_target(trace, "/elsewhere") == "views.py"  # not in it: the frames' own folder


ASSERTING_TEST = ("from pages import page_count\n\nassert page_count(10, 10) == 1\n"
                  "assert page_count(11, 10) == 2\n")


def test_a_failed_assert_says_what_its_call_gave(runtime: Runtime) -> None:
    # Shown "assert page_count(11, 10) == 2" failing, Qwen2.5-Coder-1.5B changed page(), not
    # page_count(), six times over; pytest would have said the call gave 1.
    (runtime.workspace / "test_pages.py").write_text(ASSERTING_TEST)
    model = FakeModel([calls(call("bash", {"cmd": "python3 test_pages.py"})),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Fix pages.py so that python3 test_pages.py passes.")
    tip = ("[The error is in test_pages.py, line 4: `assert page_count(11, 10) == 2`. "
           "page_count(11, 10) gives 1, not 2. That line is the test; fix the code it tests, "
           "not the test.]")
    assert f"[exit status 1]\n{tip}\n[page_count is in pages.py:" in tool_texts(loop, "bash")[0]
    assert tip in tool_texts(loop, "stop")[0]  # the review's run of the check says it too


def test_a_failed_assert_outside_the_workspace_is_not_looked_into(runtime: Runtime,
                                                                   tmp_path: Path) -> None:
    # The traceback is the command's output, which a hostile command writes as it likes: the
    # file it names is read only through the sandbox, and only inside the shell's folder.
    outside = tmp_path / "test_out.py"
    outside.write_text("from os import getcwd\nassert getcwd() == 'x'\n")
    (runtime.workspace / "link_test.py").symlink_to(outside)
    for path in (outside, runtime.workspace / "link_test.py"):
        fake = (f'Traceback (most recent call last):\n  File "{path}", line 2, in <module>\n'
                "    assert getcwd() == 'x'\nAssertionError")
        model = FakeModel([calls(call("bash", {"cmd": f"printf %s {shlex.quote(fake)}; exit 1"})),
                           calls(call("stop")), calls(call("stop"))])
        loop = agent(model, runtime)
        loop.run_until_stop("go")
        assert " gives " not in tool_texts(loop, "bash")[0]
    assert RunGuide(runtime).assert_value(fake.replace(str(runtime.workspace / "link_test.py"),
                                                       str(runtime.workspace / "nope.py"))) == ""


@pytest.mark.parametrize("line", [
    "assert page_count(11, 10) == 2, 'eleven items'",  # its own message says enough
    "total = 11\nassert total == 2",  # no call to run again
    "assert page_count(11, 10) > 2",  # not an equality
    "assert (page_count(11, 10) ==\n        2)",  # over two lines: the traceback shows one
    "assert helper(11) == 2",  # a name the test made itself: nothing to show
])
def test_other_failed_asserts_get_only_where_they_failed(runtime: Runtime, line: str) -> None:
    (runtime.workspace / "test_pages.py").write_text(
        "from pages import page_count\n\ndef helper(n):\n    return page_count(n, 10)\n\n"
        + line + "\n")
    model = FakeModel([calls(call("bash", {"cmd": "python3 test_pages.py"})), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    output = tool_texts(loop, "bash")[0]
    assert "[The error is in test_pages.py" in output and " gives " not in output


def test_a_module_written_again_without_the_missing_name_is_told_so(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B wrote textutils.py back without slugify, "with the slugify
    # function", four times, while the check said textutils.py had no slugify.
    workspace = runtime.workspace
    shout = "def shout(text):\n    return text.upper()\n"
    (workspace / "textutils.py").write_text(shout)
    (workspace / "test_textutils.py").write_text("from textutils import shout, slugify\n")
    check = calls(call("bash", {"cmd": "python3 test_textutils.py"}))
    model = FakeModel([check, calls(call("bash", {"cmd": "cat textutils.py"})),
                       write("textutils.py", shout + "\n# slugify\n"),
                       write("textutils.py", shout + "\ndef slugify(text):\n    return text\n"),
                       write("textutils.py", shout), calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("Add slugify so that python3 test_textutils.py passes.")
    without, fixed, later = tool_texts(loop, "write_file")
    assert without.endswith(
        "\n[textutils.py still has no slugify: the text you wrote does not define it. Write "
        "textutils.py again with a `def slugify(...):` in it.]")
    assert "still has no" not in fixed and "still has no" not in later  # once defined: quiet


def test_a_renamed_function_still_imported_elsewhere_is_not_asked_back(runtime: Runtime) -> None:
    # After a rename, main.py still imported calc: the 1.5B model was told "shop.py still has
    # no calc: write it with def calc", and stopped fixing main.py.
    workspace = runtime.workspace
    (workspace / "shop.py").write_text("def order_total(order):\n    return 1\n")
    (workspace / "main.py").write_text("from shop import calc\n")
    model = FakeModel([calls(call("bash", {"cmd": "python3 main.py"})),
                       calls(call("bash", {"cmd": "cat shop.py"})),
                       write("shop.py", "def order_total(order):\n    return 2\n"),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("Rename calc in shop.py to order_total so python3 main.py works.")
    assert "shop.py has no calc" in tool_texts(loop, "bash")[0]
    assert tool_texts(loop, "write_file") == ["Wrote 37 bytes to shop.py"]


def test_a_failed_assert_is_run_again_only_with_the_tests_own_imports() -> None:
    trace = ('Traceback (most recent call last):\n  File "/w/test_a.py", line 4, in <module>\n'
             '    assert f(1) == 2\nAssertionError\n[exit status 1]')
    assert failed_equality(trace) == ("/w/test_a.py", "f(1)", "2")
    assert failed_equality(trace.replace("AssertionError", "AssertionError: f")) is None
    assert value_script("import os\nfrom a import f\nx = f(0)\nif x:\n    import sys\n",
                        "f(1)") == "import os\nfrom a import f\nprint(repr(f(1)))"
    assert value_script("def broken(:\n", "f(1)") is None


@pytest.mark.parametrize(("text", "found"), [
    ("def slugify(text):\n", True), ("async def slugify():\n", True), ("class slugify:\n", True),
    ("slugify = make()\n", True), ("from .slug import slugify\n", True),
    ("from slug import make, slugify\n", True), ("def slugify_all():\n", False),
    ("# slugify goes here\n", False), ("    def slugify(self):\n", False)])
def test_a_name_is_defined_by_a_def_a_class_an_assignment_or_an_import(text: str,
                                                                       found: bool) -> None:
    assert defines(text, "slugify") is found


def test_a_module_importing_the_name_from_itself_does_not_define_it() -> None:
    test_text = "from textutils import shout, slugify\nassert slugify('A') == 'a'\n"
    assert not defines(test_text, "slugify", "textutils")
    assert defines("from slugs import slugify\n", "slugify", "textutils")


def test_a_number_typed_into_a_file_is_answered_with_the_tip_to_compute_it(
        runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B read sales.csv and wrote 39.50 as the total of its amounts (7), then
    # stopped; told of it once, it typed the number again.
    model = FakeModel([write("total.txt", "39.50\n"), write("notes.txt", "39.50 total\n"),
                       calls(call("stop")), calls(call("stop", {"result": "39.5"})),
                       calls(call("stop", {"result": "it is 39.5"}))])
    loop = agent(model, runtime, check_before_stop=True)
    result = loop.run_until_stop("Add up the amount column of sales.csv into total.txt.")
    typed, prose = tool_texts(loop, "write_file")
    assert typed.endswith("\n" + TYPED_NUMBER.format(path="total.txt"))
    assert "typed" not in prose
    review, again = tool_texts(loop, "stop")[:2]
    assert review.endswith(STILL_TYPED.format(paths="total.txt"))
    assert again == "Not stopped: " + STILL_TYPED.format(paths="total.txt")
    assert result.reason == "stop" and result.text == "it is 39.5"  # asked twice, then taken


def test_a_number_a_command_worked_out_is_not_asked_about(runtime: Runtime) -> None:
    model = FakeModel([write("total.txt", "7\n"),
                       calls(call("bash", {"cmd": "awk -F, 'NR>1{s+=$2} END{print s}' "
                                                  "sales.csv >total.txt"})),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Add up the amount column of sales.csv into total.txt.")
    assert (runtime.workspace / "total.txt").read_text() == "7\n"
    review = tool_texts(loop, "stop")[0]
    assert "typed" not in review and "--- total.txt now holds:\n7" in review


def test_a_write_over_the_test_the_task_checks_with_is_refused_once(runtime: Runtime) -> None:
    # Pointed at the failing line of test_pages.py, Qwen2.5-Coder-1.5B wrote pages.py's text
    # into the test, and the check passed.
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    changed_test = FAILING_TEST + "assert pages.page_count(1, 3) == 1\n"
    model = FakeModel([write("test_pages.py", FIXED), write("test_pages.py", changed_test),
                       write("notes_test.py", "x = 1\n"), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Fix the bug in pages.py (not the test) so that python3 test_pages.py "
                        "passes.")
    refused, insisted, other = tool_texts(loop, "write_file")
    assert refused == ("Not written: test_pages.py is the test the task checks with, so it "
                       "stays as it is. Write the code it tests instead (pages.py), whole, then "
                       "run the check.")
    assert insisted.startswith("Wrote ")  # a task may ask to change its test
    assert other.startswith("Wrote ")  # not a test the task's check runs
    assert (runtime.workspace / "test_pages.py").read_text() == changed_test


def test_a_test_written_over_without_its_asserts_is_refused_every_time(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B wrote textutils.py's text into test_textutils.py twice; the second
    # write went through, the check then ran no assert and "passed", and the stop was taken.
    (runtime.workspace / "test_pages.py").write_text(FAILING_TEST)
    model = FakeModel([write("test_pages.py", FIXED)] * 3 + [
        calls(call("bash", {"cmd": "cat > test_pages.py <<'EOF'\nx = 1\nEOF"})),
        calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Fix the bug in pages.py so that python3 test_pages.py passes.")
    first, *again = tool_texts(loop, "write_file")
    assert first.startswith("Not written: test_pages.py is the test")
    assert again and all(text == (
        "Not written: this text has none of test_pages.py's assert lines, so the check would "
        "pass without testing anything. Write the code it tests instead (pages.py), whole, "
        "then run the check.") for text in again)
    # a command's text is not looked into: the guard is for a model's mistake, not a wall
    assert (runtime.workspace / "test_pages.py").read_text() == "x = 1\n"


@pytest.mark.parametrize(("command", "path"), [
    ("python3 pages.py", "pages.py"), ("python3 -B pages.py", "pages.py"), ("./run.sh", "run.sh"),
    ("sh run.sh", "run.sh"), ("bash -x run.sh", "run.sh")])
def test_running_a_file_is_not_reading_it(runtime: Runtime, command: str, path: str) -> None:
    # Qwen2.5-Coder-1.5B ran python3 main.py, never read main.py, and wrote report.py's
    # text over it: the run had counted main.py as seen.
    script = runtime.workspace / "run.sh"
    script.write_text("#!/bin/sh\necho ok\n")
    script.chmod(0o755)
    before = (runtime.workspace / path).read_text()
    model = FakeModel([calls(call("bash", {"cmd": command})), write(path, "x = 1\n"),
                       calls(call("stop"))])
    loop = agent(model, runtime, read_before_write=True)
    loop.run_until_stop("go")
    ran, read = tool_texts(loop, "bash")[:2]
    assert "[exit status" not in ran and read == before.rstrip("\n")  # the write became a read
    assert (runtime.workspace / path).read_text() == before


def test_a_silent_command_that_changes_a_file_each_time_is_no_repeat(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B's sed -i added one more import line each time, and was told the
    # same action "changes nothing".
    grows = calls(call("bash", {"cmd": "sed -i '1s/^/# more\\n/' pages.py"}))
    same = calls(call("bash", {"cmd": "sed -i 's/nothing-here/x/' pages.py"}))
    model = FakeModel([grows, grows, same, same, calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    texts = tool_texts(loop, "bash")
    assert (runtime.workspace / "pages.py").read_text().startswith("# more\n# more\n")
    assert not texts[1].startswith("The same action")
    assert texts[3].startswith("The same action gave this same result")  # a true no-op


def test_commands_that_only_resemble_editors_get_no_note(runtime: Runtime) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo nano; morestuff"})), calls(call("stop"))])
    loop = agent(model, runtime)
    loop.run_until_stop("go")
    assert "waits for a person" not in tool_texts(loop, "bash")[0]


def test_a_missing_script_the_task_names_is_a_failing_check(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B never wrote backup_name.sh; "./backup_name.sh: No such file or
    # directory" (exit 127) was once taken for a missing tool, and its stop was let through.
    model = FakeModel([calls(call("stop"))] * 3)
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Write backup_name.sh so that ./backup_name.sh prints a name.")
    review, recheck = tool_texts(loop, "stop")[:2]
    assert "It fails: fix that" in review and "--- backup_name.sh does not exist yet." in review
    assert recheck.startswith("Not stopped: the check still fails.")


class _NoPytest:
    """A sandbox with no pytest: every command says so, as bash does."""

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        return CommandResult("main: line 1: pytest: command not found\n", 127)


def test_a_check_whose_program_is_missing_gives_no_verdict() -> None:
    guide = RunGuide(_NoPytest())  # type: ignore[arg-type]
    guide.task, guide._checks, guide._before = "Make pytest pass.", ["pytest"], {"": "/ws"}
    shown, verdict = guide._run_checks()
    assert verdict is None and "pytest: command not found" in shown


def test_a_reply_that_writes_one_line_over_and_over_is_drawn_again(runtime: Runtime) -> None:
    # Qwen2.5-Coder-1.5B at temperature 0 opened a bash block and wrote one sed line until
    # its 1,024 tokens ran out: no action, and 70 s of a 2-core machine gone.
    ramble = "```bash\nmv shop.py shop.py.bak\n" + "sed -i 's/calc/x/g' shop.py.bak\n" * 60
    model = SamplingModel([say(ramble), calls(call("stop", {"result": "done"}))])
    loop = agent(model, runtime)
    notices: list[str] = []
    loop.subscribe(lambda event: notices.append(getattr(event, "text", "")))
    assert loop.run_until_stop("rename calc").reason == "stop"
    assert model.temperatures == [None, REDRAW_TEMPERATURE]
    assert "The model wrote one line over and over; asking again at temperature 1.0." in notices
    assert all(m.content != ramble for m in loop.conversation)  # the ramble is not kept
    assert len(loop.stats) == 2  # both requests count


@pytest.mark.parametrize("text", [
    "```python\n" + "    pass\n" * 7 + "```",  # seven is a list, not a ramble
    "a\n\nb\n" * 20,  # lines that alternate
])
def test_repeated_lines_short_of_a_ramble_are_not_drawn_again(runtime: Runtime, text: str) -> None:
    model = SamplingModel([say(text), calls(call("stop"))])
    agent(model, runtime).run_until_stop("go")
    assert REDRAW_TEMPERATURE not in model.temperatures


class StreamingModel(SamplingModel):
    """Streams each reply line by line, counting the lines it was allowed to send."""

    def __init__(self, replies: list[object]) -> None:
        super().__init__(replies)
        self.sent: list[int] = []

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]],
             temperature: Optional[float] = None, on_delta: Any = None) -> Any:
        reply = super().chat(messages, model, tools, temperature)
        self.sent.append(0)
        for line in (reply.content or "").splitlines(keepends=True):
            on_delta(line)
            self.sent[-1] += 1
        return reply


def test_a_ramble_is_cut_off_while_it_streams(runtime: Runtime) -> None:
    # Each such reply cost 70 s of 1,024 tokens; cut at the eighth copy, it costs a few lines.
    ramble = "```bash\necho start\n" + "echo again >> a.txt\n" * 200
    model = StreamingModel([say(ramble), say(ramble), calls(call("stop", {"result": "ok"}))])
    loop = agent(model, runtime)
    result = loop.run_until_stop("go")
    assert model.sent[:2] == [9, 9]  # the opening lines, then seven copies: the eighth ends it
    assert model.temperatures == [None, REDRAW_TEMPERATURE, None]
    kept = [m.content for m in loop.conversation if m.role == "assistant"][0] or ""
    assert kept.count("echo again") == 8 and result.reason == "stop"
    assert not (runtime.workspace / "a.txt").exists()  # a cut block is no action


def test_a_chat_streams_repeated_lines_whole(runtime: Runtime) -> None:
    text = "Here they are:\n" + "hello\n" * 20
    model = StreamingModel([say(text)])
    loop = agent(model, runtime)
    loop.step("print hello twenty times")
    assert model.sent == [21]


def test_a_write_over_the_file_a_task_reads_is_refused_while_its_output_is_missing(
        runtime: Runtime) -> None:
    # Told to write sorted.txt from names.txt, Qwen2.5-Coder-1.5B wrote names.txt again by
    # hand, duplicates and all, and never made sorted.txt; refused once, it wrote it again.
    names = runtime.workspace / "names.txt"
    names.write_text("bo\nal\nbo\n")
    look = calls(call("bash", {"cmd": "cat names.txt"}))
    model = FakeModel([look, write("names.txt", "bo\nal\n"), write("names.txt", "al\nbo\n"),
                       write("sorted.txt", "al\nbo\n"), write("names.txt", "al\nbo\n"),
                       calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True, read_before_write=True)
    loop.run_until_stop("names.txt has duplicates. Write them sorted, each once, to sorted.txt.")
    refused, again, made, after = tool_texts(loop, "write_file")
    assert refused == again == (
        "Not written: names.txt is what the task reads, and it asks for sorted.txt, which does "
        "not exist yet. Make sorted.txt from names.txt first, with a command whose output goes "
        "to it (COMMAND > sorted.txt). Once it exists, names.txt can be written too.")
    assert made.startswith("Wrote") and after.startswith("Wrote")  # sorted.txt exists now
    assert names.read_text() == "al\nbo\n"


def test_a_refused_write_over_a_file_the_task_reads_sent_again_is_drawn_again(
        runtime: Runtime) -> None:
    (runtime.workspace / "names.txt").write_text("bo\nal\n")
    same = write("names.txt", "al\nbo\n")
    model = SamplingModel([calls(call("bash", {"cmd": "cat names.txt"})), same, same,
                           calls(call("bash", {"cmd": "sort names.txt > sorted.txt"})),
                           calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Write names.txt sorted to sorted.txt.")
    # the same refused write again is a loop: asked again, hotter, and the new reply runs
    assert model.temperatures[:4] == [None, None, None, REDRAW_TEMPERATURE]
    assert (runtime.workspace / "sorted.txt").read_text() == "al\nbo\n"


def test_a_script_the_task_asks_for_is_named_as_what_to_write(runtime: Runtime) -> None:
    (runtime.workspace / "words.txt").write_text("a b\n")
    model = FakeModel([calls(call("bash", {"cmd": "cat words.txt"})),
                       write("words.txt", "b a\n"), calls(call("stop")), calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=True)
    loop.run_until_stop("Write a script reverse.py that prints the words of words.txt reversed.")
    assert "Write reverse.py first. Once it exists, words.txt" in tool_texts(loop, "write_file")[0]
    assert (runtime.workspace / "words.txt").read_text() == "a b\n"


@pytest.mark.parametrize(("task", "review"), [
    ("In sales.csv, change pen to 5.", True),  # no file to make: sales.csv is the output
    ("Add up sales.csv into total.txt.", False),  # no review: not an unattended task run
])
def test_a_file_the_task_reads_is_written_when_nothing_else_is_asked_for(
        runtime: Runtime, task: str, review: bool) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "cat sales.csv"})),
                       write("sales.csv", "item,amount\npen,5\n"), calls(call("stop")),
                       calls(call("stop"))])
    loop = agent(model, runtime, check_before_stop=review)
    loop.run_until_stop(task)
    assert tool_texts(loop, "write_file")[0].startswith("Wrote")
