"""What ending a session does with a temporary workspace: nothing made is lost without a word.

The Python API keeps its documented behaviour (``Runtime.cleanup()`` removes a temporary
workspace); the entrypoints guard it at the start and settle it at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from pygent import Runtime
from pygent.app.agent import AgentLoop
from pygent.app.commands import Session, run_command
from pygent.app.workspace_exit import (
    MOST_COUNTED,
    Contents,
    count_contents,
    guard_workspace,
    settle_workspace,
)
from tests.fakes import FakeModel, FakeSandbox, say


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A local runtime in a fresh temporary workspace, as ``pygent`` starts one."""
    made = Runtime(sandbox=_local(None))
    yield made
    made.cleanup()
    shutil.rmtree(made.workspace, ignore_errors=True)  # what a test kept


def _local(workspace: Optional[Path]) -> object:
    from pygent.adapters.sandbox.local import LocalSandbox

    return LocalSandbox(workspace, confine=False, timeout=30)


def test_the_api_still_removes_a_temporary_workspace_with_files_at_cleanup() -> None:
    runtime = Runtime(sandbox=_local(None))
    runtime.write_file("hello.txt", "Hello from Pygent")
    assert runtime.temporary
    runtime.cleanup()
    assert not runtime.workspace.exists()


def test_a_kept_temporary_workspace_outlives_cleanup_and_an_empty_one_does_not() -> None:
    full, empty = Runtime(sandbox=_local(None)), Runtime(sandbox=_local(None))
    full.write_file("hello.txt", "hi")
    for runtime in (full, empty):
        runtime.keep_workspace()
        runtime.cleanup()
    try:
        assert (full.workspace / "hello.txt").read_text() == "hi"
        assert not empty.workspace.exists()
    finally:
        shutil.rmtree(full.workspace, ignore_errors=True)


def test_a_named_workspace_is_never_temporary_and_never_settled(tmp_path: Path) -> None:
    runtime = Runtime(sandbox=_local(tmp_path))
    runtime.write_file("mine.txt", "x")
    try:
        assert not runtime.temporary
        assert settle_workspace(runtime, "never", choice="discard") is None
    finally:
        runtime.cleanup()
    assert (tmp_path / "mine.txt").read_text() == "x"


@pytest.mark.parametrize(("policy", "choice", "answer", "kept"), [
    ("ask", None, None, True),  # nobody to ask: kept
    ("ask", None, True, True),
    ("ask", None, False, False),
    ("always", None, False, True),  # never asked
    ("never", None, True, False),
    ("never", "keep", None, True),  # /exit keep wins over the setting
    ("always", "discard", None, False),  # /exit discard too
])
def test_settling_a_workspace_that_holds_files_follows_the_choice_then_the_policy(
    runtime: Runtime, policy: str, choice: Optional[str], answer: Optional[bool], kept: bool,
) -> None:
    runtime.write_file("a/b.txt", "x")
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question)
        assert answer is not None
        return answer

    guard_workspace(runtime, policy)
    end = settle_workspace(runtime, policy, choice, ask if answer is not None else None)
    assert end is not None and end.kept is kept
    assert end.contents == Contents(files=1, folders=1)
    if policy == "ask" and answer is not None and choice is None:
        assert asked == [f"Keep the workspace {runtime.workspace} (1 file, 1 folder)? [Y/n] "]
    else:
        assert asked == []
    runtime.cleanup()
    assert runtime.workspace.exists() is kept
    if kept:
        assert end.describe() == f"Kept the workspace {runtime.workspace} (1 file, 1 folder)."
    else:
        assert end.describe().startswith("Removed the temporary workspace")


def test_an_empty_temporary_workspace_goes_quietly_without_a_question(runtime: Runtime) -> None:
    guard_workspace(runtime, "ask")

    def ask(question: str) -> bool:
        raise AssertionError("asked about an empty workspace")

    end = settle_workspace(runtime, "ask", ask=ask)
    assert end is not None and not end.kept and end.describe() == ""
    runtime.cleanup()
    assert not runtime.workspace.exists()


def test_a_guarded_workspace_survives_an_abrupt_end(runtime: Runtime) -> None:
    """A signal closes the sandbox before anyone settles it (Docker's SIGTERM clean-up)."""
    runtime.write_file("work.txt", "hours of it")
    guard_workspace(runtime, "ask")
    runtime.sandbox.close()
    assert (runtime.workspace / "work.txt").exists()
    end = settle_workspace(runtime, "ask")  # the exit path, after the fact
    assert end is not None and end.kept


def test_never_leaves_the_workspace_unguarded(runtime: Runtime) -> None:
    runtime.write_file("work.txt", "x")
    guard_workspace(runtime, "never")
    runtime.cleanup()
    assert not runtime.workspace.exists()


def test_counting_follows_no_link_and_stops_at_the_cap(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    for n in range(5):
        (tmp_path / "outside" / f"{n}.txt").write_text("x")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(tmp_path / "outside")
    (ws / "loop").symlink_to(ws)
    assert count_contents(ws) == Contents(files=2)
    for n in range(30):
        (ws / f"f{n}").write_text("")
    capped = count_contents(ws, most=10)
    assert capped.more and capped.describe() == f"{MOST_COUNTED}+ entries"


def test_counting_a_tree_nested_deeper_than_the_stack_still_answers(tmp_path: Path) -> None:
    depth = 1500  # above Python's recursion limit: a recursive walk would fail
    for level in range(1, depth + 1):  # os.makedirs would itself recurse
        tmp_path.joinpath(*["d"] * level).mkdir()
    try:
        assert count_contents(tmp_path) == Contents(folders=depth)
    finally:
        for level in range(depth, 0, -1):  # bottom up, without recursion
            tmp_path.joinpath(*["d"] * level).rmdir()


@pytest.fixture
def session(workspace: Path) -> Session:
    return Session(AgentLoop(FakeModel(default=say("hi")), Runtime(sandbox=FakeSandbox(
        workspace))))


@pytest.mark.parametrize(("line", "choice"), [("/exit", None), ("/exit discard", "discard"),
                                               ("/exit keep", "keep"), ("/exit --discard",
                                                                        "discard")])
def test_exit_takes_keep_or_discard_for_the_workspace(
    session: Session, line: str, choice: Optional[str]
) -> None:
    outcome = run_command(session, line)
    assert outcome.exit and not outcome.is_error
    assert session.workspace_choice == choice


def test_exit_with_another_word_is_a_usage_error_and_does_not_leave(session: Session) -> None:
    outcome = run_command(session, "/exit now")
    assert outcome.is_error and not outcome.exit
    assert "/exit [keep|discard]" in outcome.text


def test_exit_discard_on_a_folder_you_chose_says_it_stays(session: Session) -> None:
    outcome = run_command(session, "/exit discard")
    assert outcome.exit
    assert "is a folder you chose, so it stays" in outcome.text
