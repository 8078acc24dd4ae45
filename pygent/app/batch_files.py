"""A batch's files: the tasks it reads, the results it appends, and what a rerun skips.

``results.jsonl`` is append-only, one JSON line per finished task, written and flushed as each
task ends, so a crash loses at most the tasks in flight; the newest line for an id counts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from ..domain.errors import ConfigError
from .setting_values import coerce
from .settings import Settings

#: A task id becomes a file name: letters, digits, dot, dash and underscore only.
TASK_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
#: Per-task settings a tasks file may not change: where files go is the batch's business,
#: and so is the run's limit on model requests at once.
BATCH_OWNED = frozenset({"workspace", "history_file", "initial_files", "max_requests"})


@dataclass(frozen=True)
class BatchTask:
    """One line of a tasks file: what to do, what to start from, and settings of its own."""

    id: str
    prompt: str
    files: list[str] = field(default_factory=list)  # host files or folders copied in first
    folder: Optional[str] = None  # a host folder whose contents are the start workspace
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The task as a JSON-able dict, which is what a job receives (it pickles anywhere)."""
        return {"id": self.id, "prompt": self.prompt, "files": self.files,
                "folder": self.folder, "settings": self.settings}


def read_tasks(path: Path) -> list[BatchTask]:
    """Every task of a JSON-lines file, checked before any runs: a mistake names its line."""
    tasks: list[BatchTask] = []
    seen: set[str] = set()
    base = path.resolve().parent
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the tasks file {path}: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: not a JSON object ({exc})") from None
        task = _task(data, where, base)
        if task.id in seen:
            raise ConfigError(f"{where}: the id {task.id!r} is used twice")
        seen.add(task.id)
        tasks.append(task)
    if not tasks:
        raise ConfigError(f"{path} holds no tasks (one JSON object per line: id, prompt)")
    return tasks


def _task(data: Any, where: str, base: Path) -> BatchTask:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a task is a JSON object with id and prompt")
    unknown = sorted(set(data) - {"id", "prompt", "files", "folder", "settings"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; a task has id, prompt, files, "
                          "folder and settings")
    task_id, prompt = str(data.get("id", "")), data.get("prompt")
    if not TASK_ID.match(task_id):
        raise ConfigError(f"{where}: id {task_id!r} must be 1-100 letters, digits, '.', '-' "
                          "or '_' (it names the task's files)")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigError(f"{where}: the task needs a prompt")
    files = data.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{where}: files must be a list of paths")
    folder = data.get("folder")
    if folder is not None and not isinstance(folder, str):
        raise ConfigError(f"{where}: folder must be a path")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: settings must be an object")
    check_task_settings(settings, where)
    paths = [base / f for f in files]
    start = base / folder if folder else None
    for path in [*paths, *([start] if start else [])]:
        if not path.exists():
            raise ConfigError(f"{where}: {path} does not exist")
    if start is not None and not start.is_dir():
        raise ConfigError(f"{where}: folder {start} is not a folder")
    return BatchTask(task_id, prompt, [str(p) for p in paths],
                     str(start) if start else None, settings)


def check_task_settings(values: dict[str, Any], where: str) -> None:
    """Refuse unknown settings, batch-owned ones, and values that do not read."""
    kinds = {f.name: f for f in fields(Settings)}
    for name, value in values.items():
        if name not in kinds:
            raise ConfigError(f"{where}: unknown setting {name!r}")
        if name in BATCH_OWNED:
            raise ConfigError(f"{where}: {name} is set by the batch, not by a task")
        try:
            coerce(name, value, kinds[name].default)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: setting {name}: {exc}") from None


def task_settings(base: Settings, values: dict[str, Any]) -> Settings:
    """``base`` with a task's own settings applied (checked by :func:`read_tasks`)."""
    from dataclasses import replace

    kinds = {f.name: f for f in fields(Settings)}
    return replace(base, **{name: coerce(name, value, kinds[name].default)
                            for name, value in values.items()})


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """The newest result per task id; a torn last line (a crash mid-write) is ignored."""
    results: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return results
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            results[data["id"]] = data
    return results


def to_run(tasks: list[BatchTask], done: dict[str, dict[str, Any]],
           retry_errors: bool) -> list[BatchTask]:
    """The tasks a run still has to do: those without a result, and with ``retry_errors``
    those whose result is an infrastructure failure (a sandbox, a worker, a server)."""
    return [task for task in tasks if task.id not in done
            or (retry_errors and done[task.id].get("infrastructure"))]


class ResultsFile:
    """``results.jsonl``, appended one line per task and flushed to disk at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        size = os.fstat(self._fd).st_size
        if size and _last_byte(path) != b"\n":  # a torn line from a crash: end it
            os.write(self._fd, b"\n")

    def append(self, result: dict[str, Any]) -> None:
        """Write one result as one line, durably."""
        os.write(self._fd, (json.dumps(result, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        """Release the file; safe to call twice."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1)
