"""Unattended runs keep going until the model says it is done (issue 12).

The replies are the shapes a real Qwen2.5-Coder-1.5B sent when runs ended too early: prose
plus a fenced shell block, a plan in prose, an unknown tool written as JSON, six calls then
``stop``. A chat (the REPL, the web page) keeps its semantics: a text reply ends the turn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest

from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.app.run_guide import LISTING
from pygent.app.text_protocol import EXAMPLES, to_text_wire
from pygent.domain.events import Notice
from pygent.domain.sandbox import CommandResult
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

SHELL_REPLY = (
    "Let me count the lines.\n```bash\nline_count=$(wc -l < data.txt)\n"
    'echo "$line_count" > count.txt\n```'
)
PLAN = ("Here is how we will do it: first list the files with bash, then write the result. "
        "When you call stop, the task is complete.")
UNKNOWN_TOOL = '```json\n{"name": "log_with_error", "arguments": {"path": "logs/error.log"}}\n```'


def make_agent(
    model: FakeModel, workspace: Path, **options: object
) -> tuple[AgentLoop, FakeSandbox]:
    sandbox = FakeSandbox(workspace)
    agent = AgentLoop(model, Runtime(sandbox=sandbox), tools=ToolRegistry(builtin_tools()),
                      **options)  # type: ignore[arg-type]
    return agent, sandbox


def roles(agent: AgentLoop) -> list[str]:
    return [m.role for m in agent.conversation]


def test_a_plan_in_prose_is_answered_with_a_nudge_and_the_run_goes_on(workspace: Path) -> None:
    model = FakeModel([say(PLAN), calls(call("bash", {"cmd": "echo hi"})), calls(call("stop"))])
    agent, sandbox = make_agent(model, workspace)
    result = agent.run_until_stop("count the lines", max_steps=8)
    assert (result.reason, result.steps) == ("stop", 3)
    assert sandbox.commands == ["echo hi"]
    nudge = model.requests[1]["messages"][-1]
    assert nudge["role"] == "user" and "stop" in nudge["content"] and "tool" in nudge["content"]


def test_consecutive_text_replies_end_the_run_with_their_own_reason(workspace: Path) -> None:
    model = FakeModel(default=say(PLAN))
    agent, _ = make_agent(model, workspace, text_reply_limit=3)
    notices: list[str] = []
    agent.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    result = agent.run_until_stop("do it", max_steps=20)
    assert (result.reason, result.steps, result.finished) == ("no_action", 3, False)
    assert any("3 replies in a row without an action" in text for text in notices)
    assert roles(agent)[-1] == "assistant"  # the last reply is not followed by a dangling nudge


def test_an_action_resets_the_count_of_text_replies(workspace: Path) -> None:
    script = [say(PLAN), say(PLAN), calls(call("bash", {"cmd": "echo a"})), say(PLAN), say(PLAN),
              calls(call("stop"))]
    agent, _ = make_agent(FakeModel(script), workspace, text_reply_limit=3)
    assert agent.run_until_stop("go", max_steps=10).reason == "stop"


def test_a_chat_turn_still_ends_on_a_text_reply(workspace: Path) -> None:
    agent, _ = make_agent(FakeModel([say("Which file do you mean?")]), workspace)
    result = agent.run_until_stop("fix the file", unattended=False)
    assert (result.reason, result.steps, result.finished) == ("answer", 1, True)
    assert roles(agent) == ["user", "assistant"]


def test_a_fenced_shell_block_runs_in_an_unattended_run(workspace: Path) -> None:
    model = FakeModel([say(SHELL_REPLY), calls(call("stop"))])
    agent, sandbox = make_agent(model, workspace)
    assert agent.run_until_stop("count lines into count.txt").reason == "stop"
    ran = [c for c in sandbox.commands if "realpath -e --" not in c]  # besides the guide's looks
    assert ran == ['line_count=$(wc -l < data.txt)\necho "$line_count" > count.txt']


def test_a_fenced_shell_block_is_only_text_in_a_chat(workspace: Path) -> None:
    agent, sandbox = make_agent(FakeModel([say(SHELL_REPLY)]), workspace)
    result = agent.run_until_stop("how would I count lines?", unattended=False)
    assert result.reason == "answer" and sandbox.commands == []


def test_an_unknown_tool_written_as_text_is_answered_and_the_run_goes_on(workspace: Path) -> None:
    model = FakeModel([say(UNKNOWN_TOOL), calls(call("stop"))])
    agent, _ = make_agent(model, workspace)
    assert agent.run_until_stop("log the error").reason == "stop"
    answer = model.requests[1]["messages"][-1]
    assert answer["role"] == "user"
    assert "log_with_error" in answer["content"]
    assert all(name in answer["content"] for name in ("bash", "write_file", "stop"))


def test_an_unknown_tool_in_a_chat_is_answered_too(workspace: Path) -> None:
    model = FakeModel([say(UNKNOWN_TOOL), say("Sorry, I will use bash.")])
    agent, _ = make_agent(model, workspace)
    result = agent.run_until_stop("log the error", unattended=False)
    assert (result.reason, result.steps) == ("answer", 2)


def test_stop_after_a_failed_call_in_the_same_reply_does_not_end_the_run(workspace: Path) -> None:
    six = [call("bash", {"cmd": f"exit {n}"}) for n in range(1, 7)]
    model = FakeModel([calls(*six, call("stop")), calls(call("bash", {"cmd": "echo ok"})),
                       calls(call("stop"))])
    agent, _ = make_agent(model, workspace)
    result = agent.run_until_stop("make textkit", max_steps=8)
    assert (result.reason, result.steps) == ("stop", 3)
    refused = [m for m in agent.conversation if m.role == "tool" and m.name == "stop"][0]
    assert (refused.content or "").startswith("Not stopped: 6 calls failed (bash)")


def test_stop_after_calls_that_worked_ends_the_run(workspace: Path) -> None:
    model = FakeModel([calls(call("write_file", {"path": "a.txt", "content": "x"}), call("stop"))])
    agent, _ = make_agent(model, workspace)
    assert agent.run_until_stop("write a.txt").reason == "stop"


def test_the_text_protocol_sends_no_schemas_and_runs_one_action_per_reply(
    workspace: Path,
) -> None:
    two = "First:\n```bash\necho one\n```\nthen\n```bash\necho two\n```"
    model = FakeModel([say(two), say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, sandbox = make_agent(model, workspace, tool_protocol="text", example_task=False)
    assert agent.run_until_stop("go").reason == "stop"
    assert sandbox.commands == ["echo one"]
    first = model.requests[0]
    assert first["tools"] == []
    assert "```bash" in first["messages"][0]["content"]  # the prompt teaches the format
    second = model.requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == "First:\n```bash\necho one\n```"  # what ran, no more
    assert "tool_calls" not in second[2]
    assert second[3]["content"] == "Result of bash:\none"


def test_the_text_protocol_shows_a_solved_example_task_before_the_conversation(
    workspace: Path,
) -> None:
    # Told the steps in the system prompt, Qwen2.5-Coder-1.5B wrote made-up results; shown
    # them as earlier turns, it looked, wrote whole files and ran checks (5 to 8 of 14 tasks).
    model = FakeModel([say("```bash\necho one\n```"),
                       say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, _ = make_agent(model, workspace, tool_protocol="text")
    agent.run_until_stop("go")
    wire = model.requests[1]["messages"]
    roles = [m["role"] for m in wire]
    assert roles == ["system"] + ["user", "assistant"] * 5 + ["user"]
    assert wire[1]["content"] == EXAMPLES[0][0]
    assert "its files are not in your workspace" in EXAMPLES[0][0]
    assert "double.py\n```python\nimport sys\n" in wire[4]["content"]  # a file block
    assert '```json\n{"name": "stop"' in wire[8]["content"]
    assert wire[9]["content"] == "Now your task, in your workspace:\ngo"
    assert wire[10]["content"] == "```bash\necho one\n```"
    assert [m.content for m in agent.conversation][:1] == ["go"]  # the history has no example
    wrote = "import sys\nprint(int(sys.argv[1]) * 2)\n"
    assert f"Wrote {len(wrote)} bytes to double.py" in wire[5]["content"]


@pytest.mark.parametrize("options", [{"example_task": False}, {"tool_protocol": "native"},
                                     {"tools": ToolRegistry([builtin_tools()[0]])}])
def test_no_example_when_switched_off_native_or_without_its_tools(
    workspace: Path, options: dict[str, object],
) -> None:
    model = FakeModel([say("done")])
    sandbox = FakeSandbox(workspace)
    settings: dict[str, object] = {"tool_protocol": "text", "tools": ToolRegistry(builtin_tools()),
                                   **options}
    agent = AgentLoop(model, Runtime(sandbox=sandbox), **settings)  # type: ignore[arg-type]
    agent.step("go")
    assert all(EXAMPLES[0][0] not in str(m.get("content"))
               for m in model.requests[0]["messages"])


def test_a_guess_written_after_the_first_action_is_not_kept(workspace: Path) -> None:
    # Qwen2.5-Coder-1.5B: the command, then the file written with a made-up total, fifteen
    # times over, because each reply was kept whole and only the first action ran.
    guess = ('```bash\ncat a.txt\n```\n```json\n{"name": "write_file", "arguments": '
             '{"path": "total.txt", "content": "12345"}}\n```\nThe total is 12345.')
    model = FakeModel([say(guess), say('```json\n{"name": "stop", "arguments": {}}\n```')])
    (workspace / "a.txt").write_text("3\n4\n")
    agent, sandbox = make_agent(model, workspace, tool_protocol="text")
    agent.run_until_stop("add up a.txt")
    assert sandbox.commands == ["cat a.txt"] and not (workspace / "total.txt").exists()
    reply = agent.conversation[1]
    assert reply.content == "```bash\ncat a.txt\n```" and len(reply.tool_calls or []) == 1
    assert [m.role for m in agent.conversation][:3] == ["user", "assistant", "tool"]


def test_a_problem_after_the_first_action_is_dropped_with_it(workspace: Path) -> None:
    reply = "```bash\necho hi\n```\n" + UNKNOWN_TOOL
    model = FakeModel([say(reply), say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, _ = make_agent(model, workspace, tool_protocol="text")
    agent.run_until_stop("go")
    assert not any("log_with_error" in (m.content or "") for m in agent.conversation
                   if m.role == "user")


def test_the_text_wire_form_never_has_two_user_or_two_assistant_turns_in_a_row() -> None:
    native = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a", "type": "function",
             "function": {"name": "bash", "arguments": json.dumps({"cmd": "ls"})}},
            {"id": "b", "type": "function",
             "function": {"name": "write_file", "arguments": '{"path": "x", "content": "y"}'}}]},
        {"role": "tool", "tool_call_id": "a", "name": "bash", "content": "a.txt"},
        {"role": "tool", "tool_call_id": "b", "name": "write_file", "content": "Wrote 1 bytes"},
        {"role": "user", "content": "No action found."},
    ]
    wire = to_text_wire(native)
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user"]
    assert "```bash\nls\n```" in wire[2]["content"] and '"write_file"' in wire[2]["content"]
    assert wire[3]["content"].endswith("No action found.")
    assert all("tool_calls" not in m and m["content"] for m in wire)


def test_a_text_reply_limit_of_one_ends_at_the_first_text_reply(workspace: Path) -> None:
    agent, _ = make_agent(FakeModel(default=say(PLAN)), workspace, text_reply_limit=1)
    assert agent.run_until_stop("go").reason == "no_action"
    assert roles(agent) == ["user", "assistant"]


def test_stop_with_a_result_gives_it_back(workspace: Path) -> None:
    model = FakeModel([calls(call("stop", {"result": "Counted 3 lines."}))])
    agent, _ = make_agent(model, workspace)
    agent.run_until_stop("count")
    assert agent.conversation[-1].content == "Counted 3 lines."


def test_stop_takes_a_result_under_another_name_small_models_invent(workspace: Path) -> None:
    model = FakeModel([calls(call("stop", {"summary": "All done."}))])
    agent, _ = make_agent(model, workspace)
    assert agent.run_until_stop("go").reason == "stop"
    assert agent.conversation[-1].content == "All done."


def test_in_the_text_protocol_a_command_sent_with_stop_runs_and_stop_waits(
    workspace: Path,
) -> None:
    both = 'Create it:\n```bash\necho hi\n```\n```json\n{"name": "stop", "arguments": {}}\n```'
    model = FakeModel([say(both), say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, sandbox = make_agent(model, workspace, tool_protocol="text")
    result = agent.run_until_stop("go")
    assert (result.reason, result.steps) == ("stop", 2)
    assert sandbox.commands == ["echo hi"]


class LooksFail(FakeSandbox):
    """A fake whose guide looks fail, as where there is no GNU find: it ran nothing else."""

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        if command == LISTING or "realpath -e" in command:
            self.commands.append(command)
            return CommandResult("", 1)
        return super().run(command, timeout)


def test_an_unattended_runs_first_stop_asks_for_a_check_when_checks_are_on(
    workspace: Path,
) -> None:
    model = FakeModel([calls(call("write_file", {"path": "a.txt", "content": "x"})),
                       calls(call("stop")), calls(call("bash", {"cmd": "cat a.txt"})),
                       calls(call("stop", {"result": "a.txt holds x"}))])
    sandbox = LooksFail(workspace)
    agent = AgentLoop(model, Runtime(sandbox=sandbox), tools=ToolRegistry(builtin_tools()),
                      check_before_stop=True)
    result = agent.run_until_stop("write a.txt")
    assert (result.reason, result.steps, result.text) == ("stop", 4, "a.txt holds x")
    first_stop = [m for m in agent.conversation if m.role == "tool" and m.name == "stop"][0]
    assert (first_stop.content or "").startswith("Not stopped yet: first check")
    assert "The task: write a.txt" in (first_stop.content or "")
    ran = [c for c in sandbox.commands if c != LISTING and "realpath -e -- a.txt" not in c]
    assert ran == ["cat a.txt"]  # besides the guide's looks


def test_a_chat_never_asks_for_a_check_before_stop(workspace: Path) -> None:
    model = FakeModel([calls(call("stop"))])
    agent, _ = make_agent(model, workspace, check_before_stop=True)
    assert agent.run_until_stop("go", unattended=False).reason == "stop"


def test_checks_before_stop_are_on_by_default_only_with_the_text_protocol(
    workspace: Path,
) -> None:
    from pygent.agent import Agent
    from pygent.app.settings import Settings

    def agent_for(**values: object) -> Agent:
        return Agent(model=FakeModel(), runtime=Runtime(sandbox=FakeSandbox(workspace)),
                     settings=Settings(**values), history=None)  # type: ignore[arg-type]

    assert agent_for(tool_protocol="text").check_before_stop is True
    assert agent_for(tool_protocol="native").check_before_stop is False
    assert agent_for(tool_protocol="text", check_before_stop=False).check_before_stop is False


def test_an_unattended_stop_right_after_a_failed_command_is_refused_once(
    workspace: Path,
) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "exit 2"})), calls(call("stop")),
                       calls(call("stop", {"result": "cannot be done"}))])
    agent, _ = make_agent(model, workspace)
    result = agent.run_until_stop("go")
    assert (result.reason, result.steps, result.text) == ("stop", 3, "cannot be done")
    refused = [m for m in agent.conversation if m.role == "tool" and m.name == "stop"][0]
    assert (refused.content or "").startswith("Not stopped: your last bash failed")


def test_in_a_chat_a_stop_after_a_failed_command_is_taken(workspace: Path) -> None:
    model = FakeModel([calls(call("bash", {"cmd": "exit 2"})), calls(call("stop"))])
    agent, _ = make_agent(model, workspace)
    assert agent.run_until_stop("go", unattended=False).steps == 2


def test_a_malformed_repeat_beside_stop_does_not_hold_the_stop(workspace: Path) -> None:
    model = FakeModel([calls(call("write_file", {"path": "hello.txt", "content": "hi"})),
                       calls(call("write_file", "{not json"), call("stop"))])
    agent, _ = make_agent(model, workspace)
    assert agent.run_until_stop("write hello.txt").reason == "stop"


def test_a_command_that_printed_nothing_says_it_succeeded_on_the_text_wire() -> None:
    # Qwen2.5-Coder-1.5B read an empty result of grep ... > errors.txt as "found nothing".
    native = [{"role": "user", "content": "go"},
              {"role": "assistant", "content": "", "tool_calls": [
                  {"id": "a", "type": "function",
                   "function": {"name": "bash", "arguments": '{"cmd": "true"}'}},
                  {"id": "b", "type": "function",
                   "function": {"name": "other", "arguments": "{}"}}]},
              {"role": "tool", "tool_call_id": "a", "name": "bash", "content": ""},
              {"role": "tool", "tool_call_id": "b", "name": "other", "content": ""}]
    wire = to_text_wire(native)
    assert wire[-1]["content"] == ("Result of bash:\n(no output, exit status 0)\n\n"
                                   "Result of other:\n(no output)")


def test_the_text_protocol_writes_a_file_from_a_fenced_block_under_its_path(
    workspace: Path,
) -> None:
    script = '#!/bin/sh\necho "backup-$1.tar.gz"\n'
    model = FakeModel([say(f"The script:\nbackup_name.sh\n```bash\n{script}```\nDone."),
                       say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, sandbox = make_agent(model, workspace, tool_protocol="text",
                                check_before_stop=False, example_task=False)
    assert agent.run_until_stop("write backup_name.sh").reason == "stop"
    assert (workspace / "backup_name.sh").read_text() == script
    assert not any("backup-" in command for command in sandbox.commands)  # written, not run
    prompt = model.requests[0]["messages"][0]["content"]
    assert "hello.py\n```python\n" in prompt and '"name": "TOOL"' not in prompt
    wire = model.requests[1]["messages"]
    assert wire[2]["content"] == f"The script:\nbackup_name.sh\n```bash\n{script}```"
    assert wire[3]["content"].startswith("Result of write_file:\nWrote 34 bytes to "
                                         "backup_name.sh and made it executable (it starts "
                                         "with #!)")


def test_a_file_left_empty_is_answered_about_the_file_not_the_tool_list(
    workspace: Path,
) -> None:
    # Told "Available tools: bash, write_file, stop. Write the call again" after an empty
    # block under sorted.txt, Qwen2.5-Coder-1.5B ran `write_file sorted.txt` in bash.
    model = FakeModel([say("I create the file.\nsorted.txt\n```"),
                       say('```json\n{"name": "stop", "arguments": {}}\n```')])
    agent, _ = make_agent(model, workspace, tool_protocol="text", check_before_stop=False,
                          example_task=False)
    agent.run_until_stop("sort names.txt into sorted.txt")
    answer = model.requests[1]["messages"][-1]
    assert answer == {"role": "user", "content": (
        "Nothing was run: the block under sorted.txt is empty and never closed, so nothing was "
        "written: put sorted.txt's whole text in the block and close it with ```, or make it "
        "with a command whose output goes to it (COMMAND > sorted.txt).")}
