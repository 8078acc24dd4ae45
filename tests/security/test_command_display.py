"""What the terminal shows is what runs: control characters in a command or its output are
shown escaped, never acted on by the terminal (issue 11, item 6)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pexpect
import pytest

from pygent.app.agent import AgentLoop
from pygent.app.approval import Approval
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.domain.events import AssistantDelta, AssistantText, Notice, ToolCallStarted, ToolOutput
from pygent.entrypoints.cli import terminal_ask
from pygent.entrypoints.cli_render import BLUE, BOLD, Renderer, describe_call
from pygent.runtime import Runtime
from tests.chat_server import ChatServer, text, tool_call
from tests.e2e.test_cli import Terminal, cli_env
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

SPOOF = "touch pwned\r\x1b[2Kls -la"  # on a raw terminal this line reads "ls -la"
HOSTILE_OUTPUT = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b[H\x1b[10Aok"  # clipboard, clear, move


def renderer(color: bool = False) -> tuple[Renderer, io.StringIO]:
    out = io.StringIO()
    return Renderer(out=out, err=out, color=color, spinner=False, stream_text=True), out


def test_the_confirm_prompt_shows_a_carriage_return_and_ansi_codes_escaped(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    render, out = renderer()
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert terminal_ask(render)(SPOOF) is False
    shown = out.getvalue()
    assert "\r" not in shown and "\x1b" not in shown
    assert "Run `touch pwned\\r\\x1b[2Kls -la`?" in shown
    assert "contains control characters, shown escaped" in shown


def test_the_confirm_prompt_escapes_invisible_formatting_characters(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    render, out = renderer()
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert terminal_ask(render)("echo \u202egnp.exe\u200b") is True
    assert "echo \\u202egnp.exe\\u200b" in out.getvalue()


def test_a_plain_command_is_asked_about_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    render, out = renderer()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no answer means no
    assert terminal_ask(render)("ls -la") is False
    assert out.getvalue() == "Run `ls -la`? [y/N] "


def test_what_is_approved_is_exactly_what_runs(workspace: Path) -> None:
    asked: list[str] = []
    approval = Approval(confirm=True, ask=lambda command: asked.append(command) or True)
    sandbox = FakeSandbox(workspace)
    model = FakeModel([calls(call("bash", {"cmd": SPOOF})), say("done")])
    agent = AgentLoop(model, Runtime(sandbox=sandbox), tools=ToolRegistry(builtin_tools()),
                      guard=approval)
    agent.run_until_stop("go")
    assert asked == [SPOOF] and sandbox.commands == [SPOOF]


def test_the_command_line_shows_hidden_characters_escaped() -> None:
    assert describe_call("bash", '{"cmd": "touch pwned\\r\\u001b[2Kls -la"}') == (
        "$ touch pwned\\r\\x1b[2Kls -la")
    assert describe_call("bash\x1b[8m", "not json \x1b[2J") == "bash\\x1b[8m not json \\x1b[2J"
    assert describe_call("bash", '{"cmd": "printf a\\nb"}') == "$ printf a\nb"


def test_command_output_cannot_send_escape_sequences_to_the_terminal() -> None:
    render, out = renderer(color=True)
    render.event(ToolCallStarted("1", "bash", '{"cmd": "cat notes"}'))
    render.event(ToolOutput("1", "bash", f"line one\tcol\r\n{HOSTILE_OUTPUT}\n"))
    shown = out.getvalue()
    assert f"{BOLD}{BLUE}$ cat notes" in shown  # the renderer's own colours stay
    assert "\x1b]" not in shown and "\x1b[2J" not in shown and "\x07" not in shown
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J\\x1b[H\\x1b[10Aok" in shown
    assert "line one\tcol\n" in shown  # tabs and line ends are kept


def test_the_models_text_cannot_send_escape_sequences_either() -> None:
    render, out = renderer()
    render.event(AssistantDelta("Hi \x1b]52;c;cGF5bG9hZA==\x07the"))
    render.event(AssistantDelta("re\n"))
    render.event(AssistantText("Hi \x1b]52;c;cGF5bG9hZA==\x07there\n"))
    render.event(Notice("note \x1b[2J"))
    render.error("bad \x1b[2J")
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "Hi \\x1b]52;c;cGF5bG9hZA==\\x07there\n" in shown


def test_whole_text_without_streaming_is_escaped_too() -> None:
    out = io.StringIO()
    render = Renderer(out=out, err=out, color=False, spinner=False, stream_text=False)
    render.event(AssistantText("a\x1b[2Jb"))
    assert out.getvalue() == "a\\x1b[2Jb\n"


@pytest.mark.parametrize("answer", ["n", "y"])
def test_pygent_confirm_in_a_terminal_shows_the_spoofed_command_escaped(
    tmp_path: Path, answer: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    replies = [tool_call("bash", {"cmd": "touch pwned\r\x1b[2Kecho hi"}), text("Finished.")]
    with ChatServer(replies) as server:
        child = pexpect.spawn(sys.executable, ["-m", "pygent", "--no-docker", "--confirm"],
                              env=cli_env(home, OPENAI_API_KEY="test-key",
                                          OPENAI_BASE_URL=server.url),
                              cwd=str(tmp_path), encoding="utf-8", dimensions=(40, 120))
        term = Terminal(child)
        try:
            term.prompt()
            child.sendline("go")
            term.expect("$ touch pwned\\r\\x1b[2Kecho hi")
            term.expect("Run `touch pwned\\r\\x1b[2Kecho hi`? "
                        "(contains control characters, shown escaped) [y/N]")
            child.sendline(answer)
            term.expect("Finished.")
            term.prompt()
        finally:
            child.terminate(force=True)
    assert "\x1b[2Kecho" not in term.raw
