"""Checkpoints around each step that runs tools: undo a step's file changes, redo them, diff.

Before a step's first tool call and after its last, the workspace is snapshotted (the store
decides how cheaply); a step that changed no file leaves no checkpoint. ``undo`` puts the
files of the last step back as they were before it, ``redo`` reapplies them, and either can
rewind the conversation too. A file changed since the step (by the person, an editor, a
background job) is never overwritten without ``force``: the restore stops first, naming it.
The REPL, the web page and ``Agent.undo()`` all call :func:`undo_step`, :func:`redo_step`
and :meth:`Checkpoints.diff`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

from ..domain.conversation import Conversation
from ..domain.errors import CheckpointConflict, CheckpointError, PygentError
from ..domain.messages import Message
from ..domain.ports import CheckpointStore, HistoryPort
from .checkpoint_words import in_the_way, name_paths, nothing_left, relative, said


@dataclass
class Checkpoint:
    """One step's file changes: the trees before and after it, and where its messages begin."""

    step: int
    label: str
    before: str
    after: str
    paths: tuple[str, ...]
    mark: int  # the conversation's length before the step
    anchor: Optional[Message] = field(default=None, repr=False, compare=False)
    messages: list[Message] = field(default_factory=list, repr=False, compare=False)

    def describe(self) -> str:
        """``step 3 (bash: sed -i ...)``."""
        return f"step {self.step} ({self.label})"


@dataclass
class Restored:
    """What an undo or a redo did, with the line that says so."""

    checkpoint: Checkpoint
    undone: bool
    paths: list[str]
    skipped: list[str]  # files too big to have been kept: left as they are
    messages: int  # messages taken out of (undo) or put back into (redo) the conversation
    text: str


class Checkpoints:
    """The undo and redo stacks of one session, over a store opened at the first step."""

    def __init__(self, open_store: Optional[Callable[[], CheckpointStore]],
                 reason: str = "", workspace: Optional[Path] = None) -> None:
        self._open = open_store
        self.reason = reason or ("" if open_store is not None else "checkpoints are off")
        self.workspace = workspace
        self.store: Optional[CheckpointStore] = None
        self.done: list[Checkpoint] = []
        self.undone: list[Checkpoint] = []
        self.start: Optional[str] = None  # the tree before the session's first step
        self._busy = False
        self._lock = threading.RLock()

    @classmethod
    def off(cls, reason: str) -> Checkpoints:
        """Checkpoints that are not kept; every command says ``reason``."""
        return cls(None, reason)

    @property
    def enabled(self) -> bool:
        """True while steps are checkpointed."""
        return not self.reason

    # -- around a step ---------------------------------------------------------------------------
    @contextmanager
    def step(self, number: int, mark: int, anchor: Optional[Message], label: str,
             warn: Callable[[str], None]) -> Iterator[None]:
        """Snapshot before the block and after it (even when it fails); keep what changed."""
        with self._lock:  # no undo from another thread slips in between
            before = self._snapshot(warn)
            self._busy = True
        try:
            yield
        finally:
            self._busy = False
            after = self._snapshot(warn) if before is not None else None
            if before is not None and after is not None and after != before:
                self._record(number, mark, anchor, label, before, after, warn)

    def _record(self, number: int, mark: int, anchor: Optional[Message], label: str,
                before: str, after: str, warn: Callable[[str], None]) -> None:
        with self._lock:
            try:
                assert self.store is not None
                paths = tuple(self.store.changed(before, after))
            except (PygentError, OSError, ValueError) as exc:
                self._turn_off(str(exc), warn)
                return
            self.done.append(Checkpoint(number, label, before, after, paths, mark, anchor))
            self.undone.clear()

    def _snapshot(self, warn: Callable[[str], None],
                  recheck: Sequence[str] = ()) -> Optional[str]:
        """The workspace's tree now, or None (checkpoints switch off, saying why once)."""
        if self.reason:
            return None
        with self._lock:
            try:
                if self.store is None:
                    assert self._open is not None
                    self.store = self._open()
                tree = self.store.snapshot(recheck)
            except (PygentError, OSError, ValueError) as exc:
                self._turn_off(str(exc), warn)
                return None
            if self.start is None:
                self.start = tree
            return tree

    def _turn_off(self, why: str, warn: Callable[[str], None]) -> None:
        self.reason = f"checkpoints stopped: {why}"
        warn(f"Checkpoints are off from now on ({why}); /undo cannot take back later steps.")

    # -- undo, redo, diff ------------------------------------------------------------------------
    def _usable(self) -> CheckpointStore:
        if self.store is None or (self.reason and not self.done and not self.undone):
            raise CheckpointError(f"No checkpoints: {self.reason}." if self.reason else
                                  "Nothing to undo: no step has changed a file yet.")
        if self._busy:
            raise CheckpointError("A step is running; wait for it to end (or stop it) first.")
        return self.store

    def undo(self, force: bool = False) -> tuple[Checkpoint, list[str]]:
        """Put the last step's files back as before it; the step moves to the redo stack.

        Returns it and the files that could not be brought back (too big to keep).
        """
        with self._lock:
            self._usable()
            if not self.done:
                raise CheckpointError(nothing_left("undo", self))
            checkpoint = self.done[-1]
            skipped = self.restore(checkpoint, undo=True, force=force)
            self.undone.append(self.done.pop())
            return checkpoint, skipped

    def redo(self, force: bool = False) -> tuple[Checkpoint, list[str]]:
        """Reapply the step undone last; it moves back to the undo stack."""
        with self._lock:
            self._usable()
            checkpoint = self.next_redo()
            skipped = self.restore(checkpoint, undo=False, force=force)
            self.done.append(self.undone.pop())
            return checkpoint, skipped

    def next_redo(self) -> Checkpoint:
        """The step ``redo`` would reapply, or CheckpointError saying there is none."""
        if not self.undone:
            raise CheckpointError(nothing_left("redo", self))
        return self.undone[-1]

    def restore(self, checkpoint: Checkpoint, undo: bool, force: bool) -> list[str]:
        """Put ``checkpoint``'s files in the state before it (``undo``) or after it.

        Unless ``force``, raises CheckpointConflict when one of them (or a file in its way)
        changed since, and nothing is written.
        """
        store = self._usable()
        target, expected = ((checkpoint.before, checkpoint.after) if undo
                            else (checkpoint.after, checkpoint.before))
        now = store.snapshot(checkpoint.paths)
        if not force:
            moved = in_the_way(store.changed(expected, now), checkpoint.paths)
            if moved:
                verb = "undoing" if undo else "redoing"
                which = "that change" if len(moved) == 1 else "those changes"
                raise CheckpointConflict(
                    f"{name_paths(moved)} changed after {checkpoint.describe()}: {verb} it "
                    f"would overwrite {which}", moved)
        return store.restore(target, checkpoint.paths)

    def diff(self, path: Optional[str] = None, binary: bool = False) -> str:
        """What the steps not undone changed, from the session's start to now (one path's
        changes, or a folder's, with ``path``); "" when there are none."""
        with self._lock:
            if self.reason and not self.done:
                raise CheckpointError(f"No checkpoints: {self.reason}.")
            store = self.store
            if store is None or self.start is None or not self.done:
                return ""
            wanted = relative(path, self.workspace) if path else ""
            paths = sorted({p for c in self.done for p in c.paths
                            if not wanted or p == wanted or p.startswith(wanted + "/")})
            if not paths:
                return ""
            now = store.snapshot(paths)
            return store.diff(self.start, now, paths, binary)

    def close(self) -> None:
        """Remove the store; safe twice."""
        store, self.store = self.store, None
        if store is not None:
            store.close()
        self.reason = self.reason or "the session has ended"


