"""The ``pygent-ui`` page: the chat, each tool call, and a sidebar; one WebSession per tab.

Streamlit reruns this on every click: the container is set up once per server
(``st.cache_resource``) and the session once per browser tab (``st.session_state``).
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path, PurePath
from typing import Any, Callable, Literal, Optional, Union

import streamlit as st

from ..app.web_session import WebSession
from ..app.web_transcript import Entry, explain
from .web import CONFIG_VAR
from .web_files import read_workspace_file, workspace_files

SESSION_KEY = "pygent_session"
POLL_SECONDS = 0.5
DEFERRED_DOWNLOADS = tuple(int(p) for p in st.__version__.split(".")[:2]) >= (1, 52)
EAGER_DOWNLOAD_LIMIT = 5 * 1024 * 1024


@st.cache_resource(show_spinner=False)
def configure_server() -> bool:
    """Once per server: read the ``--config`` file the launcher passed, if any."""
    config = os.environ.get(CONFIG_VAR)
    if config:
        from dependency_injector import providers

        from ..app.settings import load_settings
        from ..container import container

        container.settings.override(providers.Singleton(load_settings, config))
    return True


def open_session() -> Optional[WebSession]:
    """This tab's session, created on its first run; None (with the reason shown) if it fails."""
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, WebSession) and not session.ended:
        return session
    if isinstance(session, WebSession):
        st.info("This session has ended and its sandbox was cleaned up.")
        st.button("Start a new session", on_click=st.session_state.pop, args=(SESSION_KEY,))
        return None
    from ..agent import Agent

    try:
        agent = Agent()
    except Exception as exc:  # no engine, a bad setting, an unreachable model: say so
        failure = explain(exc)
        st.error(f"{failure.text}\n\n{failure.hint}")
        st.button("Try again")
        return None
    settings = agent.settings
    session = WebSession(agent, max_steps=settings.max_steps, confirm=settings.confirm)
    st.session_state[SESSION_KEY] = session
    return session


def render_page() -> None:
    """The whole page, top to bottom."""
    st.set_page_config(page_title="Pygent", page_icon=":material/smart_toy:", layout="wide")
    configure_server()
    session = open_session()
    if session is None:
        return
    prompt = st.chat_input("A task, a shell command, a tool call, or /help",
                           disabled=session.busy or session.ended)
    if prompt and session.submit(prompt):
        st.rerun()  # draw the page in its running state: input off, Stop on
    render_sidebar(session)
    agent = session.agent
    st.caption(f"**{agent.persona.name}** · sandbox: **{sandbox_label(agent.runtime)}** · "
               f"workspace `{agent.runtime.workspace}`")
    render_conversation(session)


def sandbox_label(runtime: Any) -> str:
    """``Docker`` or ``local``, the words the CLI banner uses."""
    return {"docker": "Docker", "local": "local"}.get(runtime.kind, str(runtime.kind))


def model_label(agent: Any) -> str:
    """The model adapter, and the model name when it goes to a server."""
    inner = getattr(agent.model, "model", agent.model)
    adapter = type(inner).__name__
    return f"`{agent.model_name}` via {adapter}" if adapter == "OpenAIModel" else f"{adapter}"


# -- the sidebar --------------------------------------------------------------------------------
def render_sidebar(session: WebSession) -> None:
    """Who, where, which tools, and the workspace's files."""
    agent, busy = session.agent, session.busy
    with st.sidebar:
        st.header(agent.persona.name)
        st.caption(agent.persona.description)
        st.markdown(f"**Sandbox:** {sandbox_label(agent.runtime)}  \n"
                    f"**Model:** {model_label(agent)}  \n"
                    f"**Workspace:** `{agent.runtime.workspace}`")
        st.button("New conversation", on_click=session.new_conversation, disabled=busy,
                  icon=":material/restart_alt:", help="Like /new: the files stay.")
        st.subheader("Tools")
        for spec in session.all_tools:
            enabled = st.toggle(spec.name, value=spec.name in agent.tools, key=f"tool:{spec.name}",
                                help=spec.description, disabled=busy)
            session.set_tool_enabled(spec.name, enabled)
        render_upload(session)
        render_files(Path(agent.runtime.workspace))


def render_upload(session: WebSession) -> None:
    """Put files into the workspace, like ``/cp``."""
    st.subheader("Upload")
    with st.form("upload", clear_on_submit=True, border=False):
        files = st.file_uploader("Files to put in the workspace", accept_multiple_files=True)
        dest = st.text_input("Save as (optional)", placeholder="path inside the workspace",
                             help="End it with / to name a folder.")
        submitted = st.form_submit_button("Save to workspace", icon=":material/save:")
    if not submitted:
        return
    if not files:
        st.warning("Choose a file first.")
    for upload in files or []:
        target = dest if len(files) == 1 or not dest or dest.endswith("/") else dest + "/"
        try:
            shown = session.upload(upload.name, upload.getvalue(), target)
        except Exception as exc:
            failure = explain(exc)
            st.error(f"{upload.name}: {failure.text}\n\n{failure.hint}")
        else:
            st.success(f"Saved {shown}")


