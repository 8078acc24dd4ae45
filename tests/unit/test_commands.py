"""Slash commands as plain functions: what each says and does to the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygent.app.agent import AgentLoop
from pygent.app.approval import Approval
from pygent.app.commands import COMMANDS, Session, is_command, run_command
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, say


@pytest.fixture
def sandbox(workspace: Path) -> FakeSandbox:
    return FakeSandbox(workspace)


@pytest.fixture
def model() -> FakeModel:
    return FakeModel(default=say("hello"))


@pytest.fixture
def session(sandbox: FakeSandbox, model: FakeModel) -> Session:
    return Session(AgentLoop(model, Runtime(sandbox=sandbox)), Approval(["git push"]))


def test_help_lists_every_command_with_its_summary(session: Session) -> None:
    text = run_command(session, "/help").text
    for command in COMMANDS.values():
        assert f"/{command.name}" in text
        assert command.summary in text
    assert {"help", "cmd", "cp", "new", "exit", "confirm", "tasks"} <= set(COMMANDS)


def test_help_for_one_command_shows_its_usage_and_details(session: Session) -> None:
    outcome = run_command(session, "/help cp")
    assert outcome.text.startswith("/cp SRC [DEST]\n")
    assert COMMANDS["cp"].help in outcome.text


def test_an_unknown_command_suggests_the_closest_one(session: Session) -> None:
    outcome = run_command(session, "/hepl")
    assert outcome.is_error
    assert "Did you mean /help?" in outcome.text


def test_an_unknown_command_with_nothing_close_points_to_help(session: Session) -> None:
    outcome = run_command(session, "/zzzzzz")
    assert "Did you mean" not in outcome.text
    assert "/help lists the commands" in outcome.text


def test_cmd_runs_in_the_sandbox_without_asking_the_model(
    session: Session, sandbox: FakeSandbox, model: FakeModel
) -> None:
    outcome = run_command(session, "/cmd echo raw")
    assert outcome.text == "raw"
    assert sandbox.commands == ["echo raw"]
    assert model.requests == []
    assert len(session.agent.conversation) == 0


def test_cmd_shows_a_failing_status(session: Session) -> None:
    assert run_command(session, "/cmd exit 3").text == "[exit status 3]"


def test_cmd_without_a_command_explains_its_usage(session: Session) -> None:
    outcome = run_command(session, "/cmd   ")
    assert outcome.is_error
    assert "Usage: /cmd" in outcome.text


def test_cmd_obeys_the_deny_rules(session: Session, sandbox: FakeSandbox) -> None:
    outcome = run_command(session, "/cmd git push origin")
    assert outcome.is_error
    assert "deny rule 'git push'" in outcome.text
    assert sandbox.commands == []


def test_a_sandbox_failure_becomes_an_error_outcome(session: Session, sandbox: FakeSandbox) -> None:
    sandbox.close()
    outcome = run_command(session, "/cmd echo hi")
    assert outcome.is_error
    assert outcome.text == "/cmd: closed"


def test_cp_copies_a_host_file_into_the_workspace(
    session: Session, tmp_path: Path, workspace: Path
) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("remember")
    outcome = run_command(session, f"/cp {src}")
    assert not outcome.is_error
    assert (workspace / "notes.txt").read_text() == "remember"
    assert "notes.txt" in outcome.text


def test_cp_puts_the_copy_at_dest_when_given(
    session: Session, tmp_path: Path, workspace: Path
) -> None:
    src = tmp_path / "my notes.txt"
    src.write_text("remember")
    run_command(session, f"/cp '{src}' copy.txt")
    assert (workspace / "copy.txt").read_text() == "remember"


def test_cp_of_a_missing_file_says_so(session: Session, tmp_path: Path) -> None:
    outcome = run_command(session, f"/cp {tmp_path / 'absent.txt'}")
    assert outcome.is_error
    assert "does not exist" in outcome.text


@pytest.mark.parametrize("args", ["", "a b c", "'unbalanced"])
def test_cp_with_the_wrong_arguments_explains_its_usage(session: Session, args: str) -> None:
    outcome = run_command(session, f"/cp {args}")
    assert outcome.is_error
    assert "/cp" in outcome.text


def test_new_forgets_the_conversation_and_keeps_the_runtime(
    session: Session, sandbox: FakeSandbox
) -> None:
    session.agent.step("hi")
    runtime = session.runtime
    outcome = run_command(session, "/new")
    assert len(session.agent.conversation) == 0
    assert session.runtime is runtime
    assert not sandbox.closed
    assert "New conversation" in outcome.text


def test_exit_ends_the_session(session: Session) -> None:
    assert run_command(session, "/exit").exit
    assert not run_command(session, "/help").exit


def test_confirm_switches_asking_on_and_off(session: Session) -> None:
    assert "on" in run_command(session, "/confirm on").text
    assert session.approval.confirm
    run_command(session, "/confirm off")
    assert not session.approval.confirm
    assert run_command(session, "/confirm maybe").is_error


def test_command_names_ignore_case(session: Session) -> None:
    assert run_command(session, "/EXIT").exit


@pytest.mark.parametrize("line, expected", [
    ("/help", True), ("  /cmd ls", True), ("/usr/bin/env true", False), ("echo /help", False),
    ("", False),
])
def test_only_slash_words_without_another_slash_are_commands(line: str, expected: bool) -> None:
    assert is_command(line) is expected


def test_a_session_without_approval_uses_the_agent_guard(sandbox: FakeSandbox) -> None:
    guard = Approval(["rm"])
    session = Session(AgentLoop(FakeModel(), Runtime(sandbox=sandbox), guard=guard))
    assert session.approval is guard
    assert run_command(session, "/cmd rm x").is_error
    assert sandbox.commands == []
