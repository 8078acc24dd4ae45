"""``/tasks``: a real Agent's delegated tasks (direct model, local sandbox), listed and stopped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent.agent import Agent
from pygent.app.agent import AgentLoop
from pygent.app.commands import Session, run_command
from pygent.app.settings import Settings
from pygent.app.task_report import duration, ended_line
from pygent.app.tasks import Task
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox
from tests.processes import eventually, long_sleep, processes_running

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


@pytest.fixture
def agent() -> Iterator[Agent]:
    parent = Agent(settings=LOCAL)
    yield parent
    parent.close()


@pytest.fixture
def session(agent: Agent) -> Session:
    return Session(agent)


def delegate(agent: Agent, line: str) -> Task:
    """Type ``line`` to the direct model, which calls delegate_task; the task it started."""
    before = set(agent.tasks.tasks)
    agent.run_until_stop(line)
    (started,) = set(agent.tasks.tasks) - before
    return agent.tasks.tasks[started]


def delegate_sleep(agent: Agent) -> tuple[Task, str]:
    """A task whose sub-agent runs a five-minute sleep; returns once the sleep is running."""
    command = long_sleep()
    task = delegate(agent, f'delegate_task prompt="{command}"')
    assert eventually(lambda: bool(processes_running(command))), "the task's sleep never started"
    return task, command


def task_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pygent-task-")]


def test_tasks_with_none_says_so_and_how_to_start_one(session: Session) -> None:
    outcome = run_command(session, "/tasks")
    assert not outcome.is_error
    assert outcome.text.startswith("No delegated tasks yet.")
    assert 'delegate_task prompt="' in outcome.text


def test_tasks_lists_a_finished_task_with_its_persona_time_prompt_and_workspace(
    agent: Agent, session: Session
) -> None:
    task = delegate(agent, 'delegate_task prompt="write_file path=\\"b.txt\\" content=\\"hi\\""')
    assert agent.tasks.wait(task.id, 30) == "finished"
    text = run_command(session, "/tasks").text
    assert text.splitlines() == [
        "Delegated tasks (0 running, 1 ended):",
        f"task-1  finished  {duration(task.seconds)}  Pygent",
        '  prompt: write_file path="b.txt" content="hi"',
        f"  workspace: {task.workspace}",
        "/tasks stop ID stops a running one; the model copies a task's files with collect_file.",
    ]
    assert task.workspace is not None
    assert (task.workspace / "b.txt").read_text() == "hi"  # where the listing says the files are


def test_tasks_stop_ends_a_running_task_its_process_and_its_thread(
    agent: Agent, session: Session
) -> None:
    task, command = delegate_sleep(agent)
    assert "task-1  running  " in run_command(session, "/tasks").text
    outcome = run_command(session, "/tasks stop task-1")
    assert not outcome.is_error
    assert outcome.text.startswith("task-1 cancelled: stopped with /tasks stop (Pygent, ")
    assert not task.running
    assert processes_running(command) == []
    assert task_threads() == []
    assert "(removed: the task's sandbox was released)" in run_command(session, "/tasks").text


def test_tasks_stop_takes_a_bare_number_or_all(agent: Agent, session: Session) -> None:
    first, first_command = delegate_sleep(agent)
    second, second_command = delegate_sleep(agent)
    third, third_command = delegate_sleep(agent)
    assert "task-1 cancelled" in run_command(session, "/tasks stop 1").text
    stopped = run_command(session, "/tasks stop all").text.splitlines()
    assert [line.split(" (")[0] for line in stopped] == [
        "task-2 cancelled: stopped with /tasks stop", "task-3 cancelled: stopped with /tasks stop"]
    assert not any(t.running for t in (first, second, third))
    for command in (first_command, second_command, third_command):
        assert processes_running(command) == []
    assert run_command(session, "/tasks stop all").text == "No task is running."


def test_stopping_a_task_that_ended_keeps_its_files(agent: Agent, session: Session) -> None:
    task = delegate(agent, 'delegate_task prompt="write_file path=\\"kept.txt\\" content=\\"k\\""')
    agent.tasks.wait(task.id, 30)
    outcome = run_command(session, "/tasks stop task-1")
    assert outcome.text.endswith(": already ended, nothing to stop")
    assert task.workspace is not None and (task.workspace / "kept.txt").read_text() == "k"


@pytest.mark.parametrize("line, says", [
    ("/tasks stop", "Usage: /tasks"), ("/tasks list-them", "Usage: /tasks"),
    ("/tasks stop task-9", "unknown task 'task-9' (tasks: task-1)"),
])
def test_tasks_with_wrong_arguments_is_an_error_that_says_why(
    agent: Agent, session: Session, line: str, says: str
) -> None:
    agent.tasks.wait(delegate(agent, 'delegate_task prompt="echo hi"').id, 30)
    outcome = run_command(session, line)
    assert outcome.is_error
    assert says in outcome.text


def test_stopping_with_no_tasks_at_all_says_so(session: Session) -> None:
    outcome = run_command(session, "/tasks stop task-1")
    assert outcome.is_error and outcome.text == "No delegated tasks to stop."


def test_a_prompt_s_control_characters_and_extra_lines_are_shown_escaped(
    agent: Agent, session: Session
) -> None:
    prompt = "echo safe\r\x1b[2Kecho \x1b]52;c;ZXZpbA==\x07 \u202egnp.exe\necho second line"
    task_id = agent.tasks.start_task(prompt, agent.runtime)
    agent.tasks.wait(task_id, 30)
    text = run_command(session, "/tasks").text
    assert r"  prompt: echo safe\r\x1b[2Kecho \x1b]52;c;ZXZpbA==\x07 \u202egnp.exe ..." in text
    assert not any(char in text for char in "\r\x1b\x07\u202e")
    assert "second line" not in text


def test_a_long_prompt_line_is_cut_short(agent: Agent, session: Session) -> None:
    task_id = agent.tasks.start_task("echo " + "x" * 200, agent.runtime)
    agent.tasks.wait(task_id, 30)
    (line,) = [line for line in run_command(session, "/tasks").text.splitlines()
               if "prompt:" in line]
    assert line == "  prompt: echo " + "x" * 62 + "..."


def test_with_the_task_tools_off_tasks_says_how_to_turn_them_on() -> None:
    with Agent(settings=Settings(backend="direct", use_docker=False, task_tools=False)) as agent:
        text = run_command(Session(agent), "/tasks").text
    assert "the task tools are off" in text and "task_tools = true" in text


def test_a_session_without_a_task_manager_has_no_tasks(workspace: Path) -> None:
    session = Session(AgentLoop(FakeModel(), Runtime(sandbox=FakeSandbox(workspace))))
    assert run_command(session, "/tasks").text.startswith("No delegated tasks")
    assert run_command(session, "/tasks stop 1").text == "No delegated tasks to stop."


def test_the_line_for_an_ended_task_names_its_status_persona_and_time(agent: Agent) -> None:
    task = delegate(agent, 'delegate_task prompt="echo done"')
    agent.tasks.wait(task.id, 30)
    assert ended_line(task) == f"task-1 finished (Pygent, {duration(task.seconds)})"
    assert (duration(0.4), duration(59.6), duration(125)) == ("0 s", "1 min 0 s", "2 min 5 s")


def test_closing_the_parent_agent_stops_its_tasks_and_leaves_no_process_or_thread(
    agent: Agent,
) -> None:
    task, command = delegate_sleep(agent)
    agent.close()
    assert task.status == "cancelled: the parent session ended"
    assert processes_running(command) == []
    assert task_threads() == []
    assert task.workspace is not None and not task.workspace.exists()
