"""AGENTS.md into the system prompt: which files, in which order, within the limit, read safely."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

import pytest

from pygent.adapters.project_instructions import folders_above, read_project_instructions
from pygent.app.agent import AgentLoop
from pygent.app.prompt import INSTRUCTIONS_END, INSTRUCTIONS_HEAD, build_system_prompt
from pygent.domain.instructions import InstructionFile, ProjectInstructions, size_text
from pygent.domain.persona import Persona
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, say

WAIT = 20.0  # seconds before a read that never returns fails the test (not a speed assertion)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a folder in it that is the workspace: repo/app/ws."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "app" / "ws").mkdir(parents=True)
    return root


def texts(found: ProjectInstructions) -> list[tuple[str, str]]:
    return [(each.label, each.text) for each in found.files]


def test_files_from_the_git_root_down_to_the_workspace_come_outermost_first(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("root rule\n")
    (repo / "app" / "AGENTS.md").write_text("app rule\n")
    (repo / "app" / "ws" / "AGENTS.md").write_text("workspace rule\n")
    found = read_project_instructions(repo / "app" / "ws", home=None)
    assert texts(found) == [("../../AGENTS.md", "root rule\n"), ("../AGENTS.md", "app rule\n"),
                            ("AGENTS.md", "workspace rule\n")]
    assert found.problems == () and not found.cut


def test_the_walk_stops_at_the_git_root_and_never_goes_above_it(repo: Path) -> None:
    (repo.parent / "AGENTS.md").write_text("above the repository\n")
    (repo / "AGENTS.md").write_text("root rule\n")
    found = read_project_instructions(repo / "app" / "ws", home=repo.parent)
    assert texts(found) == [("../../AGENTS.md", "root rule\n")]


def test_the_walk_stops_at_home_when_home_comes_before_a_git_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    home = tmp_path / "home"
    (home / "projects" / "ws").mkdir(parents=True)
    (tmp_path / "AGENTS.md").write_text("above home\n")
    (home / "AGENTS.md").write_text("my rules\n")
    found = read_project_instructions(home / "projects" / "ws", home=home)
    assert texts(found) == [("../../AGENTS.md", "my rules\n")]


def test_a_workspace_that_is_a_repository_root_or_home_reads_only_its_own_file(
    repo: Path
) -> None:
    (repo / "AGENTS.md").write_text("root rule\n")
    (repo.parent / "AGENTS.md").write_text("above\n")
    assert texts(read_project_instructions(repo, home=None)) == [("AGENTS.md", "root rule\n")]
    assert texts(read_project_instructions(repo / "app", home=repo / "app")) == []


def test_with_neither_a_git_root_nor_home_above_only_the_workspace_counts(
    tmp_path: Path
) -> None:
    workspace = tmp_path / "loose" / "ws"
    workspace.mkdir(parents=True)
    (tmp_path / "loose" / "AGENTS.md").write_text("a stranger's rule\n")
    assert folders_above(workspace, home=tmp_path / "elsewhere") == []
    assert read_project_instructions(workspace, home=None).files == ()
    usr_share = Path("/usr/share")  # no git root and no home above it, nor a folder like /tmp
    assert usr_share.is_dir() and not any(
        os.path.lexists(folder / ".git") for folder in (usr_share, *usr_share.parents))
    assert folders_above(usr_share / "doc", home=None) == []


def test_a_folder_anyone_may_write_ends_the_walk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shared = home / "shared"
    (shared / "ws").mkdir(parents=True)
    shared.chmod(0o1777)  # like /tmp: anyone could have put AGENTS.md there
    (shared / "AGENTS.md").write_text("planted by another user\n")
    (home / "AGENTS.md").write_text("my rules\n")
    assert folders_above(shared / "ws", home=home) == []
    assert read_project_instructions(shared / "ws", home=home).files == ()


def test_a_home_of_slash_does_not_open_the_whole_machine(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert folders_above(workspace, home=Path("/")) == []


def test_a_missing_file_is_no_instructions_and_no_problem(workspace: Path) -> None:
    found = read_project_instructions(workspace, home=None)
    assert found == ProjectInstructions((), found.limit, ())
    assert found.summary() == ""


def test_an_empty_or_blank_file_adds_nothing(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("  \n\n\t\n")
    assert read_project_instructions(workspace).files == ()


def test_a_file_over_the_limit_is_cut_and_the_prompt_says_so(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("x" * 5000)
    found = read_project_instructions(workspace, limit=1024)
    (only,) = found.files
    assert only.cut and only.size == 1024 and only.text == "x" * 1024
    assert found.cut and "cut at the 1 KB limit" in found.summary()
    prompt = build_system_prompt(Persona(), [], instructions=found)
    assert "[AGENTS.md cut here: only the first 1 KB of instructions are read]" in prompt


def test_a_file_exactly_at_the_limit_is_not_cut(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("y" * 1024)
    found = read_project_instructions(workspace, limit=1024)
    assert not found.cut and found.size == 1024


def test_the_workspace_file_gets_the_room_first_and_a_parent_past_the_limit_is_left_out(
    repo: Path
) -> None:
    (repo / "AGENTS.md").write_text("root rule that will not fit\n")
    (repo / "app" / "ws" / "AGENTS.md").write_text("w" * 100)
    found = read_project_instructions(repo / "app" / "ws", limit=100)
    assert [(f.label, f.left_out) for f in found.files] == [("../../AGENTS.md", True),
                                                            ("AGENTS.md", False)]
    assert found.size == 100 and found.cut
    prompt = build_system_prompt(Persona(), [], instructions=found)
    assert "root rule" not in prompt
    assert "[../../AGENTS.md left out: the 100 B limit on instructions was reached]" in prompt


def test_the_limit_counts_every_file_together(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("r" * 80)
    (repo / "app" / "ws" / "AGENTS.md").write_text("w" * 50)
    found = read_project_instructions(repo / "app" / "ws", limit=100)
    assert [(f.label, f.size, f.cut) for f in found.files] == [("../../AGENTS.md", 50, True),
                                                               ("AGENTS.md", 50, False)]


def test_bytes_that_are_not_utf8_are_replaced_not_refused(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_bytes(b"caf\xe9 rules \xff\xfe end\n")
    (only,) = read_project_instructions(workspace).files
    assert only.text == "caf\ufffd rules \ufffd\ufffd end\n"


def test_a_character_cut_in_two_by_the_limit_is_dropped_not_garbled(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("ab" + "é" * 10)  # é is two bytes
    (only,) = read_project_instructions(workspace, limit=5).files
    assert only.text == "abé" and only.cut


def test_a_symbolic_link_is_refused_and_the_banner_says_so(workspace: Path,
                                                          tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (workspace / "AGENTS.md").symlink_to(secret)
    found = read_project_instructions(workspace)
    assert found.files == ()
    assert found.problems == ("AGENTS.md is a symbolic link: not read",)
    assert found.summary() == "AGENTS.md is a symbolic link: not read"


def test_a_link_to_a_file_inside_the_workspace_is_refused_too(workspace: Path) -> None:
    (workspace / "real.md").write_text("rules\n")
    (workspace / "AGENTS.md").symlink_to("real.md")
    assert read_project_instructions(workspace).files == ()


def test_a_fifo_does_not_hang_the_read(workspace: Path) -> None:
    os.mkfifo(workspace / "AGENTS.md")
    result: list[ProjectInstructions] = []
    reader = threading.Thread(target=lambda: result.append(read_project_instructions(workspace)),
                              daemon=True)
    reader.start()
    reader.join(WAIT)
    if reader.is_alive():
        with open(workspace / "AGENTS.md", "wb"):  # let the stuck reader go
            pass
        pytest.fail("reading a FIFO named AGENTS.md hung")
    assert result[0].files == ()
    assert result[0].problems == ("AGENTS.md not read: it is a FIFO, not a file",)


def test_a_folder_named_agents_md_is_not_read(workspace: Path) -> None:
    (workspace / "AGENTS.md").mkdir()
    assert read_project_instructions(workspace).problems == (
        "AGENTS.md not read: it is a folder, not a file",)


def test_a_fifo_above_the_workspace_does_not_hang_either(repo: Path) -> None:
    os.mkfifo(repo / "AGENTS.md")
    found = read_project_instructions(repo / "app" / "ws")
    assert found.problems == ("../../AGENTS.md not read: it is not a regular file",)


def test_a_link_above_the_workspace_is_the_person_s_own_and_is_followed(
    repo: Path, tmp_path: Path
) -> None:
    (tmp_path / "dotfiles.md").write_text("from my dotfiles\n")
    (repo / "AGENTS.md").symlink_to(tmp_path / "dotfiles.md")
    assert texts(read_project_instructions(repo / "app" / "ws")) == [
        ("../../AGENTS.md", "from my dotfiles\n")]


# -- the prompt -----------------------------------------------------------------------------
def instructions(*files: InstructionFile) -> ProjectInstructions:
    return ProjectInstructions(files, 32 * 1024)


def test_the_prompt_puts_the_files_between_marks_after_the_tools() -> None:
    found = instructions(InstructionFile("../AGENTS.md", "outer\n", 6),
                         InstructionFile("AGENTS.md", "inner\n", 6))
    prompt = build_system_prompt(Persona(), [], instructions=found)
    section = prompt[prompt.index(INSTRUCTIONS_HEAD):]
    assert section == "\n".join([INSTRUCTIONS_HEAD, "--- ../AGENTS.md ---", "outer",
                                 "--- AGENTS.md ---", "inner", INSTRUCTIONS_END])
    assert "the person's own rules" in INSTRUCTIONS_HEAD and "later one" in INSTRUCTIONS_HEAD


def test_without_instructions_the_prompt_has_no_section() -> None:
    assert INSTRUCTIONS_HEAD not in build_system_prompt(Persona(), [])
    assert INSTRUCTIONS_HEAD not in build_system_prompt(Persona(), [], instructions=instructions())


class CountingReader:
    """A reader that counts its calls and reads the workspace's file plainly."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, workspace: Path) -> ProjectInstructions:
        self.calls += 1
        return read_project_instructions(workspace)


