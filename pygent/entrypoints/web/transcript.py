"""What the web page shows: the agent's events turned into entries a worker thread appends to."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Optional

from ...app.registry import STOP_TOOL, STOPPING
from ...domain.errors import ConfigError, ModelError, PathEscapeError, SandboxError
from ...domain.events import (
    AssistantDelta,
    AssistantText,
    Event,
    Notice,
    ToolCallStarted,
    ToolOutput,
)
from ...domain.messages import Message


@dataclass
class Entry:
    """One block of the page: user, assistant, tool, command, notice, task or error."""

    kind: str
    text: str = ""
    name: str = ""
    arguments: str = ""
    output: str = ""
    is_error: bool = False
    done: bool = True
    call_id: str = ""
    hint: str = ""


class Transcript:
    """Entries in order; the agent's worker thread writes, the page reads snapshots."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = list(entries)

    def add(self, entry: Entry) -> None:
        """Append one entry."""
        with self._lock:
            self._entries.append(entry)

    def add_aside(self, entry: Entry) -> None:
        """Append an entry from another thread (a task that ended) without cutting a stream.

        Text still streaming stays last, so the deltas after it still join it.
        """
        with self._lock:
            streaming = self._streaming()
            at = len(self._entries) - (streaming is not None)
            self._entries.insert(at, entry)

    def update(self, entry: Entry, **changes: object) -> None:
        """Change fields of an entry already added (a command that has finished)."""
        with self._lock:
            for name, value in changes.items():
                setattr(entry, name, value)

    def clear(self) -> None:
        """Forget every entry (a new conversation)."""
        with self._lock:
            self._entries.clear()

    def snapshot(self) -> list[Entry]:
        """Copies of the entries, so the page never sees one half-updated."""
        with self._lock:
            return [replace(entry) for entry in self._entries]

    def __call__(self, event: Event) -> None:
        """An agent event listener: record what the agent just did."""
        if isinstance(event, AssistantDelta):
            with self._lock:
                streaming = self._streaming()
                if streaming is not None:
                    streaming.text += event.text
                    return
            self.add(Entry("assistant", event.text, done=False))
            return
        with self._lock:  # the full text replaces what streamed; other events end a stream
            streaming = self._streaming()
            if streaming is not None:
                self._entries.remove(streaming)
        if isinstance(event, AssistantText):
            self.add(Entry("assistant", event.text))
        elif isinstance(event, ToolCallStarted):
            self.add(Entry("tool", name=event.name, arguments=event.arguments, done=False,
                           call_id=event.call_id))
        elif isinstance(event, ToolOutput) and event.name == STOP_TOOL \
                and event.output == STOPPING:  # a bare stop says nothing to the person
            with self._lock:
                self._entries = [e for e in self._entries
                                 if not (e.kind == "tool" and e.call_id == event.call_id)]
        elif isinstance(event, ToolOutput):
            with self._lock:
                for entry in reversed(self._entries):
                    if entry.kind == "tool" and entry.call_id == event.call_id and not entry.done:
                        entry.output, entry.is_error, entry.done = (
                            event.output, event.is_error, True)
                        return
            self.add(Entry("tool", name=event.name, output=event.output,
                           is_error=event.is_error, call_id=event.call_id))
        elif isinstance(event, Notice):
            self.add(Entry("notice", event.text))


    def _streaming(self) -> Optional[Entry]:
        last = self._entries[-1] if self._entries else None
        return last if last is not None and last.kind == "assistant" and not last.done else None


def entries_from_conversation(messages: Iterable[Message]) -> list[Entry]:
    """Entries for a conversation resumed from the history log."""
    entries: list[Entry] = []
    pending: dict[str, Entry] = {}
    for message in messages:
        if message.role == "user":
            entries.append(Entry("user", message.content or ""))
        elif message.role == "assistant":
            if message.content:
                entries.append(Entry("assistant", message.content))
            for call in message.tool_calls or []:
                entry = Entry("tool", name=call.function.name,
                              arguments=call.function.arguments, done=False, call_id=call.id)
                pending[call.id] = entry
                entries.append(entry)
        elif message.role == "tool":
            found: Optional[Entry] = pending.pop(message.tool_call_id or "", None)
            if found is not None:
                found.output, found.done = message.content or "", True
    return entries


def explain(exc: BaseException) -> Entry:
    """An error entry that says what went wrong and what the person can do about it."""
    kept = "The conversation is kept."
    if isinstance(exc, ModelError):
        return Entry("error", f"The model request failed: {exc}", is_error=True, hint=(
            "Check OPENAI_API_KEY, OPENAI_BASE_URL and the model name shown in the sidebar, "
            f"then send your message again. {kept}"))
    if isinstance(exc, PathEscapeError):
        return Entry("error", f"Refused: {exc}", is_error=True,
                     hint="Choose a file name or path inside the workspace, without '..'.")
    if isinstance(exc, SandboxError):
        return Entry("error", f"The sandbox failed: {exc}", is_error=True, hint=(
            "If Docker stopped, start it again and reload the page, or restart pygent-ui "
            f"with --no-docker. {kept}"))
    if isinstance(exc, ConfigError):
        return Entry("error", f"Configuration problem: {exc}", is_error=True,
                     hint="Fix the setting named above, then restart pygent-ui.")
    if isinstance(exc, OSError):
        return Entry("error", f"{type(exc).__name__}: {exc}", is_error=True,
                     hint=f"Check the path or the disk, then try again. {kept}")
    return Entry("error", f"Unexpected error: {type(exc).__name__}: {exc}", is_error=True,
                 hint=f"This is a bug in Pygent; please report it. {kept}")
