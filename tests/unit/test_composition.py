"""The composition root: ``Agent(settings=s)`` builds every part from ``s``, nothing global.

Each field of ``Settings`` has a probe below that builds an agent from settings where only that
field differs from the baseline and looks for its effect; a new field without a probe fails
``test_every_setting_has_a_probe``, so no setting can be silently ignored again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Callable

import pytest

from pygent import Agent, Runtime
from pygent.adapters.echo_model import EchoModel
from pygent.adapters.openai_model import OpenAIModel
from pygent.app.request_gate import GatedModel
from pygent.app.settings import Settings
from pygent.container import Container
from pygent.domain.errors import ConfigError
from pygent.domain.persona import Persona
from tests.fakes import FakeModel, FakeSandbox, call, calls, say
from tests.security.conftest import bwrap_or_skip

Check = Callable[[Agent, Path], None]
BASE = Settings(backend="openai", base_url="http://127.0.0.1:9/v1", use_docker=False,
                confine=False)


def model(agent: Agent) -> OpenAIModel:
    assert isinstance(agent.model, OpenAIModel)
    return agent.model


def bash(agent: Agent, cmd: str) -> str:
    return agent.runtime.bash(cmd)


def reads_no_agents_file(agent: Agent, path: Path) -> None:
    agent.runtime.write_file("AGENTS.md", "Probe rule: answer in haiku.")
    agent.new_conversation()
    assert agent.instructions is None
    assert "Probe rule" not in agent.system_message()["content"]


def refuses_writes(agent: Agent, path: Path) -> None:
    refusal = agent.dispatch("write_file", '{"path": "x.txt", "content": "y"}')[0]
    assert "read-only" in refusal and not (agent.runtime.workspace / "x.txt").exists()


def discards_at_exit(agent: Agent, path: Path) -> None:
    from pygent.app.workspace_exit import guard_workspace, settle_workspace

    agent.runtime.write_file("made.txt", "x")
    guard_workspace(agent.runtime, agent.settings.keep_workspace)
    end = settle_workspace(agent.runtime, agent.settings.keep_workspace)
    assert end is not None and not end.kept


def confined(agent: Agent, path: Path) -> None:
    assert agent.runtime.label == "local (confined)"
    assert "/home" not in bash(agent, "ls -d /home/* 2>/dev/null; echo end")[:-4]


def networked(agent: Agent, path: Path) -> None:
    interfaces = bash(agent, "cat /proc/net/dev")
    assert re.search(r"^\s*(?!lo:)\w+:", interfaces.split("\n", 2)[2], re.M), interfaces


PROBES: dict[str, tuple[Any, Check]] = {
    "backend": ("echo", lambda a, p: isinstance(a.model, EchoModel) or pytest.fail("not echo")),
    "model": ("probe-model", lambda a, p: a.model_name == "probe-model" or pytest.fail()),
    "base_url": ("http://127.0.0.1:7/v9",
                 lambda a, p: model(a).base_url == "http://127.0.0.1:7/v9" or pytest.fail()),
    "temperature": (0.25, lambda a, p: model(a).temperature == 0.25 or pytest.fail()),
    "seed": (7, lambda a, p: model(a).seed == 7 or pytest.fail()),
    "request_timeout": (3.5, lambda a, p: model(a).timeout == 3.5 or pytest.fail()),
    "max_retries": (0, lambda a, p: model(a).max_retries == 0 or pytest.fail()),
    "max_requests": (2, lambda a, p: isinstance(a.model, GatedModel) and a.model.gate.limit == 2
                     and isinstance(a.model.inner, OpenAIModel) or pytest.fail()),
    "stream": (False, lambda a, p: model(a).stream is False or pytest.fail()),
    "tool_choice": ("required", lambda a, p: model(a).tool_choice == "required" or pytest.fail()),
    "use_docker": (False, lambda a, p: a.runtime.kind == "local" or pytest.fail()),
    "confine": (True, confined),
    "workspace": ("{tmp}/chosen", lambda a, p: a.runtime.workspace == (p / "chosen").resolve()
                  or pytest.fail()),
    "workspace_mode": ("read-only", refuses_writes),
    "keep_workspace": ("never", discards_at_exit),
    "command_timeout": (1.0, lambda a, p: "timed out" in bash(a, "sleep 5") or pytest.fail()),
    "output_limit": (2000, lambda a, p: len(bash(a, "seq 1 5000")) < 4000 or pytest.fail()),
    "checkpoints": (False, lambda a, p: "switched off" in a.file_checkpoints.reason
                    or pytest.fail()),
    "initial_files": (["{tmp}/seed.txt"], lambda a, p: (a.runtime.workspace / "seed.txt")
                      .read_text() == "seeded" or pytest.fail()),
    "env": ({"PROBE_VAR": "from-settings"},
            lambda a, p: "from-settings" in bash(a, "echo $PROBE_VAR") or pytest.fail()),
    "persona_name": ("Probe", lambda a, p: a.persona.name == "Probe" or pytest.fail()),
    "persona": ("a probe", lambda a, p: a.persona.description == "a probe" or pytest.fail()),
    "project_instructions": (False, reads_no_agents_file),
    "history_file": ("{tmp}/h.jsonl",
                     lambda a, p: getattr(a.history, "path", None) == p / "h.jsonl"
                     or pytest.fail()),
    "max_steps": (4, lambda a, p: a.max_steps == 4 or pytest.fail()),
    "max_tokens": (900, lambda a, p: a.max_tokens == 900 or pytest.fail()),
    "recover_text_tool_calls": (False, lambda a, p: a.recover_text_tool_calls is False
                                or pytest.fail()),
    "tool_protocol": ("text", lambda a, p: a.tool_protocol == "text" or pytest.fail()),
    "text_reply_limit": (5, lambda a, p: a.text_reply_limit == 5 or pytest.fail()),
    "example_task": (False, lambda a, p: a.example_task is False or pytest.fail()),
    "check_before_stop": (False, lambda a, p: a.check_before_stop is False or pytest.fail()),
    "read_before_write": (True, lambda a, p: a.read_before_write is True or pytest.fail()),
    "ask_user": (True, lambda a, p: "ask_user" in a.tools.names() or pytest.fail()),
    "task_tools": (False, lambda a, p: "delegate_task" not in a.tools.names() or pytest.fail()),
    "task_personas": ([Persona("probe-persona", "probes")],
                      lambda a, p: '"probe-persona"' in a.dispatch("list_personas", "{}")[0]
                      or pytest.fail()),
    "max_tasks": (1, lambda a, p: a.tasks.max_tasks == 1 or pytest.fail()),
    "step_timeout": (0.5, lambda a, p: a.tasks.step_timeout == 0.5 or pytest.fail()),
    "task_timeout": (9.0, lambda a, p: a.tasks.task_timeout == 9.0 or pytest.fail()),
    "confirm": (True, lambda a, p: "no one to ask" in a.dispatch("bash", '{"cmd": "true"}')[0]
                or pytest.fail()),
    "deny": (["rm"], lambda a, p: "rm" in a.dispatch("bash", '{"cmd": "rm x"}')[0]
             and "refused" in a.dispatch("bash", '{"cmd": "rm x"}')[0].lower() or pytest.fail()),
}
#: Fields whose probes need a Docker engine (below) or a model file (its own test).
DOCKER_FIELDS = {"image", "docker_network", "docker_memory", "docker_cpus", "docker_pids"}
OTHER_TESTS = {"local_model", "local_network"}


def settings_with(name: str, value: Any, tmp_path: Path, base: Settings = BASE) -> Settings:
    if isinstance(value, str) and value.startswith("{tmp}"):
        value = value.format(tmp=tmp_path)
    if isinstance(value, list) and value and str(value[0]).startswith("{tmp}"):
        value = [item.format(tmp=tmp_path) for item in value]
    assert value != getattr(Settings(), name), f"the probe for {name} uses its default"
    return replace(base, **{name: value})


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Callable[[Settings], Agent]]:
    """Agents built from settings, closed afterwards."""
    built: list[Agent] = []

    def make(settings: Settings) -> Agent:
        built.append(Agent(settings=settings))
        return built[-1]

    yield make
    for agent in built:
        agent.close()


def test_every_setting_has_a_probe() -> None:
    names = {f.name for f in fields(Settings)}
    assert names == set(PROBES) | DOCKER_FIELDS | OTHER_TESTS


@pytest.mark.parametrize("name", sorted(PROBES))
def test_an_agent_built_from_settings_uses_the_field(
    name: str, tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    if name == "confine":
        bwrap_or_skip()
    value, probe = PROBES[name]
    (tmp_path / "seed.txt").write_text("seeded")  # for initial_files
    probe(build(settings_with(name, value, tmp_path)), tmp_path)


def test_confined_commands_get_the_network_only_with_local_network(
    tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    bwrap_or_skip()
    base = replace(BASE, confine=True)
    networked(build(settings_with("local_network", True, tmp_path, base)), tmp_path)
    cut_off = bash(build(base), "cat /proc/net/dev")
    assert not re.search(r"^\s*(?!lo:)\w+:", cut_off.split("\n", 2)[2], re.M), cut_off


def test_a_local_model_setting_is_used_before_anything_else_is_built(tmp_path: Path) -> None:
    missing = tmp_path / "gone.gguf"
    with pytest.raises(ConfigError, match="gone.gguf does not exist"):
        Agent(settings=replace(BASE, local_model=str(missing)))


@pytest.mark.docker
def test_the_docker_fields_reach_the_container(
    docker_image: str, tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    import docker

    settings = replace(BASE, use_docker=True, image=docker_image, docker_network="none",
                       docker_memory="300m", docker_cpus=0.5, docker_pids=64)
    agent = build(settings)
    assert agent.runtime.kind == "docker"
    info = docker.from_env().api.inspect_container(agent.runtime.sandbox.container_id)
    assert info["Config"]["Image"] == docker_image
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["HostConfig"]["Memory"] == 300 * 1024 * 1024
    assert info["HostConfig"]["NanoCpus"] == 500_000_000
    assert info["HostConfig"]["PidsLimit"] == 64


def test_two_agents_with_different_settings_do_not_share_parts(
    tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    first = build(replace(BASE, backend="echo", persona_name="One"))
    second = build(replace(BASE, model="two-model"))
    assert isinstance(first.model, EchoModel) and first.persona.name == "One"
    assert model(second).base_url == BASE.base_url and second.persona.name == "Pygent"
    assert first.runtime.workspace != second.runtime.workspace


def test_given_parts_win_and_the_rest_still_come_from_the_settings(
    tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    fake = FakeModel([say("hi")])
    agent = Agent(fake, Runtime(sandbox=FakeSandbox(tmp_path)),
                  settings=replace(BASE, max_steps=2, persona_name="Given"))
    assert agent.model is fake and agent.persona.name == "Given" and agent.max_steps == 2
    agent.close()


def test_a_class_override_swaps_an_adapter_for_agents_built_meanwhile(tmp_path: Path) -> None:
    fake = FakeModel([calls(call("bash", {"cmd": "echo overridden"})), say("done")])
    from dependency_injector import providers

    with Container.model.override(providers.Object(fake)):
        agent = Agent(settings=BASE)
    try:
        assert agent.model is fake
        assert agent.run_until_stop("go", unattended=False).reason == "answer"
    finally:
        agent.close()
    assert isinstance(Agent(settings=replace(BASE, backend="echo")).model, EchoModel)


def test_with_agent_releases_the_workspace_and_the_history(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    with Agent(settings=replace(BASE, backend="echo", history_file=str(history))) as agent:
        workspace = agent.runtime.workspace
        agent.step("hello")
        assert workspace.is_dir()
    assert not workspace.exists()
    assert agent.history is not None and agent.history._file.closed
    agent.close()  # twice is fine
    agent.runtime.cleanup()  # and so is the runtime's own cleanup


def test_set_custom_model_reaches_every_new_agent_until_it_is_reset(
    tmp_path: Path, build: Callable[[Settings], Agent]
) -> None:
    from pygent.models import set_custom_model

    custom = FakeModel(default=say("from the custom model"))
    set_custom_model(custom)
    first, second = build(BASE), build(replace(BASE, backend="echo"))
    assert first.model is custom and second.model is custom
    assert first.step("hi").content == "from the custom model"
    given = FakeModel()
    assert Agent(given, Runtime(sandbox=FakeSandbox(tmp_path)), settings=BASE).model is given
    set_custom_model(None)
    assert isinstance(build(replace(BASE, backend="echo")).model, EchoModel)


def test_initial_files_come_from_the_environment_and_a_missing_one_leaves_no_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from pygent.app.settings import load_settings

    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "b.txt").write_text("B")
    monkeypatch.setenv("PYGENT_INIT_FILES", os.pathsep.join(
        [str(tmp_path / "a.txt"), str(tmp_path / "tree")]))
    settings = replace(load_settings(), backend="echo", use_docker=False)
    assert settings.initial_files == [str(tmp_path / "a.txt"), str(tmp_path / "tree")]
    with Agent(settings=settings) as agent:
        assert agent.runtime.read_file("a.txt") == "A"
        assert agent.runtime.read_file("tree/b.txt") == "B"
    before = set(Path(tempfile_dir()).glob("pygent-ws-*"))
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        Agent(settings=replace(settings, initial_files=[str(tmp_path / "gone.txt")]))
    assert set(Path(tempfile_dir()).glob("pygent-ws-*")) == before


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()