def render_files(root: Path) -> None:
    """Every file of the workspace with a download button."""
    st.subheader("Workspace files")
    try:
        files, cut = workspace_files(root)
    except OSError as exc:
        st.error(f"Cannot list the workspace: {exc}")
        return
    if not files:
        st.caption("No files yet.")
    for relative in files:
        data = download_data(root, relative)
        if data is None:
            st.caption(f"{relative} (too large to offer here)")
            continue
        st.download_button(relative, data=data, file_name=PurePath(relative).name,
                           key=f"download:{relative}", icon=":material/download:")
    if cut:
        st.caption(f"Only the first {len(files)} files are listed.")


def download_data(root: Path, relative: str) -> Union[bytes, Callable[[], bytes], None]:
    """Read on click where Streamlit can, else now (small files only)."""
    if DEFERRED_DOWNLOADS:
        return partial(read_workspace_file, root, relative)
    try:
        if (root / relative).stat().st_size > EAGER_DOWNLOAD_LIMIT:
            return None
        return read_workspace_file(root, relative)
    except OSError:
        return None


# -- the conversation ---------------------------------------------------------------------------
def render_conversation(session: WebSession) -> None:
    """The transcript; while a step runs it refreshes itself and offers Stop."""
    running = session.busy

    @st.fragment(run_every=POLL_SECONDS if running else None)
    def live() -> None:
        render_entries(session.transcript.snapshot())
        if session.busy:
            render_running(session)
        elif running:
            st.rerun()  # the step ended: refresh the input box and the file list

    live()


def render_running(session: WebSession) -> None:
    """What a running step shows: a pending confirmation, and the Stop button."""
    question = session.confirm.pending
    if question is not None:
        st.warning("Run this command?")
        st.code(question, language="bash")
        allow, deny = st.columns(2)
        allow.button("Allow", on_click=session.confirm.answer, args=(True,), key="allow")
        deny.button("Deny", on_click=session.confirm.answer, args=(False,), key="deny")
    elif session.switch.pressed.is_set():
        st.caption("Stopping...")
    else:
        st.caption("Working...")
    st.button("Stop", on_click=session.stop, key="stop", type="primary",
              icon=":material/stop_circle:", help="Ends the step, like Ctrl-C in the CLI.")


def render_entries(entries: list[Entry]) -> None:
    """User turns on one side; the agent's text, tool calls and notices grouped on the other."""
    last_user = max((i for i, e in enumerate(entries) if e.kind in ("user", "command")),
                    default=-1)
    group: list[tuple[int, Entry]] = []
    for index, entry in enumerate([*entries, Entry("end")]):
        if entry.kind in ("user", "command", "end"):
            if group:
                with st.chat_message("assistant"):
                    for i, item in group:
                        render_agent_entry(item, expanded=i > last_user)
                group = []
            if entry.kind == "user":
                with st.chat_message("user"):
                    st.markdown(entry.text)
            elif entry.kind == "command":
                render_command(entry)
        else:
            group.append((index, entry))


def render_command(entry: Entry) -> None:
    """A slash command and what it printed."""
    with st.chat_message("user"):
        st.code(entry.text, language=None)
    with st.chat_message("assistant", avatar=":material/terminal:"):
        if not entry.done:
            st.caption("Running...")
        elif entry.is_error:
            st.error(entry.output)
        else:
            st.code(entry.output or "(no output)", language=None)


def render_agent_entry(entry: Entry, expanded: bool) -> None:
    """One piece of the agent's turn."""
    if entry.kind == "assistant":
        st.markdown(entry.text)
    elif entry.kind == "tool":
        render_tool(entry, expanded)
    elif entry.kind == "error":
        st.error(f"{entry.text}\n\n{entry.hint}")
    else:
        st.info(entry.text)


def render_tool(entry: Entry, expanded: bool) -> None:
    """A tool call as a collapsible status block: name, arguments, output, error flag."""
    arguments = pretty_arguments(entry.arguments)
    state: Literal["running", "complete", "error"] = (
        "running" if not entry.done else "error" if entry.is_error else "complete")
    label = f"{entry.name} {call_preview(entry.arguments)}".strip()
    with st.status(label + (" · failed" if entry.is_error else ""), state=state,
                   expanded=expanded):
        st.caption("Arguments")
        st.code(arguments, language="json")
        st.caption("Output" if entry.done else "Running...")
        if entry.done:
            st.code(entry.output or "(no output)", language=None)


def pretty_arguments(raw: str) -> str:
    """Indented JSON when the arguments parse, else as they came."""
    try:
        return json.dumps(json.loads(raw or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


def call_preview(raw: str, width: int = 70) -> str:
    """A one-line hint of the arguments for the block's title."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        value = raw
    if isinstance(value, dict):
        text = " ".join(str(v) if k in ("cmd", "path") else f"{k}={v}" for k, v in value.items()
                        if k in ("cmd", "path") or len(value) == 1)
    else:
        text = str(value)
    line = text.strip().splitlines()[0] if text.strip() else ""
    return f"· {line[:width]}{'...' if len(line) > width else ''}" if line else ""
