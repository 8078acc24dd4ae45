"""Checkpoints as a person uses them: real steps of the offline model, then undo, redo, diff.

Every agent here is a real one (local sandbox, ``direct`` model): each typed line is one step
that runs a tool, so the checkpoints are taken where they are in a session.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from pygent import Agent
from pygent.adapters.checkpoint_store import MAX_FILE, MAX_FILES, GitCheckpointStore
from pygent.adapters.tree_scan import TreeMirror
from pygent.app.commands import Session, run_command
from pygent.app.settings import Settings
from pygent.domain.errors import CheckpointConflict, CheckpointError, PygentError
from pygent.domain.events import Event, Notice

Make = Callable[..., Agent]


@pytest.fixture
def make(workspace: Path) -> Iterator[Make]:
    """Agents on ``workspace`` with the direct model; closed afterwards."""
    made: list[Agent] = []

    def build(**changes: object) -> Agent:
        settings = Settings(backend="direct", use_docker=False, confine=False,
                            workspace=str(workspace), ask_user=False, task_tools=False)
        made.append(Agent(settings=Settings(**{**settings.__dict__, **changes})))
        return made[-1]

    yield build
    for agent in made:
        agent.close()


def step(agent: Agent, line: str) -> None:
    agent.step(line)  # one reply of the direct model: the line as one tool call


def tree(root: Path) -> dict[str, object]:
    """Everything below ``root`` but .git: bytes, link targets and the executable bit."""
    found: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            key = os.path.relpath(path, root)
            if os.path.islink(path):
                found[key] = ("link", os.readlink(path))
            else:
                found[key] = (Path(path).read_bytes(), os.stat(path).st_mode & stat.S_IXUSR)
    return found


def test_undo_removes_a_file_write_file_made_and_redo_brings_it_back(
    make: Make, workspace: Path
) -> None:
    agent = make()
    step(agent, 'write_file path="hello.txt" content="Hello from Pygent"')
    assert [c.paths for c in agent.checkpoints] == [("hello.txt",)]
    done = agent.undo()
    assert not (workspace / "hello.txt").exists()
    assert done.text.startswith("Undid step 1 (write_file: hello.txt): 1 file back as before")
    assert done.text.endswith("(hello.txt); /redo puts it back. The conversation is kept; "
                              "/undo --chat rewinds it too.")
    assert agent.checkpoints == []
    agent.redo()
    assert (workspace / "hello.txt").read_text() == "Hello from Pygent"


def test_undo_takes_back_what_bash_changed_byte_for_byte(make: Make, workspace: Path) -> None:
    (workspace / "keep.txt").write_text("line 1\nline 2\n")
    (workspace / "gone.txt").write_text("delete me\n")
    (workspace / "old-name.txt").write_text("renamed\n")
    (workspace / "logo.png").write_bytes(bytes(range(256)) * 40)
    (workspace / "run.sh").write_text("#!/bin/sh\n")
    (workspace / "pointer").symlink_to("keep.txt")
    before = tree(workspace)
    agent = make()
    step(agent, "sed -i s/2/two/ keep.txt && rm gone.txt && mv old-name.txt new-name.txt && "
                "printf '\\x00\\xff' >> logo.png && chmod +x run.sh && ln -sfn gone.txt pointer "
                "&& mkdir -p deep/er && printf '\\x89PNG\\x00' > deep/er/new.bin")
    changed = tree(workspace)
    assert changed != before
    assert set(agent.checkpoints[0].paths) == {
        "keep.txt", "gone.txt", "old-name.txt", "new-name.txt", "logo.png", "run.sh", "pointer",
        "deep/er/new.bin"}
    agent.undo()
    assert tree(workspace) == before
    assert not (workspace / "deep").exists()  # the folders the step made went with it
    agent.redo()
    assert tree(workspace) == changed


def test_each_undo_goes_one_step_further_back_and_a_new_step_clears_redo(
    make: Make, workspace: Path
) -> None:
    agent = make()
    for text in ("one", "two", "three"):
        step(agent, f"echo {text} > notes.txt")
    assert [c.step for c in agent.checkpoints] == [1, 2, 3]
    agent.undo()
    assert (workspace / "notes.txt").read_text() == "two\n"
    agent.undo()
    assert (workspace / "notes.txt").read_text() == "one\n"
    agent.redo()
    assert (workspace / "notes.txt").read_text() == "two\n"
    step(agent, "echo four > notes.txt")
    with pytest.raises(CheckpointError, match="Nothing to redo"):
        agent.redo()
    for _ in range(3):
        agent.undo()
    assert not (workspace / "notes.txt").exists()
    with pytest.raises(CheckpointError, match="every step of this session .* is undone"):
        agent.undo()


def test_a_step_that_changes_no_file_leaves_no_checkpoint(make: Make, workspace: Path) -> None:
    agent = make()
    step(agent, "ls -la")
    step(agent, "cat /etc/hostname")
    assert agent.checkpoints == []
    with pytest.raises(CheckpointError, match="Nothing to undo: no step has changed a file"):
        agent.undo()


def test_undo_never_overwrites_a_change_made_since_without_force(
    make: Make, workspace: Path
) -> None:
    agent = make()
    step(agent, 'write_file path="a.txt" content="from the agent"')
    step(agent, "echo more >> a.txt && echo b > b.txt")
    (workspace / "a.txt").write_text("my own edit\n")  # the person, outside Pygent
    with pytest.raises(CheckpointConflict) as caught:
        agent.undo()
    assert caught.value.paths == ["a.txt"]
    assert "a.txt changed after step 2" in str(caught.value)
    assert (workspace / "a.txt").read_text() == "my own edit\n"  # nothing written at all
    assert (workspace / "b.txt").exists()
    assert len(agent.checkpoints) == 2
    agent.undo(force=True)
    assert (workspace / "a.txt").read_text() == "from the agent"
    assert not (workspace / "b.txt").exists()


def test_a_person_making_a_folder_where_a_file_was_is_a_conflict_too(
    make: Make, workspace: Path
) -> None:
    agent = make()
    step(agent, "echo x > thing")
    step(agent, "rm thing")
    (workspace / "thing").mkdir()
    (workspace / "thing" / "mine.txt").write_text("mine")
    with pytest.raises(CheckpointConflict) as caught:
        agent.undo()
    assert caught.value.paths == ["thing/mine.txt"]
    assert (workspace / "thing" / "mine.txt").read_text() == "mine"
    with pytest.raises(PygentError, match="restore thing: a folder with other files is in"):
        agent.undo(force=True)  # even forced, a folder of yours is not removed
    assert (workspace / "thing" / "mine.txt").read_text() == "mine"


def test_files_the_person_changes_between_steps_are_not_the_agents(
    make: Make, workspace: Path
) -> None:
    agent = make()
    step(agent, "echo agent > agent.txt")
    (workspace / "person.txt").write_text("mine\n")
    step(agent, "echo again >> agent.txt")
    assert [c.paths for c in agent.checkpoints] == [("agent.txt",), ("agent.txt",)]
    agent.undo()
    agent.undo()
    assert (workspace / "person.txt").read_text() == "mine\n"
    assert "person.txt" not in agent.diff()


def test_undo_chat_rewinds_the_conversation_and_redo_chat_puts_it_back(
    make: Make, workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "history.jsonl"
    agent = make(history_file=str(log))
    agent.run_until_stop("echo first > f.txt", unattended=False)
    kept = len(agent.conversation)
    agent.run_until_stop("echo second > s.txt", unattended=False)
    everything = agent.conversation.messages
    done = agent.undo(conversation=True)
    assert done.messages == len(everything) - kept
    assert "taken out of the conversation; /redo --chat puts both back" in done.text
    assert agent.conversation.messages == everything[:kept]
    assert not (workspace / "s.txt").exists()
    with Agent(settings=Settings(backend="direct", use_docker=False, history_file=str(log),
                                 workspace=str(workspace))) as resumed:
        assert len(resumed.conversation) == kept  # the log says the same
    agent.redo(conversation=True)
    assert agent.conversation.messages == everything
    assert (workspace / "s.txt").read_text() == "second\n"


def test_redo_chat_refuses_when_the_conversation_moved_on_and_changes_nothing(
    make: Make, workspace: Path
) -> None:
    agent = make()
    step(agent, "echo x > x.txt")
    agent.undo(conversation=True)
    step(agent, "ls")
    with pytest.raises(CheckpointError, match="new messages since that undo"):
        agent.redo(conversation=True)
    assert not (workspace / "x.txt").exists()
    agent.redo()
    assert (workspace / "x.txt").exists()


def test_undo_chat_after_new_leaves_the_new_conversation_alone(make: Make) -> None:
    agent = make()
    step(agent, "echo x > x.txt")
    agent.new_conversation()
    step(agent, "ls")
    step(agent, "ls")
    count = len(agent.conversation)
    done = agent.undo(conversation=True)
    assert len(agent.conversation) == count
    assert "the conversation was not rewound" in done.text


def test_diff_shows_new_changed_deleted_renamed_and_binary_files(
    make: Make, workspace: Path
) -> None:
    (workspace / "story.txt").write_text("once\nupon\n")
    (workspace / "old.txt").write_text("a name\n")
    (workspace / "bye.txt").write_text("bye\n")
    agent = make()
    assert agent.diff() == ""
    step(agent, "sed -i 's/upon/a time/' story.txt && mv old.txt new.txt && rm bye.txt")
    step(agent, "echo hi > sub.txt && printf '\\x00\\x01' > data.bin")
    text = agent.diff()
    assert "--- story.txt\n+++ story.txt\n@@ -1,2 +1,2 @@\n once\n-upon\n+a time\n" in text
    assert "rename from old.txt\nrename to new.txt" in text
    assert "deleted file mode 100644" in text and "-bye\n" in text
    assert "new file mode 100644" in text and "+hi\n" in text
    assert "Binary files /dev/null and data.bin differ" in text
    assert "a/" not in text and "b/" not in text
    assert agent.diff("sub.txt").count("diff --git") == 1
    assert agent.diff(str(workspace / "story.txt")).count("diff --git") == 1
    assert "GIT binary patch" in agent.diff("data.bin", binary=True)
    with pytest.raises(CheckpointError, match="outside the workspace"):
        agent.diff("../elsewhere")
    agent.undo()
    assert "sub.txt" not in agent.diff()  # an undone step is not the agent's change any more


def test_a_dirty_user_repository_stays_exactly_as_it_was(make: Make, workspace: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True,
                              text=True).stdout

    git("init", "-q", "-b", "main")
    git("config", "user.email", "me@example.com")
    git("config", "user.name", "Me")
    (workspace / "tracked.txt").write_text("v1\n")
    git("add", "tracked.txt")
    git("commit", "-qm", "first")
    (workspace / "tracked.txt").write_text("stashed\n")
    git("stash", "-q")
    (workspace / "tracked.txt").write_text("staged\n")
    git("add", "tracked.txt")
    (workspace / "tracked.txt").write_text("unstaged\n")
    (workspace / "untracked.txt").write_text("u\n")

    def state() -> tuple[object, ...]:
        meta = {path.relative_to(workspace / ".git").as_posix(): path.read_bytes()
                for path in (workspace / ".git").rglob("*") if path.is_file()}
        return (git("status", "--porcelain=v2", "--branch"), git("stash", "list"),
                git("show-ref"), git("diff", "--cached"), meta)

    start = state()
    agent = make()
    step(agent, "echo agent >> tracked.txt && echo new > agent.txt")
    step(agent, 'write_file path="untracked.txt" content="changed"')
    assert state()[1:] == start[1:]  # the stash, refs, index and .git itself: untouched
    agent.undo()
    agent.undo()
    assert state() == start
    agent.redo()
    agent.redo()
    agent.undo()
    agent.undo()
    assert state() == start
    assert "tracked.txt" in agent.diff() or agent.checkpoints == []


def test_a_gitignore_of_star_hides_nothing_from_a_checkpoint(make: Make, workspace: Path) -> None:
    (workspace / "precious.txt").write_text("mine\n")
    agent = make()
    step(agent, "printf '*\\n' > .gitignore && echo made > made.txt && rm precious.txt")
    assert set(agent.checkpoints[0].paths) == {".gitignore", "made.txt", "precious.txt"}
    agent.undo()
    assert (workspace / "precious.txt").read_text() == "mine\n"
    assert sorted(os.listdir(workspace)) == ["precious.txt"]


def test_the_commands_undo_redo_and_diff(make: Make, workspace: Path) -> None:
    session = Session(make())
    step(session.agent, 'write_file path="a.txt" content="hi"')
    assert "+hi" in run_command(session, "/diff").text
    assert "No file changes by the agent in b.txt" in run_command(session, "/diff b.txt").text
    (workspace / "a.txt").write_text("edited by me")
    refused = run_command(session, "/undo --chat")
    assert refused.is_error and refused.retry == "/undo --force --chat"
    assert refused.text.startswith("Not undone: a.txt changed after step 1")
    assert refused.text.endswith("/undo --force --chat overwrites it.")
    assert (workspace / "a.txt").read_text() == "edited by me"
    done = run_command(session, refused.retry)
    assert not done.is_error and not (workspace / "a.txt").exists()
    assert len(session.agent.conversation) == 0
    assert run_command(session, "/redo --chat").text.startswith("Redid step 1")
    assert run_command(session, "/undo --all").text == "Usage: /undo [--chat] [--force]"
    assert "/undo [--chat] [--force]" in run_command(session, "/help undo").text


def test_switched_off_or_without_git_the_commands_say_why(
    make: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture
) -> None:
    off = Session(make(checkpoints=False))
    step(off.agent, "echo x > x.txt")
    assert off.agent.checkpoints == []
    assert "checkpoints are switched off" in run_command(off, "/undo").text
    no_git = tmp_path / "no-git"
    no_git.mkdir()
    for program in os.listdir("/usr/bin"):  # the same commands, but for git
        if program != "git":
            (no_git / program).symlink_to(Path("/usr/bin", program))
    monkeypatch.setenv("PATH", str(no_git))
    caplog.clear()
    without = Session(make())
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == ["Checkpoints are off: git is not installed, so /undo and /diff cannot "
                      "work."]
    step(without.agent, "echo x > y.txt")
    reply = run_command(without, "/undo")
    assert reply.is_error and "git is not installed" in reply.text
    assert (without.agent.runtime.workspace / "y.txt").exists()


def test_a_failing_store_turns_checkpoints_off_with_one_notice(
    make: Make, workspace: Path
) -> None:
    for index in range(30):
        (workspace / f"f{index}").write_text("x")
    agent = make()
    assert agent.file_checkpoints is not None
    agent.file_checkpoints._open = lambda: GitCheckpointStore(workspace, max_files=10)
    notices: list[Event] = []
    agent.subscribe(notices.append)
    step(agent, "echo x > x.txt")
    step(agent, "echo y > y.txt")
    said = [e.text for e in notices if isinstance(e, Notice)]
    assert len(said) == 1 and "Checkpoints are off from now on" in said[0]
    assert "more than 10 files" in said[0]
    assert (workspace / "y.txt").exists()  # the step itself ran


def test_closing_the_agent_removes_its_store(make: Make) -> None:
    agent = make()
    step(agent, "echo x > x.txt")
    store = agent.file_checkpoints.store if agent.file_checkpoints else None
    assert isinstance(store, GitCheckpointStore)
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    agent.close()
    assert not store.folder.exists()


@pytest.mark.parametrize("seed", range(8))
def test_the_watched_mirror_always_equals_a_full_scan(workspace: Path, seed: int) -> None:
    """Random edits, renames and folder moves: what inotify says is never less than a scan."""
    chance = random.Random(seed)
    watched = GitCheckpointStore(workspace)
    assert watched.watching
    try:
        for _ in range(60):
            folders = [p for p in workspace.rglob("*") if p.is_dir()] + [workspace]
            files = [p for p in workspace.rglob("*") if p.is_file()]
            action = chance.choice(["new", "new", "edit", "remove", "move", "folder", "chmod",
                                    "move-folder", "remove-folder", "link"])
            where = chance.choice(folders)
            if action == "new" or not files:
                (where / f"f{chance.randrange(99)}").write_text(str(chance.random()))
            elif action == "edit":
                chance.choice(files).write_text(str(chance.random()))
            elif action == "remove":
                chance.choice(files).unlink()
            elif action == "move":
                chance.choice(files).rename(where / f"m{chance.randrange(99)}")
            elif action == "chmod":
                chance.choice(files).chmod(chance.choice([0o644, 0o755]))
            elif action == "link":
                target = where / f"l{chance.randrange(99)}"
                if not target.exists() and not target.is_symlink():
                    target.symlink_to(chance.choice(files).name)
            elif action == "folder":
                (where / f"d{chance.randrange(9)}" / "inner").mkdir(parents=True, exist_ok=True)
                (where / f"d{chance.randrange(9)}").mkdir(exist_ok=True)
            elif where != workspace and action == "move-folder":
                target = workspace / f"moved{chance.randrange(9)}"
                if not target.exists():
                    where.rename(target)
            elif where != workspace:
                shutil.rmtree(where)
            if chance.random() < 0.5:
                continue  # several changes between two snapshots
            fresh = TreeMirror(workspace, watched.objects, None, MAX_FILES, MAX_FILE)
            assert watched.snapshot() == fresh.snapshot()
    finally:
        watched.close()


def test_a_folder_removed_and_made_again_is_watched_again(workspace: Path) -> None:
    """The new folder often gets the old one's inode: its files must not go unseen."""
    (workspace / "d").mkdir()
    (workspace / "d" / "a").write_text("a")
    watched = GitCheckpointStore(workspace)
    try:
        watched.snapshot()
        shutil.rmtree(workspace / "d")
        (workspace / "d").mkdir()
        watched.snapshot()
        (workspace / "d" / "b").write_text("b")
        fresh = TreeMirror(workspace, watched.objects, None, MAX_FILES, MAX_FILE)
        assert watched.snapshot() == fresh.snapshot()
    finally:
        watched.close()