def loop(workspace: Path, reader: Optional[CountingReader], model: FakeModel) -> AgentLoop:
    return AgentLoop(model, Runtime(sandbox=FakeSandbox(workspace)), read_instructions=reader)


def test_the_loop_reads_at_the_start_and_at_a_new_conversation_not_each_step(
    workspace: Path
) -> None:
    (workspace / "AGENTS.md").write_text("first rules\n")
    reader, model = CountingReader(), FakeModel(default=say("ok"))
    agent = loop(workspace, reader, model)
    agent.step("one")
    (workspace / "AGENTS.md").write_text("second rules\n")
    agent.step("two")
    assert reader.calls == 1
    assert all("first rules" in r["messages"][0]["content"] for r in model.requests)
    agent.new_conversation()
    agent.step("three")
    assert reader.calls == 2
    assert "second rules" in model.requests[-1]["messages"][0]["content"]
    assert "first rules" not in model.requests[-1]["messages"][0]["content"]


def test_a_loop_without_a_reader_sends_no_instructions(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("rules\n")
    model = FakeModel(default=say("ok"))
    agent = loop(workspace, None, model)
    agent.step("hi")
    assert agent.instructions is None
    assert "rules" not in model.requests[0]["messages"][0]["content"]


# -- what a person is told ------------------------------------------------------------------
@pytest.mark.parametrize("size, shown", [(0, "0 B"), (812, "812 B"), (1024, "1 KB"),
                                         (1229, "1.2 KB"), (32 * 1024, "32 KB"),
                                         (15000, "15 KB")])
def test_sizes_read_as_a_person_would_write_them(size: int, shown: str) -> None:
    assert size_text(size) == shown


def test_the_summary_names_the_files_with_their_size_and_estimated_tokens() -> None:
    found = instructions(InstructionFile("../AGENTS.md", "o" * 429, 429),
                         InstructionFile("AGENTS.md", "i" * 800, 800))
    assert found.summary() == "../AGENTS.md, AGENTS.md (1.2 KB, ~351 tokens)"


def test_a_workspace_reached_through_a_link_of_the_person_s_own_is_read(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / "AGENTS.md").write_text("rules\n")
    (tmp_path / "shortcut").symlink_to(workspace)
    assert texts(read_project_instructions(tmp_path / "shortcut")) == [("AGENTS.md", "rules\n")]
