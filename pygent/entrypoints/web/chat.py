"""The conversation part of the page: turns, tool calls as status blocks, Stop while running.

Every command is shown with its control characters made visible, and text that is drawn as
Markdown never fetches an image (see ``safe_markdown``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import streamlit as st

from ...domain.visible import has_hidden, visible
from .safe_markdown import literal, unlink_images
from .session import WebSession
from .transcript import Entry

POLL_SECONDS = 0.5


def render_conversation(session: WebSession, running: bool) -> None:
    """The transcript; while a step runs (``running``) it refreshes itself and offers Stop.

    ``running`` is what the rest of the page was drawn with, so a step that ends during
    this run still brings one full rerun that turns the input box back on.
    """
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
    ticket, question = session.confirm.question()
    if question is not None:
        hidden = has_hidden(question)
        st.warning("Run this command?" + (
            " It contains control or invisible characters, shown here as escapes such as "
            "\\\\r and \\\\x1b." if hidden else ""))
        st.code(visible(question), language="bash")
        allow, deny = st.columns(2)
        allow.button("Allow", on_click=session.confirm.answer, args=(True, ticket),
                     key=f"allow:{ticket}")
        deny.button("Deny", on_click=session.confirm.answer, args=(False, ticket),
                    key=f"deny:{ticket}")
    elif session.confirm.stopped:
        st.caption("Stopping...")
    else:
        st.caption("Working...")
    st.button("Stop", on_click=session.stop, key="stop", type="primary",
              help="Ends the step, like Ctrl-C in the CLI.")


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
                    st.markdown(unlink_images(entry.text))
            elif entry.kind == "command":
                render_command(entry)
        else:
            group.append((index, entry))


def render_command(entry: Entry) -> None:
    """A slash command and what it printed."""
    with st.chat_message("user"):
        st.code(visible(entry.text), language=None)
    with st.chat_message("assistant", avatar=":material/terminal:"):
        if not entry.done:
            st.caption("Running...")
        elif entry.is_error:
            st.error(unlink_images(entry.output))
        else:
            st.code(entry.output or "(no output)", language=None)


def render_agent_entry(entry: Entry, expanded: bool) -> None:
    """One piece of the agent's turn."""
    if entry.kind == "assistant":
        st.markdown(unlink_images(entry.text))
    elif entry.kind == "tool":
        render_tool(entry, expanded)
    elif entry.kind == "error":
        st.error(unlink_images(f"{entry.text}\n\n{entry.hint}"))
    elif entry.kind == "task":  # a task's status: shown as it is, never as Markdown
        st.info(literal(entry.text))
    else:
        st.info(unlink_images(entry.text))


def render_tool(entry: Entry, expanded: bool) -> None:
    """A tool call as a collapsible status block: name, arguments, output, error flag."""
    state: Literal["running", "complete", "error"] = (
        "running" if not entry.done else "error" if entry.is_error else "complete")
    title = f"{visible(entry.name, keep_newlines=False)} {call_preview(entry.arguments)}"
    title = title.strip() + (" · failed" if entry.is_error else "")
    with st.status(literal(title), state=state, expanded=expanded):
        st.caption("Arguments")
        st.code(visible(pretty_arguments(entry.arguments)), language="json")
        st.caption("Output" if entry.done else "Running...")
        if entry.done:
            st.code(entry.output or "(no output)", language=None)


def parse_arguments(raw: str) -> Any:
    """The JSON value of a call's arguments; ``raw`` itself when it is not JSON (or too deep)."""
    try:
        return json.loads(raw or "{}")
    except (ValueError, RecursionError):
        return raw


def pretty_arguments(raw: str) -> str:
    """Indented JSON when the arguments parse, else as they came."""
    value = parse_arguments(raw)
    if value is raw:
        return raw
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return raw


def call_preview(raw: str, width: int = 70) -> str:
    """A one-line hint of the arguments for the block's title, hidden characters made visible."""
    value = parse_arguments(raw)
    try:
        if isinstance(value, dict):
            text = " ".join(str(v) if k in ("cmd", "path") else f"{k}={v}"
                            for k, v in value.items() if k in ("cmd", "path") or len(value) == 1)
        else:
            text = str(value)
    except RecursionError:
        text = raw
    lines = visible(text).strip().split("\n")
    line = lines[0]
    more = len(line) > width or len(lines) > 1
    return f"· {line[:width]}{'...' if more else ''}" if line else ""
