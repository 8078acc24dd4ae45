"""``/init``: a first AGENTS.md from what the workspace shows, never over an existing one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pygent import Agent, Settings
from pygent.app.agents_template import draft_agents_file, top_names
from pygent.app.commands import COMMANDS, Session, run_command
from pygent.app.prompt import INSTRUCTIONS_HEAD


@pytest.fixture
def agent(workspace: Path) -> Iterator[Agent]:
    made = Agent(settings=Settings(backend="direct", use_docker=False, workspace=str(workspace)))
    yield made
    made.close()


def test_init_writes_a_template_with_the_three_headings(agent: Agent, workspace: Path) -> None:
    outcome = run_command(Session(agent), "/init")
    assert not outcome.is_error, outcome.text
    text = (workspace / "AGENTS.md").read_text()
    for heading in ("# AGENTS.md", "## Project overview", "## Build and test",
                    "## Conventions"):
        assert f"\n{heading}\n" in f"\n{text}"
    assert "nothing at the top of the workspace to guess from" in outcome.text
    assert "read into the system prompt of the next conversation (/new starts one)" in \
        outcome.text


def test_init_fills_in_what_the_names_at_the_top_suggest(agent: Agent, workspace: Path) -> None:
    (workspace / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (workspace / "tests").mkdir()
    (workspace / "README.md").write_text("# Demo\n")
    outcome = run_command(Session(agent), "/init")
    text = (workspace / "AGENTS.md").read_text()
    assert "- Install: `pip install -e .` (a guess from pyproject.toml; check it)" in text
    assert "- Test: `python -m pytest` (a guess from pyproject.toml and tests/; check it)" in text
    assert "README.md describes the project." in text
    assert "guesses from pyproject.toml, tests/, README.md" in outcome.text


def test_a_python_project_without_a_tests_folder_gets_no_pytest_guess() -> None:
    text, evidence = draft_agents_file({"pyproject.toml": "file"})
    assert "pytest" not in text and evidence == ["pyproject.toml"]


def test_a_node_package_gets_npm_commands() -> None:
    text, _ = draft_agents_file({"package.json": "file", "node_modules": "folder"})
    assert "`npm install`" in text and "`npm run build`" in text and "`npm test`" in text


def test_a_folder_or_a_link_with_a_marker_s_name_suggests_nothing(workspace: Path) -> None:
    (workspace / "package.json").mkdir()
    (workspace / "tests").symlink_to("/usr")  # a link is not a tests folder
    (workspace / "Makefile").symlink_to("/etc/hostname")
    names = top_names(workspace)
    assert names == {"package.json": "folder", "tests": "other", "Makefile": "other"}
    text, evidence = draft_agents_file(names)
    assert "npm" not in text and "make" not in text and evidence == []


def test_init_refuses_to_overwrite_an_existing_file(agent: Agent, workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("my careful rules\n")
    outcome = run_command(Session(agent), "/init")
    assert outcome.is_error
    assert outcome.text == "AGENTS.md is already in the workspace; /init --force replaces it."
    assert (workspace / "AGENTS.md").read_text() == "my careful rules\n"


def test_init_force_replaces_it(agent: Agent, workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("old rules\n")
    outcome = run_command(Session(agent), "/init --force")
    assert not outcome.is_error, outcome.text
    assert (workspace / "AGENTS.md").read_text().startswith("# AGENTS.md\n")


def test_init_with_another_argument_shows_its_usage(agent: Agent, workspace: Path) -> None:
    outcome = run_command(Session(agent), "/init please")
    assert outcome.is_error and outcome.text == "Usage: /init [--force]"
    assert not (workspace / "AGENTS.md").exists()


def test_the_file_init_writes_is_read_at_the_next_conversation(agent: Agent) -> None:
    session = Session(agent)
    run_command(session, "/init")
    assert INSTRUCTIONS_HEAD not in agent.system_message()["content"]
    said = run_command(session, "/new").text
    assert "\nInstructions: AGENTS.md (" in said
    prompt = agent.system_message()["content"]
    assert INSTRUCTIONS_HEAD in prompt and "## Build and test" in prompt


def test_init_says_when_the_setting_keeps_the_file_out_of_the_prompt(workspace: Path) -> None:
    settings = Settings(backend="direct", use_docker=False, workspace=str(workspace),
                        project_instructions=False)
    with Agent(settings=settings) as agent:
        outcome = run_command(Session(agent), "/init")
    assert "project_instructions is off, so Pygent does not read it" in outcome.text


def test_init_is_listed_with_help_and_completes_its_flag() -> None:
    command = COMMANDS["init"]
    assert command.usage == "[--force]" and command.completes == "--force"
    assert "--force" in command.help
