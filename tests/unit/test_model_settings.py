"""Model settings (sampling, tool protocol, text-reply limit, local model) from every source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pygent.app.settings import Settings, load_settings
from pygent.container import (
    EXAMPLE_MIN_BYTES,
    resolve_backend,
    resolve_example_task,
    resolve_model_name,
    resolve_tool_protocol,
)
from pygent.domain.errors import ConfigError
from pygent.entrypoints import web
from pygent.entrypoints.cli import build_parser, load_cli_settings
from pygent.entrypoints.flags import FLAGGED, setting_overrides


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def load(home: Path, cwd: Path, **environ: str) -> Settings:
    return load_settings(environ={"HOME": str(home), **environ}, cwd=cwd)


def test_sampling_tool_protocol_and_local_model_are_unset_or_auto_by_default() -> None:
    settings = Settings()
    assert (settings.temperature, settings.seed, settings.local_model) == (None, None, None)
    assert (settings.tool_protocol, settings.text_reply_limit) == ("auto", 3)


def test_the_environment_sets_every_new_setting(home: Path, project: Path) -> None:
    settings = load(home, project, PYGENT_TEMPERATURE="0.7", PYGENT_SEED="42",
                    PYGENT_TOOL_PROTOCOL="Text", PYGENT_TEXT_REPLY_LIMIT="5",
                    PYGENT_LOCAL_MODEL="/models/q.gguf")
    assert (settings.temperature, settings.seed) == (0.7, 42)
    assert (settings.tool_protocol, settings.text_reply_limit) == ("text", 5)
    assert settings.local_model == "/models/q.gguf"


def test_the_users_file_sets_every_new_setting(home: Path, project: Path) -> None:
    (home / ".pygent.toml").write_text(
        'temperature = 0\nseed = 3\ntool_protocol = "native"\ntext_reply_limit = 1\n'
        'local_model = "~/models/q.gguf"\n')
    settings = load(home, project)
    assert (settings.temperature, settings.seed, settings.tool_protocol) == (0.0, 3, "native")
    assert (settings.text_reply_limit, settings.local_model) == (1, "~/models/q.gguf")


def test_a_project_file_may_set_sampling_and_the_tool_protocol(
    home: Path, project: Path
) -> None:
    (project / "pygent.toml").write_text(
        'temperature = 0.3\nseed = 9\ntool_protocol = "text"\ntext_reply_limit = 2\n')
    settings = load(home, project)
    assert (settings.temperature, settings.seed) == (0.3, 9)
    assert (settings.tool_protocol, settings.text_reply_limit) == ("text", 2)


def test_a_project_file_may_not_choose_a_model_file_for_the_host_to_open(
    home: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (project / "pygent.toml").write_text('local_model = "evil.gguf"\n')
    settings = load_settings(environ={"HOME": str(home)}, cwd=project, workspace=str(project))
    assert settings.local_model is None
    assert "ignored local_model" in caplog.text and "PYGENT_LOCAL_MODEL" in caplog.text


@pytest.mark.parametrize("content", ['temperature = 2.5', 'seed = "many"', 'seed = 1.5',
                                     'tool_protocol = "telepathy"', 'text_reply_limit = 0'])
def test_a_bad_new_value_in_a_project_file_is_skipped_and_the_start_goes_on(
    home: Path, project: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    (project / "pygent.toml").write_text(content + '\npersona_name = "Ada"\n')
    settings = load(home, project)
    assert settings.persona_name == "Ada"
    name = content.split(" ", 1)[0]
    assert getattr(settings, name) == getattr(Settings(), name)
    assert f"ignored {name}" in caplog.text


@pytest.mark.parametrize(("variable", "value"), [
    ("PYGENT_TEMPERATURE", "-0.1"), ("PYGENT_TEMPERATURE", "2.01"), ("PYGENT_TEMPERATURE", "nan"),
    ("PYGENT_TEMPERATURE", "warm"), ("PYGENT_SEED", "4.2"), ("PYGENT_TOOL_PROTOCOL", "json"),
    ("PYGENT_TEXT_REPLY_LIMIT", "0"),
])
def test_a_bad_new_value_in_the_environment_is_an_error_naming_the_setting(
    home: Path, project: Path, variable: str, value: str
) -> None:
    name = variable.removeprefix("PYGENT_").lower()
    with pytest.raises(ConfigError, match=f"setting {name}"):
        load(home, project, **{variable: value})


def test_the_command_line_flags_win_over_the_environment(
    home: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYGENT_TEMPERATURE", "1.0")
    monkeypatch.setenv("PYGENT_SEED", "1")
    monkeypatch.chdir(project)
    args = build_parser().parse_args(
        ["--temperature", "0.25", "--seed", "11", "--tool-protocol", "text",
         "--local-model", "models/q.gguf"])
    settings = load_cli_settings(args)
    assert (settings.temperature, settings.seed, settings.tool_protocol) == (0.25, 11, "text")
    assert settings.local_model == str(project / "models" / "q.gguf")
    assert settings.model == "q"  # no --model: the file's name


def test_pygent_run_takes_the_same_flags(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    args = build_parser().parse_args(
        ["run", "do it", "--temperature", "0", "--seed", "5", "--local-model", "/m/x.gguf",
         "--model", "mine"])
    settings = load_cli_settings(args)
    assert (settings.temperature, settings.seed, settings.model) == (0.0, 5, "mine")


@pytest.mark.parametrize("flags", [["--temperature", "3"], ["--temperature", "hot"],
                                   ["--seed", "1.5"], ["--tool-protocol", "json"],
                                   ["--max-requests", "0"], ["--max-requests", "two"],
                                   ["--workspace-mode", "ro"], ["--keep-workspace", "maybe"]])
def test_bad_flag_values_are_usage_errors(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(flags)
    assert exited.value.code == 2
    assert flags[0] in capsys.readouterr().err


SHARED = ["--backend", "echo", "--model", "m", "--local-model", "q.gguf", "--temperature", "0.5",
          "--seed", "7", "--no-docker", "--workspace", "ws", "--max-steps", "3",
          "--max-tokens", "99", "--tool-protocol", "text", "--confirm", "--config", "c.toml",
          "--max-requests", "4", "--workspace-mode", "read-only", "--keep-workspace", "never",
          "--no-checkpoints"]


def test_pygent_and_pygent_ui_take_every_setting_flag_to_the_same_settings() -> None:
    mine, theirs = build_parser().parse_args(SHARED), web.build_parser().parse_args(SHARED)
    assert setting_overrides(mine) == setting_overrides(theirs)
    assert set(setting_overrides(mine)) == {f.name for f in FLAGGED}
    assert mine.config == theirs.config == "c.toml"


@pytest.mark.parametrize("parser", [build_parser, web.build_parser])
def test_docker_and_no_docker_together_are_a_usage_error(
    parser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["--docker", "--no-docker"])
    assert exited.value.code == 2
    assert "not allowed with argument --docker" in capsys.readouterr().err


def test_the_tool_protocol_auto_is_text_for_a_local_model_and_native_otherwise() -> None:
    assert resolve_tool_protocol(Settings()) == "native"
    assert resolve_tool_protocol(Settings(local_model="/m/q.gguf")) == "text"
    assert resolve_tool_protocol(Settings(local_model="/m/q.gguf", tool_protocol="native")) == (
        "native")
    assert resolve_tool_protocol(Settings(tool_protocol="text")) == "text"


def test_a_local_model_picks_the_openai_backend_unless_another_is_chosen() -> None:
    local = Settings(local_model="/m/q.gguf")
    assert resolve_backend(local, {}) == "openai"
    assert resolve_backend(Settings(local_model="/m/q.gguf", backend="echo"), {}) == "echo"


def test_a_local_models_name_is_its_file_name_unless_a_model_is_named() -> None:
    gguf = "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert resolve_model_name(Settings(local_model=gguf)) == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert resolve_model_name(Settings(local_model=gguf, model="mine")) == "mine"
    assert resolve_model_name(Settings()) == "gpt-4.1-mini"


def test_the_example_task_is_on_unless_a_local_model_file_is_small(tmp_path: Path) -> None:
    # Qwen2.5-Coder-0.5B (491 MB) copied the example word for word; the 1.5B (1.1 GB) gained.
    small, large = tmp_path / "small.gguf", tmp_path / "large.gguf"
    small.write_bytes(b"GGUF" + bytes(100))
    with large.open("wb") as out:
        out.truncate(EXAMPLE_MIN_BYTES)  # sparse: no disk used
    assert resolve_example_task(Settings()) is True  # a server's model: size unknown
    assert resolve_example_task(Settings(local_model=str(large))) is True
    assert resolve_example_task(Settings(local_model=str(small))) is False
    assert resolve_example_task(Settings(local_model=str(tmp_path / "gone.gguf"))) is False
    assert resolve_example_task(Settings(local_model=str(small), example_task=True)) is True
    assert resolve_example_task(Settings(example_task=False)) is False


@pytest.mark.parametrize(("given", "expected"), [("0", False), ("false", False), ("1", True)])
def test_the_example_task_setting_reads_a_yes_or_no_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, given: str, expected: bool) -> None:
    # "0" was once kept as the string "0", which is true: the 0.5B model got the example.
    monkeypatch.setenv("PYGENT_EXAMPLE_TASK", given)
    assert load_settings().example_task is expected


def test_every_yes_or_no_setting_reads_0_as_no() -> None:
    # A new Optional[bool] setting must be named in coerce's list of yes-or-no settings.
    from dataclasses import fields

    from pygent.app.setting_values import coerce
    flags = [f for f in fields(Settings) if str(f.type) in ("Optional[bool]", "bool")]
    assert {f.name for f in flags} >= {"example_task", "check_before_stop", "use_docker"}
    for f in flags:
        assert coerce(f.name, "0", f.default) is False, f.name
        assert coerce(f.name, "yes", f.default) is True, f.name
