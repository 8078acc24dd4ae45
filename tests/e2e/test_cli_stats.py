"""The CLI's accounting and streaming as a person sees them: totals, --max-tokens, live text."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.chat_server import ChatServer, streamed, text, tool_call
from tests.e2e.test_cli import Terminal, cli_env

TOTAL = re.compile(r"^Total: (\d+) steps?, (.*), \d+\.\d s$", re.MULTILINE)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def pygent(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pygent", *args], env=cli_env(home, **env),
                          cwd=str(home), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_run_prints_the_totals_line_on_stderr_and_only_the_answer_on_stdout(home: Path) -> None:
    replies = [tool_call("bash", {"cmd": "echo working"}, usage=(100, 20)),
               tool_call("stop", {"result": "All done."}, usage=(130, 5))]
    with ChatServer(replies) as server:
        done = pygent(home, "run", "do it", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
    assert (done.returncode, done.stdout) == (0, "All done.\n")
    totals = TOTAL.findall(done.stderr)
    assert totals == [("2", "230 prompt + 25 completion tokens")], done.stderr
    assert server.requests[0]["stream"] is True  # streamed by default, shown only at the end


def test_max_tokens_stops_a_run_with_the_reason_and_exit_status_3(home: Path) -> None:
    with ChatServer(default=tool_call("bash", {"cmd": "echo again"}, usage=(40, 10))) as server:
        done = pygent(home, "run", "--max-tokens", "120", "loop", OPENAI_API_KEY="k",
                      OPENAI_BASE_URL=server.url)
    assert done.returncode == 3
    assert "Stopped: token limit of 120 reached (150 tokens used)." in done.stderr
    assert TOTAL.findall(done.stderr) == [("3", "120 prompt + 30 completion tokens")]
    assert len(server.requests) == 3


def test_the_token_limit_can_come_from_the_environment(home: Path) -> None:
    with ChatServer(default=tool_call("bash", {"cmd": "echo again"}, usage=(40, 10))) as server:
        done = pygent(home, "run", "loop", OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url,
                      PYGENT_MAX_TOKENS="50")
    assert done.returncode == 3
    assert "token limit of 50 reached" in done.stderr


def test_a_bad_token_limit_is_one_line(home: Path) -> None:
    flag = pygent(home, "run", "--max-tokens", "0", "x")
    assert flag.returncode == 2 and "--max-tokens" in flag.stderr
    env = pygent(home, "run", "x", PYGENT_MAX_TOKENS="lots")
    assert env.returncode == 1
    assert env.stderr.strip().splitlines() == [
        "Error: setting max_tokens: invalid literal for int() with base 10: 'lots'"]


@pytest.fixture
def terminal(home: Path, tmp_path: Path) -> Iterator[list[pexpect.spawn]]:
    children: list[pexpect.spawn] = []
    yield children
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def start_repl(children: list[pexpect.spawn], home: Path, **env: str) -> Terminal:
    child = pexpect.spawn(sys.executable, ["-m", "pygent", "--no-docker"],
                          env=cli_env(home, **env), cwd=str(home), encoding="utf-8",
                          dimensions=(40, 120))
    children.append(child)
    term = Terminal(child)
    term.prompt()
    return term


def test_the_repl_shows_streamed_text_as_it_comes_and_the_totals_on_exit(
    home: Path, terminal: list[pexpect.spawn]
) -> None:
    answer = "**Streaming** works: every word arrives in its own piece."
    replies = [streamed(text(answer, usage=(300, 12)), pieces=9, chunk_delay=0.02)]
    with ChatServer(replies) as server:
        term = start_repl(terminal, home, OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
        shown = term.run("talk to me")
        term.child.sendline("/exit")
        assert term.wait_exit() == 0
    # Only the streaming path writes the raw Markdown first, then redraws the ended line.
    assert shown.count(answer) == 1, shown
    assert shown.count("Streaming works: every word arrives in its own piece.") == 1, shown
    assert "Total: 1 step, 300 prompt + 12 completion tokens," in term.transcript


def test_ctrl_d_shows_the_totals_too(home: Path, terminal: list[pexpect.spawn]) -> None:
    term = start_repl(terminal, home)
    term.run("echo counted")
    term.child.sendeof()
    assert term.wait_exit() == 0
    assert re.search(r"Total: \d+ steps?, tokens not reported by the server,", term.transcript)


def test_ctrl_c_stops_a_stream_and_the_next_message_is_answered(
    home: Path, terminal: list[pexpect.spawn]
) -> None:
    endless = streamed(text("tick " * 1000), pieces=1000, chunk_delay=0.05)  # 50 s if read
    with ChatServer([endless, text("Still here.")]) as server:
        term = start_repl(terminal, home, OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
        term.child.sendline("count for me")
        term.expect("tick tick tick")
        term.child.sendintr()
        term.expect("Interrupted; the conversation is kept.")
        term.prompt()
        assert "Still here." in term.run("are you there?")
    assert [m["role"] for m in server.requests[1]["messages"]] == ["system", "user", "user"]
