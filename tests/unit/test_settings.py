"""Settings: defaults, pygent.toml, environment over file, clear errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pygent.app.settings import Settings, load_settings
from pygent.container import resolve_backend
from pygent.domain.errors import ConfigError


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert settings == Settings()
    assert (settings.model, settings.command_timeout, settings.persona_name) == (
        "gpt-4.1-mini",
        600.0,
        "Pygent",
    )


def test_the_environment_wins_over_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / ".pygent.toml").write_text(
        'model = "from-file"\ncommand_timeout = 5\n[env]\nFOO = "bar"\n'
    )
    settings = load_settings(
        environ={"HOME": str(tmp_path), "PYGENT_MODEL": "from-env"}, cwd=tmp_path
    )
    assert (settings.model, settings.command_timeout, settings.env) == (
        "from-env",
        5.0,
        {"FOO": "bar"},
    )


def test_home_config_is_read_when_the_current_directory_has_none(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(), cwd.mkdir()
    (home / ".pygent.toml").write_text('persona_name = "Ada"\n')
    assert load_settings(environ={"HOME": str(home)}, cwd=cwd).persona_name == "Ada"


def test_an_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "missing.toml"), environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PYGENT_MODEL_BACKEND": "gpt"}, "allowed: auto, openai, direct, echo"),
        ({"PYGENT_USE_DOCKER": "maybe"}, "use_docker"),
        ({"PYGENT_COMMAND_TIMEOUT": "-1"}, "command_timeout"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={"HOME": str(tmp_path), **environ}, cwd=tmp_path)


def test_an_unknown_key_in_the_users_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".pygent.toml").write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(environ={"HOME": str(tmp_path)}, cwd=tmp_path)


def test_a_project_file_is_read_over_the_users_file(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(), cwd.mkdir()
    (home / ".pygent.toml").write_text('model = "mine"\nmax_steps = 5\ndeny = ["git push"]\n')
    (cwd / "pygent.toml").write_text('model = "project"\ndeny = ["rm -rf /", "git push"]\n')
    settings = load_settings(environ={"HOME": str(home)}, cwd=cwd)
    assert (settings.model, settings.max_steps) == ("project", 5)
    assert settings.deny == ["git push", "rm -rf /"]


def test_a_bad_value_in_a_project_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "pygent.toml").write_text('max_steps = "many"\npersona_name = "Ada"\n')
    settings = load_settings(environ={"HOME": str(tmp_path / "nowhere")}, cwd=tmp_path)
    assert (settings.max_steps, settings.persona_name) == (20, "Ada")
    assert "max_steps" in caplog.text


def test_a_number_setting_must_be_finite(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="request_timeout"):
        load_settings(environ={"HOME": str(tmp_path), "PYGENT_REQUEST_TIMEOUT": "inf"},
                      cwd=tmp_path)


def test_use_docker_reads_yes_no_and_auto(tmp_path: Path) -> None:
    for raw, value in (("1", True), ("0", False), ("auto", None), ("yes", True)):
        settings = load_settings(
            environ={"HOME": str(tmp_path), "PYGENT_USE_DOCKER": raw}, cwd=tmp_path
        )
        assert settings.use_docker is value


def test_the_backend_is_openai_with_an_api_key_or_a_server_url() -> None:
    assert resolve_backend(Settings(), {}) == "direct"
    assert resolve_backend(Settings(), {"OPENAI_API_KEY": "k"}) == "openai"
    assert resolve_backend(Settings(backend="echo"), {"OPENAI_API_KEY": "k"}) == "echo"
    local = Settings(base_url="http://127.0.0.1:8080/v1")
    assert resolve_backend(local, {}) == "openai"  # a local server needs no key


def test_every_setting_is_documented() -> None:
    for f in fields(Settings):
        assert f.metadata.get("doc"), f.name


def test_load_config_reads_a_file_and_agents_built_later_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import pygent

    path = tmp_path / "team.toml"
    path.write_text('backend = "echo"\nmodel = "from-file"\npersona_name = "Filed"\n')
    monkeypatch.setenv("PYGENT_CONFIG", "")  # restored (emptied) after the test
    settings = pygent.load_config(path)
    assert (settings.model, settings.persona_name) == ("from-file", "Filed")
    assert os.environ["PYGENT_CONFIG"] == str(path.resolve())
    with pygent.Agent() as agent:
        assert agent.model_name == "from-file" and agent.persona.name == "Filed"
    monkeypatch.setenv("PYGENT_MODEL", "from-env")  # the environment still wins
    with pygent.Agent() as agent:
        assert agent.model_name == "from-env"


def test_load_config_of_a_missing_file_or_an_unknown_key_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pygent

    monkeypatch.setenv("PYGENT_CONFIG", "")
    with pytest.raises(ConfigError, match="does not exist"):
        pygent.load_config(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        pygent.load_config(tmp_path / "bad.toml")