class Rewindable(Protocol):
    """What undoing and redoing acts on: an agent's checkpoints and its conversation."""

    conversation: Conversation
    history: Optional[HistoryPort]
    file_checkpoints: Optional[Checkpoints]


def checkpoints_of(agent: Rewindable) -> Checkpoints:
    """The agent's checkpoints, or CheckpointError saying why there are none."""
    found = getattr(agent, "file_checkpoints", None)
    if found is None:
        raise CheckpointError("No checkpoints: this agent was built without them.")
    return found


def undo_step(agent: Rewindable, force: bool = False, conversation: bool = False) -> Restored:
    """Undo the last step's file changes (and with ``conversation``, its messages and later)."""
    checkpoint, skipped = checkpoints_of(agent).undo(force)
    checkpoint.messages = rewind(agent, checkpoint) if conversation else []
    count = len(checkpoint.messages)
    return Restored(checkpoint, True, list(checkpoint.paths), skipped, count,
                    said(checkpoint, True, skipped, count, conversation))


def redo_step(agent: Rewindable, force: bool = False, conversation: bool = False) -> Restored:
    """Redo the step undone last (and with ``conversation``, put its messages back)."""
    checkpoints = checkpoints_of(agent)
    waiting = checkpoints.next_redo()
    back = waiting.messages if conversation else []
    if back and len(agent.conversation) != waiting.mark:
        raise CheckpointError(
            "The conversation has new messages since that undo, so its old messages cannot "
            "go back in; /redo without --chat redoes the files only.")
    checkpoint, skipped = checkpoints.redo(force)
    for message in back:
        append(agent, message)
    if back:
        checkpoint.messages = []
    return Restored(checkpoint, False, list(checkpoint.paths), skipped, len(back),
                    said(checkpoint, False, skipped, len(back), conversation))


def rewind(agent: Rewindable, checkpoint: Checkpoint) -> list[Message]:
    """Take the step's messages and every later one out of the conversation; return them.

    Nothing is taken when the conversation is no longer the one the step was in (``/new``).
    """
    kept = agent.conversation.messages
    if len(kept) <= checkpoint.mark or kept[checkpoint.mark] is not checkpoint.anchor:
        return []
    kept, removed = kept[:checkpoint.mark], kept[checkpoint.mark:]
    agent.conversation.clear()
    for message in kept:
        agent.conversation.append(message)
    if agent.history is not None:  # the log is append-only: it starts again, shorter
        agent.history.start_new()
        for message in kept:
            agent.history.append(message)
    return removed


def append(agent: Rewindable, message: Message) -> None:
    """Add a message back to the conversation and its log."""
    agent.conversation.append(message)
    if agent.history is not None:
        agent.history.append(message)
