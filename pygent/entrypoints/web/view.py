"""The ``pygent-ui`` page: the chat, each tool call, and a sidebar; one WebSession per tab.

Streamlit reruns this on every click: the container is set up once per server
(``st.cache_resource``) and the session once per browser tab (``st.session_state``).
"""

from __future__ import annotations

import os
import threading
import time
from functools import partial
from pathlib import Path, PurePath
from typing import Any, Callable, Optional, Union

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ...app.commands import instructions_line
from ...app.task_report import HOW_TO_DELEGATE, duration, one_line, workspace_text
from ...app.tasks import Task
from ...domain.errors import SandboxError
from . import CONFIG_VAR
from .chat import render_conversation
from .files import read_workspace_file, workspace_files
from .safe_markdown import literal
from .session import WebSession, sweep_sessions
from .transcript import explain

SESSION_KEY = "pygent_session"
DEFERRED_DOWNLOADS = tuple(int(p) for p in st.__version__.split(".")[:2]) >= (1, 52)
EAGER_DOWNLOAD_LIMIT = 5 * 1024 * 1024
TASK_POLL_SECONDS = 1.0


@st.cache_resource(show_spinner=False)
def configure_server() -> bool:
    """Once per server: start reaping closed tabs."""
    from streamlit import runtime

    if runtime.exists():  # a real server, not AppTest
        try:  # how long Streamlit keeps a closed tab's state for a reconnect
            ttl = float(st.get_option("server.disconnectedSessionTTL"))
        except RuntimeError:  # older Streamlit ends a session when its tab disconnects
            ttl = 0.0
        threading.Thread(target=reap_sessions, args=(runtime.get_instance().is_active_session, ttl),
                         daemon=True, name="pygent-web-reaper").start()
    return True


def reap_sessions(is_connected: Callable[[str], bool], ttl: float) -> None:
    """Release the sandboxes of tabs that closed and did not come back within ``ttl``."""
    while True:
        time.sleep(max(1.0, min(30.0, ttl / 4)))
        sweep_sessions(is_connected, ttl)


def open_session() -> Optional[WebSession]:
    """This tab's session, created on its first run; None (with the reason shown) if it fails."""
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, WebSession) and not session.ended:
        return session
    if isinstance(session, WebSession):
        end = session.workspace_end.describe() if session.workspace_end is not None else ""
        st.info("This session has ended and its sandbox was cleaned up."
                + (f" {literal(end)}" if end else ""))
        st.button("Start a new session", on_click=st.session_state.pop, args=(SESSION_KEY,))
        return None
    from ...agent import Agent
    from ...app.settings import load_settings

    try:
        settings = load_settings(os.environ.get(CONFIG_VAR))
        if settings.ask_user is None:  # a person is there to answer
            settings = settings.with_overrides(ask_user=True)
        agent = Agent(settings=settings)
    except Exception as exc:  # no engine, a bad setting, an unreachable model: say so
        failure = explain(exc)
        st.error(f"{failure.text}\n\n{failure.hint}")
        st.button("Try again")
        return None
    context = get_script_run_ctx()  # the agent brings its settings' limits and confirm
    session = WebSession(agent, key=context.session_id if context is not None else "")
    st.session_state[SESSION_KEY] = session
    return session


def render_page() -> None:
    """The whole page, top to bottom."""
    # No page_icon: Streamlit fetches material and emoji icons from Google or a CDN, and the
    # page's image policy allows only its own server; its default icon is served from there.
    st.set_page_config(page_title="Pygent", layout="wide")
    configure_server()
    session = open_session()
    if session is None:
        return
    busy = session.busy  # read once: the input box and the polling must agree
    prompt = st.chat_input("A task, a shell command, a tool call, or /help", disabled=busy)
    if prompt and session.submit(prompt):
        st.rerun()  # draw the page in its running state: input off, Stop on
    render_sidebar(session, busy)
    agent = session.agent
    st.caption(f"**{agent.persona.name}** · sandbox: **{sandbox_label(agent.runtime)}** · "
               f"workspace `{agent.runtime.workspace}`"
               + workspace_note(agent.runtime, session.keep_policy))
    render_conversation(session, busy)


def workspace_note(runtime: Any, policy: str = "ask") -> str:
    """`` · read-only`` (for commands too, or the file tools only), or what leaving does with
    a temporary workspace (``policy`` is ``keep_workspace``)."""
    if getattr(runtime, "read_only", False):
        unconfined = sandbox_label(runtime) == "local (unconfined)"
        return " · **read-only**" + (" for the file tools only: local commands are not "
                                     "confined and can still change files" if unconfined else "")
    if getattr(runtime, "temporary", False) and policy != "never":
        return (" (temporary: kept when the session ends if it holds files; /exit discard "
                "removes it)")
    return ""


def sandbox_label(runtime: Any) -> str:
    """The runtime's own ``label`` ("local (confined)"), else ``Docker`` or ``local``."""
    label = getattr(runtime, "label", None)
    if isinstance(label, str) and label:
        return label
    return {"docker": "Docker", "local": "local"}.get(runtime.kind, str(runtime.kind))


