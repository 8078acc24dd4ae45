"""``max_requests``: a gated model never has more requests in flight than its gate allows."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pygent import Agent
from pygent.adapters.executors.threads import ThreadExecutor, ThreadGate
from pygent.adapters.openai_model import OpenAIModel
from pygent.app.request_gate import GatedModel
from pygent.app.settings import Settings, load_settings
from pygent.domain.errors import ConfigError, ModelError
from pygent.domain.ports import ModelPort, RequestGate
from tests.chat_server import ChatServer, tool_call
from tests.fakes import CrowdModel, FakeModel, say


def hammer(model: ModelPort, threads: int = 8, calls: int = 3) -> None:
    """Many threads asking at once, as a batch's workers or a session's tasks do."""
    start = threading.Barrier(threads)

    def ask() -> None:
        start.wait()
        for _ in range(calls):
            try:
                model.chat([{"role": "user", "content": "hi"}], "m", [])
            except ModelError:
                pass

    workers = [threading.Thread(target=ask, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)


def test_a_gate_of_two_lets_exactly_two_requests_run_at_once() -> None:
    crowd = CrowdModel()
    hammer(GatedModel(crowd, ThreadGate(2)))
    assert (crowd.calls, crowd.peak) == (24, 2)


def test_without_a_gate_the_same_threads_overlap_more() -> None:
    crowd = CrowdModel()  # the check above could not pass by accident: the crowd does overlap
    hammer(crowd)
    assert crowd.peak > 2


def test_a_failing_request_frees_its_slot() -> None:
    crowd = CrowdModel(seconds=0.01, fail=True)
    gated = GatedModel(crowd, ThreadGate(1))
    with pytest.raises(ModelError):
        gated.chat([], "m", [])
    hammer(gated, threads=4, calls=2)  # a slot lost to the error would hang these threads
    assert crowd.calls == 9 and crowd.peak == 1


def test_on_delta_reaches_a_streaming_model_and_is_not_forced_on_one_that_does_not_stream(
        ) -> None:
    class Streaming:
        def chat(self, messages: Any, model: str, tools: Any,
                 on_delta: Optional[Callable[[str], None]] = None) -> Any:
            assert on_delta is not None
            on_delta("pie")
            on_delta("ce")
            return say("piece")

    pieces: list[str] = []
    assert GatedModel(Streaming(), ThreadGate(1)).chat([], "m", [], on_delta=pieces.append) == (
        say("piece"))
    assert pieces == ["pie", "ce"]
    plain = FakeModel([say("plain")])  # its chat takes no on_delta: a TypeError if passed
    assert GatedModel(plain, ThreadGate(1)).chat([], "m", [], on_delta=pieces.append) == (
        say("plain"))


def test_the_agent_loop_reads_the_inner_models_usage_through_the_gate(workspace: Path) -> None:
    inner = FakeModel([say("hi")], usage=[(11, 4)])
    agent = Agent(model=GatedModel(inner, ThreadGate(1)), settings=Settings(
        backend="direct", use_docker=False, confine=False, workspace=str(workspace)))
    try:
        agent.step("hello")
        assert (agent.totals().prompt_tokens, agent.totals().completion_tokens) == (11, 4)
        assert agent.model.last_usage == inner.last_usage
        assert agent.model.requests == inner.requests  # any other attribute, too
    finally:
        agent.close()


def test_the_thread_executors_gate_is_a_request_gate_of_its_limit() -> None:
    executor = ThreadExecutor(2)
    try:
        gate = executor.gate(3)
        assert isinstance(gate, RequestGate) and gate.limit == 3
        with pytest.raises(ValueError):
            executor.gate(0)
    finally:
        executor.shutdown()


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_max_requests_must_be_a_positive_whole_number(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="max_requests"):
        load_settings(environ={"HOME": str(tmp_path), "PYGENT_MAX_REQUESTS": raw}, cwd=tmp_path)


def test_max_requests_is_read_from_the_environment_and_the_users_file_not_a_project_file(
        tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(), cwd.mkdir()
    assert load_settings(environ={"HOME": str(home)}, cwd=cwd).max_requests is None
    (home / ".pygent.toml").write_text("max_requests = 2\n")
    (cwd / "pygent.toml").write_text("max_requests = 50\n")  # the agent may have written it
    assert load_settings(environ={"HOME": str(home)}, cwd=cwd).max_requests == 2
    env = {"HOME": str(home), "PYGENT_MAX_REQUESTS": "5"}
    assert load_settings(environ=env, cwd=cwd).max_requests == 5


def test_a_session_and_its_delegated_tasks_share_one_gate(
        chat_server: ChatServer, workspace: Path) -> None:
    chat_server.default = tool_call("stop", {"result": "ok"})
    settings = Settings(backend="openai", base_url=chat_server.url, use_docker=False,
                        confine=False, workspace=str(workspace), max_requests=2)
    agent = Agent(settings=settings)
    try:
        assert isinstance(agent.model, GatedModel) and agent.model.gate.limit == 2
        assert isinstance(agent.model.inner, OpenAIModel)
        task_id = agent.tasks.start_task("do a small thing", agent.runtime)
        assert agent.tasks.tasks[task_id].agent.model is agent.model
    finally:
        agent.close()
    ungated = Agent(settings=replace(settings, max_requests=None))
    try:
        assert isinstance(ungated.model, OpenAIModel)
    finally:
        ungated.close()