def test_the_store_is_a_repository_git_itself_finds_sound(make: Make, workspace: Path) -> None:
    agent = make()
    step(agent, "mkdir -p a/b && echo one > a/b/one.txt && ln -s a/b/one.txt link "
                "&& printf '\\x00' > bin && chmod +x bin")
    agent.diff()  # a pack is finished for git to read
    step(agent, "echo two > 'a/name with spaces' && rm a/b/one.txt")
    store = agent.file_checkpoints.store if agent.file_checkpoints else None
    assert isinstance(store, GitCheckpointStore)
    store.objects.finish()
    env = {**os.environ, "GIT_DIR": str(store.git_dir)}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], env=env, capture_output=True, check=True,
                              text=True).stdout

    git("fsck", "--strict", "--no-dangling")
    packs = sorted((store.git_dir / "objects" / "pack").glob("*.idx"))
    assert len(packs) == 2
    git("verify-pack", *map(str, packs))
    def blob(data: bytes) -> str:
        return subprocess.run(["git", "hash-object", "--stdin"], input=data, check=True,
                              capture_output=True).stdout.decode().strip()

    two, nul, link = blob(b"two\n"), blob(b"\x00"), blob(b"a/b/one.txt")
    listing = git("ls-tree", "-r", agent.checkpoints[-1].after)
    assert listing.splitlines() == [f"100644 blob {two}\ta/name with spaces",
                                    f"100755 blob {nul}\tbin", f"120000 blob {link}\tlink"]


def test_a_killed_sessions_store_is_removed_by_the_next_one(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = ("import os, sys; from pathlib import Path; "
            "from pygent.adapters.checkpoint_store import GitCheckpointStore; "
            f"s = GitCheckpointStore(Path({str(workspace)!r})); s.snapshot(); "
            "print(s.folder, flush=True); os.kill(os.getpid(), 9)")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    left = Path(killed.stdout.strip())
    assert left.parent == tmp_path and left.is_dir()  # SIGKILL: nothing could clean up
    live = tmp_path / f"pygent-checkpoints-{os.getppid()}-keep"
    live.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "pygent-checkpoints-999999999-link").symlink_to(elsewhere)
    store = GitCheckpointStore(workspace)
    try:
        assert not left.exists()
        assert live.is_dir() and elsewhere.is_dir()
        assert (tmp_path / "pygent-checkpoints-999999999-link").is_symlink()
    finally:
        store.close()