def model_label(agent: Any) -> str:
    """The model adapter, and the model name when it goes to a server."""
    adapter = type(agent.model).__name__
    return f"`{agent.model_name}` via {adapter}" if adapter == "OpenAIModel" else f"{adapter}"


# -- the sidebar --------------------------------------------------------------------------------
def render_sidebar(session: WebSession, busy: bool) -> None:
    """Who, where, which tools, the delegated tasks, and the workspace's files."""
    agent = session.agent
    with st.sidebar:
        st.header(agent.persona.name)
        st.caption(agent.persona.description)
        instructions = instructions_line(agent).partition(": ")[2]
        st.markdown(f"**Sandbox:** {sandbox_label(agent.runtime)}  \n"
                    f"**Model:** {model_label(agent)}  \n"
                    f"**Workspace:** `{agent.runtime.workspace}`"
                    + (f"  \n**Instructions:** {literal(instructions)}" if instructions else ""))
        st.button("New conversation", on_click=session.new_conversation, disabled=busy,
                  help="Like /new: the files stay.")
        st.subheader("Tools")
        for spec in session.all_tools:
            enabled = st.toggle(spec.name, value=spec.name in agent.tools, key=f"tool:{spec.name}",
                                help=spec.description, disabled=busy)
            session.set_tool_enabled(spec.name, enabled)
        render_tasks(session)
        render_changes(session, busy)
        render_upload(session)
        render_files(Path(agent.runtime.workspace))


def render_changes(session: WebSession, busy: bool) -> None:
    """Undo and redo the agent's steps, see what it changed: /undo, /redo and /diff as buttons.

    A restore that would overwrite files changed since the step asks first, as the REPL does.
    """
    st.subheader("Changes")
    checkpoints = session.checkpoints
    if not checkpoints.enabled:
        st.caption(literal(f"Undo is off: {checkpoints.reason}."))
        return
    done, undone = len(checkpoints.done), len(checkpoints.undone)
    st.caption(f"{done} step{'s' * (done != 1)} to undo, {undone} to redo.")
    chat = st.checkbox("Rewind the conversation too", key="undo-chat", disabled=busy,
                       help="Like /undo --chat: the step's messages go, and come back on redo.")
    flag = " --chat" if chat else ""
    left, middle, right = st.columns(3)
    left.button("Undo", disabled=busy or not done, on_click=session.press,
                args=(f"/undo{flag}",), help="Like /undo: the last step's files as before it.")
    middle.button("Redo", disabled=busy or not undone, on_click=session.press,
                  args=(f"/redo{flag}",), help="Like /redo: the step undone last, again.")
    right.button("Diff", disabled=busy, on_click=session.press, args=("/diff",),
                 help="Like /diff: what the agent changed this session.")
    if session.retry and not busy:
        st.warning(literal("Files changed since that step would be overwritten."))
        keep, overwrite = st.columns(2)
        keep.button("Keep mine", on_click=session.keep_mine)
        overwrite.button("Overwrite", on_click=session.overwrite,
                         help=literal(f"Runs {session.retry}"))


def render_tasks(session: WebSession) -> None:
    """Each delegated task and its status, refreshed while one runs.

    Once the last one ends, the whole page reruns so the conversation shows its
    ``task-1 finished`` line. A task's prompt and status are drawn as they are, not as Markdown.
    """
    st.subheader("Tasks")
    drawn_running = any(task.running for task in session.task_list())

    @st.fragment(run_every=TASK_POLL_SECONDS if drawn_running else None)
    def task_list() -> None:
        tasks = session.task_list()
        if not tasks:
            st.caption(literal(f"None yet. {HOW_TO_DELEGATE}."))
        for task in tasks:
            render_task(session, task)
        if drawn_running and not any(task.running for task in tasks):
            st.rerun()

    task_list()


def render_task(session: WebSession, task: Task) -> None:
    """One task: id, status, time and persona; its prompt and workspace below."""
    st.markdown(f"**{literal(task.id)}** · " + literal(
        f"{one_line(task.status, 80)} · {duration(task.seconds)} · "
        f"{one_line(task.persona.name, 40)}"))
    st.caption(literal(f"{one_line(task.prompt, 60)}\n\nworkspace: {workspace_text(task)}"))
    if task.running:
        st.button(f"Stop {task.id}", key=f"stop-task:{task.id}", on_click=session.stop_task,
                  args=(task.id,), help="Ends the task like /tasks stop; its sandbox is released.")


def render_upload(session: WebSession) -> None:
    """Put files into the workspace, like ``/cp``."""
    st.subheader("Upload")
    with st.form("upload", clear_on_submit=True, border=False):
        files = st.file_uploader("Files to put in the workspace", accept_multiple_files=True)
        dest = st.text_input("Save as (optional)", placeholder="path inside the workspace",
                             help="End it with / to name a folder.")
        submitted = st.form_submit_button("Save to workspace")
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
                           key=f"download:{relative}")
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
    except (OSError, SandboxError):  # gone, or turned into a link since it was listed
        return None
