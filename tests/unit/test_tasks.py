"""Delegated tasks: a sub-agent per task, its own workspace, limits, personas, and clean stops.

The sub-agents use the offline direct model, which runs each line of their prompt as one tool
call, so these tests drive real agents in real local sandboxes.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import pygent
from pygent import Agent, Runtime, TaskError, TaskManager
from pygent.app.settings import Settings, load_settings
from pygent.domain.errors import ConfigError
from pygent.domain.persona import Persona
from pygent.models import set_custom_model
from tests.fakes import FakeModel, call, calls
from tests.processes import eventually, long_sleep, processes_running

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


@pytest.fixture
def agent() -> Iterator[Agent]:
    with Agent(settings=LOCAL) as parent:
        yield parent


def delegate(agent: Agent, **arguments: Any) -> tuple[str, bool]:
    return agent.dispatch("delegate_task", json.dumps(arguments))


def marker() -> str:
    return f"pygent-test-{uuid.uuid4().hex[:12]}"


def alive(command: str) -> bool:
    return bool(processes_running(command))


def gone(command: str, within: float = 10.0) -> bool:
    return eventually(lambda: not alive(command), within)


def task_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pygent-task-")]


# -- running a task -------------------------------------------------------------------------
def test_a_task_runs_each_line_of_its_prompt_in_its_own_workspace(agent: Agent) -> None:
    agent.runtime.write_file("notes/in.txt", "from the parent")
    answer, is_error = delegate(agent, files=["notes/in.txt"], prompt=(
        'write_file path="out.txt" content="made by the task"\n'
        "cat notes/in.txt > copy.txt"))
    assert not is_error and answer.startswith("Started task-1")
    assert agent.tasks.wait("task-1", 30) == "finished"
    task = agent.tasks.tasks["task-1"]
    assert task.workspace is not None and task.workspace != agent.runtime.workspace
    assert (task.workspace / "copy.txt").read_text() == "from the parent"
    assert not (agent.runtime.workspace / "out.txt").exists()
    status, _ = agent.dispatch("task_status", '{"task_id": "task-1"}')
    assert status.startswith("finished") and "out.txt" in status and "copy.txt" in status
    said, is_error = agent.dispatch("collect_file", '{"task_id": "task-1", "path": "out.txt", '
                                                    '"dest": "results/out.txt"}')
    assert not is_error and "results/out.txt" in said
    assert agent.runtime.read_file("results/out.txt") == "made by the task"


def test_a_running_task_says_so_and_a_folder_can_be_collected(agent: Agent) -> None:
    delegate(agent, prompt="mkdir -p pkg && echo one > pkg/a.txt && echo two > pkg/b.txt\n"
                           "sleep 1")
    assert agent.dispatch("task_status", '{"task_id": "task-1"}')[0].startswith("running")
    assert agent.tasks.wait("task-1", 30) == "finished"
    agent.dispatch("collect_file", '{"task_id": "task-1", "path": "pkg"}')
    assert agent.runtime.read_file("pkg/b.txt") == "two\n"


def test_an_unknown_task_id_is_an_error_that_names_the_known_ones(agent: Agent) -> None:
    assert agent.tasks.status("task-9") == "unknown task 'task-9' (tasks: none have been started)"
    delegate(agent, prompt="true")
    answer, is_error = agent.dispatch("task_status", '{"task_id": "task-9"}')
    assert is_error and "unknown task 'task-9'" in answer and "task-1" in answer
    answer, is_error = agent.dispatch("collect_file", '{"task_id": "nope", "path": "a"}')
    assert is_error and "unknown task 'nope'" in answer


def test_a_missing_file_to_copy_starts_nothing(agent: Agent) -> None:
    answer, is_error = delegate(agent, prompt="true", files=["absent.txt"])
    assert is_error and "could not start the task" in answer and "absent.txt" in answer
    assert agent.tasks.tasks == {} and task_threads() == []


def test_one_path_given_as_a_string_is_taken_as_a_list(agent: Agent) -> None:
    agent.runtime.write_file("a.txt", "A")
    answer, is_error = agent.dispatch("delegate_task", '{"prompt": "cat a.txt", "files": "a.txt"}')
    assert not is_error, answer
    assert agent.tasks.wait("task-1", 30) == "finished"


@pytest.mark.parametrize("arguments, complaint", [
    ({"prompt": "true", "timeout": "soon"}, "timeout must be a positive number"),
    ({"prompt": "true", "step_timeout": -1}, "step_timeout must be a positive number"),
    ({"prompt": "true", "files": [1, 2]}, "files must be a list of paths"),
    ({"prompt": "   "}, "a task needs a prompt"),
    ({"prompt": "true", "persona": "ghost"}, "no task persona named 'ghost'"),
])
def test_bad_task_arguments_are_errors_the_model_can_fix(
        agent: Agent, arguments: dict[str, Any], complaint: str) -> None:
    answer, is_error = delegate(agent, **arguments)
    assert is_error and complaint in answer
    assert agent.tasks.tasks == {}


# -- what ends a task -----------------------------------------------------------------------
def test_a_task_past_its_time_limit_is_stopped_and_its_command_killed(agent: Agent) -> None:
    sleep = long_sleep()
    delegate(agent, prompt=sleep, timeout=1)
    assert eventually(lambda: alive(sleep))
    assert agent.tasks.wait("task-1", 30) == "timeout: the task ran longer than 1 s"
    assert gone(sleep)


def test_a_step_past_its_limit_stops_the_task(agent: Agent) -> None:
    sleep = long_sleep()
    delegate(agent, prompt=f'write_file path="a" content="quick"\n{sleep}', step_timeout=1.5)
    assert eventually(lambda: alive(sleep))
    assert agent.tasks.wait("task-1", 30) == "timeout: a step ran longer than 1.5 s"
    assert gone(sleep)


def test_a_sub_agent_that_hits_its_step_limit_ended_unfinished() -> None:
    model = FakeModel(default=calls(call("bash", {"cmd": "true"})))
    manager = TaskManager(lambda: Agent(model=model, settings=replace(LOCAL, max_steps=2)))
    with Runtime(settings=LOCAL) as parent:
        task_id = manager.start_task("loop", parent)
        assert manager.wait(task_id, 30) == (
            "ended: the step limit was reached before the task was done")
    manager.close()


def test_a_sub_agent_that_raises_is_a_failed_task_not_a_crash() -> None:
    class Broken:
        def chat(self, messages: Any, model: Any, tools: Any) -> Any:
            raise RuntimeError("the model fell over")

    manager = TaskManager(lambda: Agent(model=Broken(), settings=LOCAL))
    with Runtime(settings=LOCAL) as parent:
        task_id = manager.start_task("anything", parent)
        assert manager.wait(task_id, 30) == "failed: RuntimeError: the model fell over"
    manager.close()


# -- limits ------------------------------------------------------------------------------------
def test_more_tasks_than_max_tasks_at_once_are_refused_until_one_ends() -> None:
    with Agent(settings=replace(LOCAL, max_tasks=1)) as parent:
        assert not delegate(parent, prompt="sleep 2")[1]
        answer, is_error = delegate(parent, prompt="true")
        assert is_error and "1 task is running" in answer and "PYGENT_MAX_TASKS" in answer
        assert parent.tasks.wait("task-1", 30) == "finished"
        assert not delegate(parent, prompt="true")[1]


def test_a_task_may_not_delegate_again(agent: Agent) -> None:
    delegate(agent, prompt="true")
    agent.tasks.wait("task-1", 30)
    child = agent.tasks.tasks["task-1"].agent
    assert "delegate_task" not in child.tools.names()  # type: ignore[attr-defined]
    assert child.runtime.task_depth == 1
    with pytest.raises(TaskError, match="may not delegate again"):
        agent.tasks.start_task("again", child.runtime, parent_depth=1)
    pygent.register_task_tools()  # a custom registry with the tools still refuses
    from pygent.app.task_tools import task_tools

    tool = next(spec for spec in task_tools() if spec.name == "delegate_task")
    with pytest.raises(TaskError, match="may not delegate again"):
        tool.func(child.runtime, prompt="again")


def test_max_tasks_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TaskManager(lambda: None, max_tasks=0)


# -- personas --------------------------------------------------------------------------------
def test_personas_are_used_in_turn_or_chosen_by_name() -> None:
    built: list[Persona] = []

    def factory(persona: Persona) -> Agent:
        built.append(persona)
        return Agent(persona=persona, settings=LOCAL)

    tester, writer = Persona("tester", "runs the tests"), Persona("writer", "writes docs")
    manager = TaskManager(factory, personas=[tester, writer], max_tasks=5)
    with Runtime(settings=LOCAL) as parent:
        for _ in range(3):
            manager.start_task("true", parent)
        manager.start_task("true", parent, persona="writer")
        with pytest.raises(TaskError, match="no task persona named 'critic'.*tester, writer"):
            manager.start_task("true", parent, persona="critic")
        assert [p.name for p in built] == ["tester", "writer", "tester", "writer"]
        assert manager.tasks["task-4"].agent.persona == writer  # type: ignore[attr-defined]
    manager.close()


def test_the_persona_tools_list_and_choose_from_the_settings() -> None:
    settings = replace(LOCAL, task_personas=[Persona("tester", "runs the tests")])
    with Agent(settings=settings) as parent:
        listed = json.loads(parent.dispatch("list_personas", "{}")[0])
        assert listed == [{"name": "tester", "description": "runs the tests"}]
        answer, _ = parent.dispatch("delegate_persona_task",
                                    '{"prompt": "true", "persona": "tester"}')
        assert "(tester)" in answer
        assert parent.tasks.tasks["task-1"].agent.persona.name == "tester"  # type: ignore


def test_task_personas_come_from_either_variable_or_a_settings_file(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    names = load_settings(environ={**home, "PYGENT_TASK_PERSONAS": "tester:writer"}, cwd=tmp_path)
    assert [p.name for p in names.task_personas] == ["tester", "writer"]
    as_json = load_settings(cwd=tmp_path, environ={**home, "PYGENT_TASK_PERSONAS_JSON": json.dumps(
        [{"name": "tester", "description": "runs the tests"}])})
    assert as_json.task_personas == [Persona("tester", "runs the tests")]
    (tmp_path / ".pygent.toml").write_text(
        'max_tasks = 2\n[[task_personas]]\nname = "critic"\ndescription = "reviews"\n')
    from_file = load_settings(environ=home, cwd=tmp_path)
    assert from_file.task_personas == [Persona("critic", "reviews")] and from_file.max_tasks == 2
    with pytest.raises(ConfigError, match="PYGENT_TASK_PERSONAS_JSON is not valid JSON"):
        load_settings(environ={**home, "PYGENT_TASK_PERSONAS_JSON": "[{"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="task_personas.*needs a name"):
        load_settings(environ={**home, "PYGENT_TASK_PERSONAS_JSON": '[{"x": 1}]'}, cwd=tmp_path)


def test_a_project_file_may_name_personas_but_not_raise_the_task_limit(tmp_path: Path) -> None:
    (tmp_path / "pygent.toml").write_text(
        'max_tasks = 50\ntask_timeout = 99999\n[[task_personas]]\nname = "helper"\n')
    settings = load_settings(environ={"HOME": str(tmp_path / "home")}, cwd=tmp_path)
    assert [p.name for p in settings.task_personas] == ["helper"]
    assert settings.max_tasks == 3 and settings.task_timeout is None


# -- which agent a task gets -------------------------------------------------------------------
def test_a_factory_without_arguments_is_called_without_the_persona() -> None:
    manager = TaskManager(lambda: Agent(settings=LOCAL))
    with Runtime(settings=LOCAL) as parent:
        assert manager.wait(manager.start_task("true", parent), 30) == "finished"
    manager.close()


def test_a_delegated_agent_uses_the_custom_model(agent: Agent) -> None:
    model = FakeModel(default=calls(call("stop", {"result": "custom did it"})))
    set_custom_model(model)
    try:
        delegate(agent, prompt="anything")
        assert agent.tasks.wait("task-1", 30) == "finished"
    finally:
        set_custom_model(None)
    assert agent.tasks.tasks["task-1"].result == "custom did it"
    assert model.requests and model.requests[0]["messages"][-1]["content"] == "anything"


def test_a_delegated_agent_shares_the_parents_model_server_connection() -> None:
    settings = replace(LOCAL, backend="openai", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with Agent(settings=settings) as parent:
        parent.tasks.start_task("hello", parent.runtime)
        parent.tasks.wait("task-1", 60)
        child = parent.tasks.tasks["task-1"].agent
        assert child.model is parent.model  # type: ignore[attr-defined]
        assert parent.tasks.status("task-1").startswith("failed: ModelError")


def test_a_delegated_agent_has_a_fresh_workspace_no_history_and_nobody_to_ask(
        tmp_path: Path) -> None:
    settings = replace(LOCAL, workspace=str(tmp_path / "mine"), ask_user=True,
                       history_file=str(tmp_path / "h.jsonl"))
    mark = marker()
    with Agent(settings=settings) as parent:
        parent.step("echo parent-turn")
        parent.tasks.start_task(f"echo {mark}", parent.runtime)
        assert parent.tasks.wait("task-1", 30) == "finished"
        child: Any = parent.tasks.tasks["task-1"].agent
        assert child.runtime.workspace != parent.runtime.workspace
        assert child.history is None and "ask_user" not in child.tools.names()
    log = (tmp_path / "h.jsonl").read_text()
    assert "parent-turn" in log and mark not in log  # the task's turns are not in the log


# -- stopping ----------------------------------------------------------------------------------
def test_cleaning_up_the_parent_runtime_stops_its_tasks_and_their_commands() -> None:
    manager = TaskManager(lambda: Agent(settings=LOCAL))
    sleep = long_sleep()
    parent = Runtime(settings=LOCAL)
    task_id = manager.start_task(sleep, parent)
    workspace = manager.tasks[task_id].workspace
    assert eventually(lambda: alive(sleep))
    parent.cleanup()
    assert manager.status(task_id) == "cancelled: the parent session ended"
    assert gone(sleep) and task_threads() == []
    assert workspace is not None and not workspace.exists()


def test_closing_the_agent_stops_every_task_and_leaves_no_thread() -> None:
    sleeps = [long_sleep(), long_sleep()]
    with Agent(settings=LOCAL) as parent:
        for sleep in sleeps:
            delegate(parent, prompt=sleep)
        assert eventually(lambda: all(map(alive, sleeps)))
    assert all(gone(sleep) for sleep in sleeps)
    assert task_threads() == [] and [t for t in threading.enumerate()
                                     if t.name.startswith("pygent-task")] == []
    assert {task.status for task in parent.tasks.tasks.values()} == {
        "cancelled: the parent session ended"}


def test_a_finished_task_keeps_its_files_until_the_parent_ends(agent: Agent) -> None:
    delegate(agent, prompt='write_file path="kept.txt" content="k"')
    agent.tasks.wait("task-1", 30)
    workspace = agent.tasks.tasks["task-1"].workspace
    assert workspace is not None and (workspace / "kept.txt").exists()
    agent.close()
    assert not workspace.exists()


def test_listeners_hear_each_task_end(agent: Agent) -> None:
    heard: list[tuple[str, str]] = []
    agent.tasks.subscribe(lambda task: heard.append((task.id, task.status)))
    delegate(agent, prompt="true")
    agent.tasks.wait("task-1", 30)
    deadline = time.monotonic() + 5
    while not heard and time.monotonic() < deadline:
        time.sleep(0.01)
    assert heard == [("task-1", "finished")]


# -- Docker ------------------------------------------------------------------------------------
def test_a_task_of_a_docker_parent_runs_in_its_own_container_and_none_is_left(
        docker_image: str) -> None:
    import docker

    def ours() -> list[str]:
        client = docker.from_env()
        try:
            return [c.id for c in client.containers.list(
                all=True, filters={"label": f"pygent.owner_pid={os.getpid()}"})]
        finally:
            client.close()

    before = ours()
    settings = replace(LOCAL, use_docker=True, image=docker_image)
    with Agent(settings=settings) as parent:
        parent.runtime.write_file("in.txt", "to the task")
        delegate(parent, prompt="cat in.txt > out.txt && hostname > host.txt", files=["in.txt"])
        assert parent.tasks.wait("task-1", 60) == "finished"
        child: Any = parent.tasks.tasks["task-1"].agent
        assert child.runtime.kind == "docker"
        assert child.runtime.workspace != parent.runtime.workspace
        parent.dispatch("collect_file", '{"task_id": "task-1", "path": "host.txt"}')
        task_host = parent.runtime.read_file("host.txt").strip()
        assert task_host and task_host != parent.runtime.bash("hostname").strip()
        parent.dispatch("collect_file", '{"task_id": "task-1", "path": "out.txt"}')
        assert parent.runtime.read_file("out.txt") == "to the task"
        assert len(ours()) == len(before) + 2
    assert ours() == before
