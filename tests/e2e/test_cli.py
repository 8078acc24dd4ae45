"""The ``pygent`` command as a person drives it: a REPL in a pseudo-terminal, and one-shot runs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pexpect
import pytest

from tests.chat_server import ChatServer, error, slow, streamed, text, tool_call

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")
WAIT = 20.0  # seconds before a missing text fails the test (not a speed assertion)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: a fresh HOME, local sandbox, no API key, no host settings, and
    temporary folders (kept workspaces too) under the test's own folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PYGENT_", "XDG_")) and k != "NO_COLOR"}
    scratch = home.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), PYGENT_USE_DOCKER="0", TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40", TMPDIR=str(scratch))
    env.update(extra)
    return env


PROMPT_AT_END = re.compile(r"(?:\A|\n)vc>\s*\Z")


class Terminal:
    """A ``pygent`` REPL in a pseudo-terminal, read as text with the escape sequences removed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.seen = 0  # how much of the transcript earlier waits consumed

    @property
    def transcript(self) -> str:
        return ANSI.sub("", self.raw).replace("\r", "")

    def _wait(self, find: Callable[[str], Optional[int]], what: str) -> str:
        """Read until ``find(unread text)`` gives an end offset; return the text up to it."""
        deadline = time.monotonic() + WAIT
        while True:
            end = find(self.transcript[self.seen:])
            if end is not None:
                start = self.seen
                self.seen += end
                return self.transcript[start:self.seen]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what} never came; screen:\n{self.transcript[-3000:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=min(remaining, 0.5))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF as exc:
                raise AssertionError(f"pygent ended before {what}:\n{self.transcript}") from exc

    def expect(self, needle: str) -> str:
        """Wait for ``needle``; return the text up to and including it."""
        def find(text: str) -> Optional[int]:
            index = text.find(needle)
            return None if index < 0 else index + len(needle)

        return self._wait(find, repr(needle))

    def prompt(self) -> str:
        """Wait until an empty ``vc>`` prompt is the last thing on the screen."""
        def find(text: str) -> Optional[int]:
            match = PROMPT_AT_END.search(text)
            return None if match is None else len(text)

        return self._wait(find, "the vc> prompt")

    def run(self, line: str) -> str:
        """Type a line; return everything shown until the next prompt."""
        self.child.sendline(line)
        return self.prompt()

    def wait_exit(self) -> int:
        """Wait for pygent to end; its exit status."""
        self.child.expect(pexpect.EOF, timeout=WAIT)
        self.raw += self.child.before or ""
        self.child.close()
        assert self.child.exitstatus is not None
        return int(self.child.exitstatus)


Launch = Callable[..., Terminal]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def start(home: Path, tmp_path: Path) -> Iterator[Launch]:
    """Start ``pygent`` with flags (and extra env); every REPL started is closed at teardown."""
    children: list[pexpect.spawn] = []

    def launch(*flags: str, **env: str) -> Terminal:
        where = [] if "--docker" in flags else ["--no-docker"]
        child = pexpect.spawn(sys.executable, ["-m", "pygent", *where, *flags],
                              env=cli_env(home, **env), cwd=str(tmp_path), encoding="utf-8",
                              dimensions=(40, 120))
        children.append(child)
        terminal = Terminal(child)
        terminal.prompt()
        return terminal

    yield launch
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def workspace_of(terminal: Terminal) -> Path:
    match = re.search(r"workspace: (\S+)", terminal.transcript)
    assert match, terminal.transcript
    return Path(match.group(1))


def test_the_seed_session_works_offline_and_exit_keeps_what_it_made(
    start: Launch, home: Path
) -> None:
    """Issue 15: ``/exit`` used to delete hello.txt without a word; now it asks, Enter keeps."""
    term = start()
    assert re.search(r"Pygent - local \((un)?confined\) - model: direct - workspace:",
                     term.transcript), term.transcript
    assert "OPENAI_API_KEY" in term.transcript and "/help" in term.transcript
    assert "A temporary workspace: kept at exit when it holds files" in term.transcript
    workspace = workspace_of(term)
    assert workspace.is_dir()
    assert "$ echo \"Hello\"\nHello\n" in term.run('echo "Hello"')
    wrote = term.run('write_file path="hello.txt" content="Hello from Pygent"')
    assert "Wrote 17 bytes to hello.txt" in wrote
    assert "$ cat hello.txt\nHello from Pygent\n" in term.run('bash cmd="cat hello.txt"')
    term.child.sendline("/exit")
    term.expect(f"Keep the workspace {workspace} (1 file)? [Y/n] ")
    term.child.sendline("")
    assert term.wait_exit() == 0
    assert f"Kept the workspace {workspace} (1 file). /exit discard" in term.transcript
    assert (workspace / "hello.txt").read_text() == "Hello from Pygent"
    history = home / ".local" / "share" / "pygent" / "history"
    assert 'echo "Hello"' in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_answering_no_at_exit_removes_the_workspace_and_says_so(start: Launch) -> None:
    term = start()
    workspace = workspace_of(term)
    term.run("mkdir -p src && echo x > src/a.py && echo y > b.txt")
    term.child.sendline("/exit")
    term.expect(f"Keep the workspace {workspace} (2 files, 1 folder)? [Y/n] ")
    term.child.sendline("n")
    assert term.wait_exit() == 0
    assert f"Removed the temporary workspace {workspace} (2 files, 1 folder)." in \
        term.transcript
    assert not workspace.exists()


@pytest.mark.parametrize(("how", "kept"), [("/exit discard", False), ("/exit keep", True)])
def test_exit_discard_or_keep_decides_without_a_question(
    start: Launch, how: str, kept: bool
) -> None:
    term = start()
    workspace = workspace_of(term)
    term.run('write_file path="notes.md" content="draft"')
    term.child.sendline(how)
    assert term.wait_exit() == 0
    assert "Keep the workspace" not in term.transcript
    assert workspace.exists() is kept
    said = "Kept the workspace" if kept else "Removed the temporary workspace"
    assert f"{said} {workspace} (1 file)." in term.transcript


@pytest.mark.parametrize(("setting", "kept"), [("always", True), ("never", False)])
def test_the_keep_workspace_setting_decides_without_a_question(
    start: Launch, setting: str, kept: bool
) -> None:
    term = start("--keep-workspace", setting)
    workspace = workspace_of(term)
    assert ("A temporary workspace" in term.transcript) is kept  # never: nothing to say
    term.run('write_file path="notes.md" content="draft"')
    term.child.sendline("/exit")
    assert term.wait_exit() == 0
    assert "Keep the workspace" not in term.transcript
    assert workspace.exists() is kept


def test_ctrl_d_asks_too_and_no_answer_keeps_the_files(start: Launch) -> None:
    term = start()
    workspace = workspace_of(term)
    term.run('write_file path="hello.txt" content="hi"')
    term.child.sendeof()
    term.expect("Keep the workspace")
    term.child.sendeof()  # no answer at all: keep
    assert term.wait_exit() == 0
    assert (workspace / "hello.txt").read_text() == "hi"
    assert f"Kept the workspace {workspace} (1 file)." in term.transcript


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_session_without_losing_the_files(
    start: Launch, signal_name: str
) -> None:
    import signal

    term = start()
    workspace = workspace_of(term)
    term.run('write_file path="work.txt" content="an hour of it"')
    number = getattr(signal, signal_name)
    term.child.kill(number)
    assert term.wait_exit() == 128 + number
    assert (workspace / "work.txt").read_text() == "an hour of it"
    assert "Keep the workspace" not in term.transcript  # nobody may be there to answer
    assert f"Kept the workspace {workspace} (1 file)." in term.transcript


@pytest.mark.docker
def test_with_docker_sigterm_keeps_the_files_too(start: Launch, docker_image: str) -> None:
    """Docker's own SIGTERM clean-up closes the sandbox before the exit path runs."""
    import signal

    term = start("--docker", PYGENT_IMAGE=docker_image)
    workspace = workspace_of(term)
    term.run('write_file path="work.txt" content="kept"')
    term.child.kill(signal.SIGTERM)
    assert term.wait_exit() == 128 + signal.SIGTERM
    assert (workspace / "work.txt").read_text() == "kept"
    assert os.stat(workspace / "work.txt").st_uid == os.getuid()
    assert f"Kept the workspace {workspace} (1 file)." in term.transcript


def test_workspace_dot_works_in_the_current_folder_and_leaves_it_there(
    start: Launch, tmp_path: Path
) -> None:
    term = start("--workspace", ".")
    assert workspace_of(term) == tmp_path.resolve()
    assert "A temporary workspace" not in term.transcript
    term.run('write_file path="src/app.py" content="print(1)"')
    assert f"\n{tmp_path.resolve()}\n" in term.run("pwd")
    term.child.sendline("/exit discard")
    assert term.wait_exit() == 0
    assert "is a folder you chose, so it stays" in term.transcript
    assert (tmp_path / "src" / "app.py").read_text() == "print(1)"


def test_a_read_only_session_says_so_and_changes_nothing(start: Launch, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("read me\n")
    term = start("--workspace", ".", "--workspace-mode", "read-only")
    confined = "local (confined)" in term.transcript
    assert ("Read-only workspace: commands and tools can read it, not change it." if confined
            else "Read-only for the file tools only: local commands are not confined") in \
        term.transcript
    assert "read me" in term.run("cat README.md")
    refused = term.run('write_file path="README.md" content="changed"')
    assert "read-only (workspace_mode = read-only)" in refused
    assert "/cp: cannot write" in term.run(f"/cp {tmp_path / 'README.md'} copy.md")
    if confined:
        assert "Read-only file system" in term.run("touch made.txt")
    term.child.sendline("/exit")
    assert term.wait_exit() == 0
    assert (tmp_path / "README.md").read_text() == "read me\n"
    assert not (tmp_path / "copy.md").exists() and not (tmp_path / "made.txt").exists()


@pytest.mark.docker
def test_the_seed_session_runs_in_docker_with_the_docker_flag(
    start: Launch, docker_image: str
) -> None:
    term = start("--docker", PYGENT_IMAGE=docker_image)
    assert "Pygent - Docker - model: direct" in term.transcript
    workspace = workspace_of(term)
    assert "\nHello\n" in term.run('echo "Hello"')
    term.run('write_file path="hello.txt" content="Hello from Pygent"')
    assert "\nHello from Pygent\n" in term.run('bash cmd="cat hello.txt"')
    term.child.sendline("/exit")
    term.expect("? [Y/n] ")
    term.child.sendline("y")
    assert term.wait_exit() == 0
    info = os.stat(workspace / "hello.txt")  # the invoking user's, as made on the host
    assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())
    assert (workspace / "hello.txt").read_text() == "Hello from Pygent"


def test_piped_input_is_read_line_by_line_without_a_line_editor(home: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pygent", "--no-docker"], env=cli_env(home),
                          input="echo piped\n/exit\necho never\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert "vc> echo piped\n$ echo piped\npiped\nvc> /exit\nBye.\n" in done.stdout
    assert "never" not in done.stdout
    assert "Kept" not in done.stdout  # an empty workspace goes quietly
    assert done.stderr == ""


def test_piped_input_keeps_a_workspace_with_files_and_says_where(home: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pygent", "--no-docker"], env=cli_env(home),
                          input='write_file path="a.txt" content="x"\n/exit\n',
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Keep the workspace" not in done.stdout + done.stderr  # nobody to ask
    match = re.search(r"Kept the workspace (\S+) \(1 file\)\.", done.stdout)
    assert match, done.stdout
    assert (Path(match.group(1)) / "a.txt").read_text() == "x"


def test_help_lists_every_command_and_explains_one(start: Launch) -> None:
    term = start()
    listing = term.run("/help")
    for name in ("/help", "/cmd", "/cp", "/new", "/confirm", "/tasks", "/exit"):
        assert name in listing
    assert "copy a host file or folder into the workspace" in listing
    assert "/cp SRC [DEST]\nCopies SRC" in term.run("/help cp")


def test_cmd_runs_a_raw_shell_command_in_the_workspace(start: Launch) -> None:
    term = start()
    workspace = workspace_of(term)
    assert f"\n{workspace}\n" in term.run("/cmd pwd")


def test_cp_copies_a_host_file_and_a_folder_into_the_workspace(
    start: Launch, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("remember the milk\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    term = start()
    assert "Copied file" in term.run(f"/cp {tmp_path / 'notes.txt'}")
    assert "Copied folder" in term.run(f"/cp {tmp_path / 'pkg'} lib")
    assert "remember the milk" in term.run("/cmd cat notes.txt")
    assert "X = 1" in term.run("/cmd cat lib/mod.py")
    assert "does not exist" in term.run("/cp /no/such/file")


def test_new_restarts_the_conversation_and_keeps_the_files(start: Launch) -> None:
    term = start()
    term.run('write_file path="kept.txt" content="still here"')
    assert "New conversation" in term.run("/new")
    assert "still here" in term.run("cat kept.txt")


def test_the_banner_names_the_agents_file_it_read_with_its_size(
    start: Launch, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "AGENTS.md").write_text("# Rules\n" + "Run the tests before you stop.\n" * 40)
    term = start("--workspace", str(project))
    lines = term.transcript.splitlines()
    head = next(i for i, line in enumerate(lines) if "workspace: " in line)
    assert lines[head + 1] == "Instructions: AGENTS.md (1.2 KB, ~357 tokens)", term.transcript


def test_init_writes_agents_md_and_the_next_conversation_reads_it(start: Launch) -> None:
    term = start()
    assert "Instructions:" not in term.transcript
    wrote = term.run("/init")
    assert "Wrote AGENTS.md" in wrote and "/new starts one" in wrote
    assert "## Build and test" in term.run("cat AGENTS.md")
    assert "already in the workspace; /init --force replaces it." in term.run("/init")
    assert re.search(r"Instructions: AGENTS\.md \(\d+ B, ~\d+ tokens\)", term.run("/new"))


def test_diff_and_undo_take_back_an_edit_and_ask_before_overwriting_yours(
    start: Launch, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# My project\n")
    term = start("--workspace", str(project))
    term.run('write_file path="hello.txt" content="Hello from Pygent"')
    term.run("sed -i 's/My/Our/' README.md")
    shown = term.run("/diff")
    assert "--- README.md\n+++ README.md\n@@ -1 +1 @@\n-# My project\n+# Our project" in shown
    assert "--- /dev/null\n+++ hello.txt\n@@ -0,0 +1 @@\n+Hello from Pygent" in shown
    assert "+Hello" not in term.run("/diff README.md")
    said = term.run("/undo")
    assert "Undid step 3 (bash: sed -i 's/My/Our/' README.md): 1 file back as before " \
           "(README.md); /redo puts it back" in said
    assert (project / "README.md").read_text() == "# My project\n"
    assert "Undid step 1 (write_file: hello.txt)" in term.run("/undo")
    assert not (project / "hello.txt").exists()
    assert "Nothing left to undo" in term.run("/undo")
    assert "Redid step 1 (write_file: hello.txt): 1 file changed again" in term.run("/redo")
    (project / "hello.txt").write_text("my own words\n")
    term.child.sendline("/undo")
    term.expect("Not undone: hello.txt changed after step 1 (write_file: hello.txt)")
    term.expect("Overwrite? [y/N] ")
    term.child.sendline("n")
    assert "Nothing was changed." in term.prompt()
    assert (project / "hello.txt").read_text() == "my own words\n"
    term.child.sendline("/undo")
    term.expect("Overwrite? [y/N] ")
    term.child.sendline("y")
    assert "Undid step 1" in term.prompt()
    assert sorted(p.name for p in project.iterdir()) == ["README.md"]


def test_piped_input_never_overwrites_on_undo_and_says_how_to_force(home: Path) -> None:
    lines = ['write_file path="a.txt" content="agent"', "/cmd echo mine > a.txt", "/undo",
             "/cmd cat a.txt", "/undo --force", "/cmd ls", "/exit discard"]
    done = subprocess.run([sys.executable, "-m", "pygent", "--no-docker"], env=cli_env(home),
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert ("Not undone: a.txt changed after step 1 (write_file: a.txt): undoing it would "
            "overwrite that change. /undo --force overwrites it.") in done.stdout
    assert "Overwrite?" not in done.stdout + done.stderr
    assert "vc> /cmd cat a.txt\nmine\n" in done.stdout
    assert "vc> /undo --force\nUndid step 1" in done.stdout
    assert "vc> /cmd ls\nvc> /exit" in done.stdout


def test_an_unknown_command_gets_a_suggestion(start: Launch) -> None:
    term = start()
    assert "Unknown command /hlep. Did you mean /help?" in term.run("/hlep")
    assert "\nok\n" in term.run("echo ok")


def test_tab_completes_commands_and_paths(start: Launch, tmp_path: Path) -> None:
    (tmp_path / "unique-name.txt").write_text("completed\n")
    term = start()
    term.child.send("/he\t")
    term.expect("/help")
    term.child.send("\r")
    assert "Commands:" in term.prompt()
    term.child.send("/cp uniq\t")
    term.expect("unique-name.txt")
    term.child.send("\r")
    assert "Copied file" in term.prompt()


def test_a_multi_line_paste_is_one_message(start: Launch) -> None:
    term = start()
    term.child.send("\x1b[200~echo first-line\necho second-line\x1b[201~")
    term.child.send("\r")
    out = term.prompt()
    assert "\nfirst-line\nsecond-line\n" in out


def test_ctrl_c_interrupts_a_long_command_and_the_session_goes_on(start: Launch) -> None:
    term = start()
    term.child.sendline("sleep 30")
    term.expect("$ sleep 30")
    term.child.sendintr()
    term.expect("Interrupted; the conversation is kept.")
    term.prompt()
    assert "\nafter-interrupt\n" in term.run("echo after-interrupt")
    assert "Traceback" not in term.transcript


def test_ctrl_c_cancels_a_streaming_reply_and_the_session_goes_on(start: Launch) -> None:
    reply = streamed(text("word " * 40), pieces=40, chunk_delay=0.5)
    with ChatServer([reply, text("second answer")]) as server:
        term = start(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url)
        term.child.sendline("talk slowly")
        term.expect("word word")
        started = time.monotonic()
        term.child.sendintr()
        term.expect("Interrupted; the conversation is kept.")
        term.prompt()
        assert time.monotonic() - started < 10  # the whole stream would take 20 s
        assert "second answer" in term.run("again")
    assert "Traceback" not in term.transcript


def test_a_second_ctrl_c_stops_a_request_that_sends_nothing(start: Launch) -> None:
    with ChatServer([slow(text("too late"), 60)]) as server:
        term = start(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url)
        term.child.sendline("hang")
        term.expect("thinking")
        time.sleep(1)  # the request is under way; nothing on screen shows that
        started = time.monotonic()
        term.child.sendintr()
        time.sleep(0.5)
        term.child.sendintr()
        term.expect("Interrupted; the conversation is kept.")
        term.prompt()
        assert time.monotonic() - started < 10
        assert "\nstill-here\n" in term.run("/cmd echo still-here")  # the server is busy
    assert "Traceback" not in term.transcript


def test_the_model_can_ask_a_question_and_the_next_line_answers_it(start: Launch) -> None:
    replies = [tool_call("ask_user", {"question": "Which **file**, a.py or b.py?"}),
               text("Editing b.py then.")]
    with ChatServer(replies) as server:
        term = start(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url)
        out = term.run("fix the bug")
        assert "Which file, a.py or b.py?" in out and "ask_user" not in out
        assert "Editing b.py then." in term.run("b.py")
        sent = server.requests[1]["messages"]
    assert [m["role"] for m in sent[-3:]] == ["assistant", "tool", "user"]
    assert sent[-1]["content"] == "b.py"


def test_ctrl_c_at_the_prompt_clears_the_line(start: Launch) -> None:
    term = start()
    term.child.send("echo never-run")
    term.expect("never-run")
    term.child.sendintr()
    term.prompt()
    assert "\nok\n" in term.run("echo ok")
    assert "$ echo never-run" not in term.transcript


def test_ctrl_d_leaves_and_removes_an_empty_temporary_workspace_quietly(start: Launch) -> None:
    term = start()
    workspace = workspace_of(term)
    term.child.sendeof()
    assert term.wait_exit() == 0
    assert not workspace.exists()
    assert "Keep the workspace" not in term.transcript and "Kept" not in term.transcript


def test_a_failing_api_is_one_clear_line_and_the_session_goes_on(start: Launch) -> None:
    with ChatServer(default=error(500, "boom", kind="server_error")) as server:
        term = start(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url,
                     PYGENT_MAX_RETRIES="0")
        out = term.run("hello")
    assert "Error: the server failed (500: boom)" in out
    assert "Traceback" not in term.transcript
    assert "\nstill-here\n" in term.run("/cmd echo still-here")


def test_a_model_calls_tools_until_it_answers_in_markdown(start: Launch) -> None:
    replies = [tool_call("bash", {"cmd": "echo from-the-model"}), text("**Done**: it printed.")]
    with ChatServer(replies) as server:
        term = start(OPENAI_API_KEY="test-key",
                     OPENAI_BASE_URL=server.url)
        assert "model: gpt-4.1-mini" in term.transcript
        out = term.run("print something")
    assert "$ echo from-the-model\nfrom-the-model\n" in out
    assert "Done: it printed." in out


def test_confirm_asks_before_each_bash_command(start: Launch) -> None:
    term = start("--confirm")
    term.child.sendline("echo allowed-run")
    term.expect("Run `echo allowed-run`? [y/N]")
    term.child.sendline("y")
    assert "\nallowed-run\n" in term.prompt()
    term.child.sendline("echo refused-run")
    term.expect("Run `echo refused-run`? [y/N]")
    term.child.sendline("n")
    assert "the user declined" in term.prompt()
    assert "Confirmation is off" in term.run("/confirm off")
    assert "\nfree-run\n" in term.run("echo free-run")


def test_deny_rules_refuse_a_command_without_running_it(start: Launch, tmp_path: Path) -> None:
    config = tmp_path / "rules.toml"
    config.write_text('deny = ["touch"]\n')
    term = start("--config", str(config))
    assert "deny rule 'touch'" in term.run("echo a && touch made.txt")
    assert "made.txt" not in term.run("/cmd ls")


# -- one-shot mode --------------------------------------------------------------------------


def pygent(home: Path, *args: str, cwd: Optional[Path] = None,
           **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pygent", *args], env=cli_env(home, **env),
                          cwd=str(cwd or home), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_run_prints_the_last_output_and_exits_zero(home: Path) -> None:
    done = pygent(home, "run", "--no-docker", "echo one-shot")
    assert (done.returncode, done.stdout) == (0, "one-shot\n")
    assert "$ echo one-shot" in done.stderr


def test_run_keeps_a_workspace_with_files_and_prints_where_on_stderr(home: Path) -> None:
    done = pygent(home, "run", "--no-docker", "echo made > made.txt && echo done")
    assert (done.returncode, done.stdout) == (0, "done\n")
    match = re.search(r"Kept the workspace (\S+) \(1 file\)\. --keep-workspace never",
                      done.stderr)
    assert match, done.stderr
    assert (Path(match.group(1)) / "made.txt").read_text() == "made\n"
    gone = pygent(home, "run", "--keep-workspace", "never", "echo made > made.txt")
    assert gone.returncode == 0 and "Removed the temporary workspace" in gone.stderr
    nothing = pygent(home, "run", "echo nothing made")
    assert "workspace" not in nothing.stderr.lower()


def test_dash_p_runs_a_task_too(home: Path) -> None:
    done = pygent(home, "-p", "printf 'a\\nb\\n'")
    assert (done.returncode, done.stdout) == (0, "a\nb\n")


def test_run_prints_the_result_the_model_stops_with(home: Path) -> None:
    replies = [tool_call("bash", {"cmd": "echo working"}),
               tool_call("stop", {"result": "All done."})]
    with ChatServer(replies) as server:
        done = pygent(home, "run", "do it", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
    assert (done.returncode, done.stdout) == (0, "All done.\n")


def test_run_answers_text_replies_and_ends_after_three_in_a_row(home: Path) -> None:
    replies = [text("I will list the files."), tool_call("bash", {"cmd": "echo working"}),
               text("Plan: look."), text("Plan: look again."), text("Plan: still looking.")]
    with ChatServer(replies) as server:
        done = pygent(home, "run", "do it", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
        nudged = server.requests[1]["messages"][-1]
    assert done.returncode == 3
    assert "3 replies in a row without an action" in done.stderr
    assert nudged["role"] == "user" and "stop" in nudged["content"]


def test_run_with_ask_user_on_prints_the_question_and_exits_four(home: Path) -> None:
    replies = [tool_call("ask_user", {"question": "Which branch?"})]
    with ChatServer(replies) as server:
        done = pygent(home, "run", "deploy", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url,
                      PYGENT_ASK_USER="1")
        offered = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert (done.returncode, done.stdout) == (4, "Which branch?\n")
    assert "ask_user" in offered


def test_run_without_the_setting_offers_no_ask_user_tool(home: Path) -> None:
    with ChatServer([tool_call("stop", {"result": "ok"})]) as server:
        done = pygent(home, "run", "x", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
        offered = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert done.returncode == 0 and "ask_user" not in offered
    assert offered[:3] == ["bash", "write_file", "stop"]


def test_run_with_a_rejected_api_key_fails_with_one_line(home: Path) -> None:
    with ChatServer(default=error(401, "bad key", kind="invalid_api_key")) as server:
        done = pygent(home, "run", "do it", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "Error: the server refused the API key (401: bad key); check OPENAI_API_KEY"]


def test_run_that_reaches_the_step_limit_fails(home: Path) -> None:
    done = pygent(home, "run", "--max-steps", "1", "echo x")
    assert done.returncode == 3
    assert "step limit of 1" in done.stderr


def test_bad_usage_and_bad_settings_are_one_line_each(home: Path) -> None:
    usage = pygent(home, "--max-steps", "0")
    assert usage.returncode == 2 and "--max-steps" in usage.stderr
    missing = pygent(home, "run", "--config", str(home / "absent.toml"), "ls")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"Error: config file {home / 'absent.toml'} does not exist"]


def test_version_prints_the_version(home: Path) -> None:
    import pygent as package

    done = pygent(home, "--version")
    assert (done.returncode, done.stdout) == (0, f"pygent {package.__version__}\n")


@pytest.mark.parametrize(("command", "flag"), [("cli", "--help"), ("cli", "--version"),
                                               ("web", "--help")])  # pygent, pygent-ui
def test_help_and_version_import_no_heavy_package(home: Path, command: str, flag: str) -> None:
    heavy = ("openai", "docker", "streamlit", "prompt_toolkit", "dependency_injector",
             "xllamacpp")
    code = (
        f"import sys\nfrom pygent.entrypoints.{command} import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(home), capture_output=True,
                          text=True, timeout=60)
    assert done.stderr.strip() == "[]"
