"""Deny rules and confirmation: which bash calls run, and what the model hears when one does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygent.agent import Agent
from pygent.app.agent import AgentLoop
from pygent.app.approval import DECLINED, Approval, matching_rule
from pygent.app.settings import Settings, load_settings
from pygent.domain.errors import ConfigError
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

RULES = ["git push", "rm -rf /"]


@pytest.mark.parametrize("command", [
    "git push",
    "git push origin main",
    "echo ok && git push",
    "make test; git push --force",
    "ls | git push",
    "true || git push",
    "git status\ngit push",
    "FOO=1 git push",
    "sudo -E git push",
    "/usr/bin/git push",
    "echo $(git push)",
    'echo "$(git push)"',
    "echo `git push`",
    "bash -c 'cd repo && git push'",
    "eval git push",
    "rm -rf /",
    "(cd x && rm -rf /)",
])
def test_a_command_containing_a_denied_prefix_matches_its_rule(command: str) -> None:
    assert matching_rule(command, RULES) in RULES


@pytest.mark.parametrize("command", [
    "git status",
    "git pushd",
    "echo git push",
    "grep 'git push' notes.txt",
    "rm -rf /tmp/build",
    "rm -rf build",
    "echo done # git push",
])
def test_a_command_that_only_mentions_a_rule_is_allowed(command: str) -> None:
    assert matching_rule(command, RULES) is None


def test_unbalanced_quotes_still_match_on_plain_words() -> None:
    assert matching_rule("git push 'oops", RULES) == "git push"


def test_rules_see_each_command_past_assignments_and_wrappers() -> None:
    assert matching_rule("A=1 nohup python x.py && make", ["python x.py"]) == "python x.py"
    assert matching_rule("A=1 nohup python x.py && make", ["make"]) == "make"


def test_a_rule_may_name_the_wrapper_itself() -> None:
    assert matching_rule("sudo rm -rf build", ["sudo rm"]) == "sudo rm"


words = st.text(alphabet="abcdefghij-_./", min_size=1, max_size=8)


@given(rule=st.lists(words, min_size=1, max_size=3), before=st.lists(words, max_size=3),
       after=st.lists(words, max_size=3), joiner=st.sampled_from([" && ", "; ", " | ", "\n"]))
def test_a_rule_matches_wherever_it_starts_a_segment(
    rule: list[str], before: list[str], after: list[str], joiner: str
) -> None:
    text = " ".join(rule)
    prefix = f"echo {' '.join(before)}{joiner}" if before else ""
    assert matching_rule(f"{prefix}{text} {' '.join(after)}", [text]) == text


class Asker:
    """Answers every confirmation the same way and remembers what it was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, command: str) -> bool:
        self.asked.append(command)
        return self.answer


def loop_with(workspace: Path, model: FakeModel, guard: Approval) -> tuple[AgentLoop, FakeSandbox]:
    sandbox = FakeSandbox(workspace)
    return AgentLoop(model, Runtime(sandbox=sandbox), guard=guard), sandbox


def tool_results(loop: AgentLoop) -> list[str]:
    return [m.content or "" for m in loop.conversation if m.role == "tool"]


def test_a_denied_bash_call_is_answered_with_the_refusal_and_never_runs(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "git add . && git push"})), say("ok")])
    loop, sandbox = loop_with(workspace, model, Approval(RULES))
    loop.run_until_stop("publish it")
    assert sandbox.commands == []
    assert "deny rule 'git push'" in tool_results(loop)[0]


def test_confirmation_shows_the_command_and_runs_it_on_yes(workspace: Path) -> None:
    ask = Asker(answer=True)
    loop, sandbox = loop_with(workspace, FakeModel([calls(call("bash", {"cmd": "echo hi"}))]),
                              Approval(confirm=True, ask=ask))
    loop.run_until_stop("greet")
    assert ask.asked == ["echo hi"]
    assert sandbox.commands == ["echo hi"]


def test_a_declined_command_is_the_tool_result_the_model_sees(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"})), say("ok")])
    loop, sandbox = loop_with(workspace, model, Approval(confirm=True, ask=lambda cmd: False))
    loop.run_until_stop("greet", unattended=False)
    assert sandbox.commands == []
    assert tool_results(loop) == [DECLINED]
    assert model.requests[-1]["messages"][-1]["content"] == DECLINED


def test_denied_commands_are_refused_before_anyone_is_asked(workspace: Path) -> None:
    ask = Asker(answer=True)
    assert Approval(RULES, confirm=True, ask=ask)("bash", {"cmd": "git push"}) is not None
    assert ask.asked == []


def test_confirmation_with_no_one_to_ask_refuses() -> None:
    assert Approval(confirm=True)("bash", {"cmd": "ls"}) is not None


def test_other_tools_are_neither_denied_nor_asked_about() -> None:
    approval = Approval(["write_file"], confirm=True, ask=lambda cmd: False)
    assert approval("write_file", {"path": "a", "content": "git push"}) is None


def test_switching_confirmation_off_stops_the_asking() -> None:
    approval = Approval(confirm=True, ask=lambda cmd: False)
    approval.confirm = False
    assert approval("bash", {"cmd": "ls"}) is None


def test_changing_the_deny_list_changes_what_is_refused() -> None:
    approval = Approval(["git push"])
    assert approval.check_command("git push") is not None
    approval.deny = ["rm -rf /"]
    assert approval.check_command("git push") is None
    assert approval.check_command("rm -fr /") is not None


def test_a_command_name_computed_at_run_time_is_refused_only_when_rules_exist() -> None:
    assert Approval([]).check_command("$(echo git) push") is None
    assert "only known at run time" in (Approval(RULES).check_command("$(echo git) push") or "")


def test_deny_rules_and_confirm_are_read_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "pygent.toml"
    config.write_text('deny = ["git push", "rm -rf /"]\nconfirm = true\n')
    settings = load_settings(config_file=str(config), environ={})
    assert settings.deny == ["git push", "rm -rf /"]
    assert settings.confirm is True


def test_pygent_confirm_in_the_environment_switches_confirmation_on() -> None:
    assert load_settings(environ={"PYGENT_CONFIRM": "1"}, cwd=Path("/")).confirm is True


def test_a_deny_setting_that_is_not_a_list_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "pygent.toml"
    config.write_text('deny = "git push"\n')
    with pytest.raises(ConfigError, match="deny"):
        load_settings(config_file=str(config), environ={})


def test_an_agent_built_from_settings_obeys_their_deny_rules(workspace: Path) -> None:
    sandbox = FakeSandbox(workspace)
    model = FakeModel([calls(call("bash", {"cmd": "git push"})), say("ok")])
    agent = Agent(model=model, runtime=Runtime(sandbox=sandbox),
                  settings=Settings(deny=["git push"]))
    agent.run_until_stop("publish")
    assert sandbox.commands == []
