"""Every error Pygent expects, in one tree, so callers catch ``PygentError`` and explain it.

    PygentError                 expected, said to the person in one line, never a traceback
    ├── ConfigError             a setting has a value Pygent cannot use
    ├── ModelError              the model server failed or refused; the conversation is kept
    ├── SandboxError            the sandbox could not do what was asked
    │   ├── PathEscapeError     a path resolves outside the workspace (also a ValueError)
    │   ├── MissingFileError    no such file in the workspace (also a FileNotFoundError)
    │   ├── ReadOnlyError       a write to a read-only workspace (workspace_mode)
    │   └── DockerUnavailable   no Docker engine, or no image (pygent.adapters.sandbox)
    ├── TaskError               a delegated task could not be started or reached
    ├── CheckpointError         nothing to undo or redo, or checkpoints are off
    │   └── CheckpointConflict  a restore would overwrite files changed since (named)
    └── StepCancelled           the person stopped the step (Ctrl-C, Stop, ``cancel()``)
"""


class PygentError(Exception):
    """Base of every error Pygent expects and explains."""


class ModelError(PygentError):
    """The model could not be reached or refused the request; the conversation is kept."""


class ConfigError(PygentError):
    """A setting has a value Pygent cannot use."""


class SandboxError(PygentError):
    """The sandbox could not do what was asked (bad path, dead container, no engine)."""


class PathEscapeError(SandboxError, ValueError):
    """A path named by the model resolves outside the workspace."""


class MissingFileError(SandboxError, FileNotFoundError):
    """The file or folder named does not exist in the workspace."""


class ReadOnlyError(SandboxError):
    """A write was refused: the session's workspace is read-only (``workspace_mode``)."""


class TaskError(PygentError):
    """A delegated task could not be started (limit, depth, persona, files) or is unknown."""


class StepCancelled(PygentError):
    """The step was cancelled as the person asked; unanswered calls read "Interrupted"."""


class CheckpointError(PygentError):
    """Checkpoints cannot do what was asked: nothing to undo, switched off, a step running."""


class CheckpointConflict(CheckpointError):
    """Files a restore would overwrite changed since the step: they are named, and kept."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


def said(exc: BaseException, whole: bool = False) -> str:
    """An exception in one line for a person: its type and first line; with ``whole``, all
    its lines joined (up to 500 characters), for a record that should lose nothing."""
    lines = str(exc).strip().splitlines()
    text = " ".join(str(exc).split())[:500] if whole else (lines[0] if lines else "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
