"""The conversation part of the page: turns, tool calls as status blocks, Stop while running."""

from __future__ import annotations

import json
from typing import Literal

import streamlit as st

from ..app.web_session import WebSession
from ..app.web_transcript import Entry

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
