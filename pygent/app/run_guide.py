"""What an unattended run tells a small model at the two moments it most often goes wrong.

Measured with Qwen2.5-Coder-1.5B (benchmarks/task_suite.py): it overwrites files it never read,
and it stops right after acting, without looking at what it made. So, in an unattended run:

* a ``write_file`` over an existing file the run has not looked at yet is not written, once
  per file: the answer shows the file as it is, and the model writes again knowing it (Claude
  Code's editor refuses to edit a file it has not read, for the same reason);
* the first ``stop`` is answered with the task again and what changed in the workspace since
  the run began (names, and the text of small changed files), seen through the sandbox.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections import Counter
from typing import Any, Optional

from ..domain.ports import ToolRuntime

WRITE_TOOL = "write_file"
#: Each file's change time, size and name, read in the sandbox (GNU find; fails elsewhere).
LISTING = "find . -path ./.git -prune -o -type f -printf '%T@ %s %p\\n'"
SHOWN_BYTES = 1500  # of each changed file shown at the first stop
SHOWN_FILES = 3
STUCK_AFTER = 2  # runs of one action, nothing written between, after which a reply is redrawn
_WORD = re.compile(r"[\w./-]+")
#: ``cat > path <<'EOF'``: the heredoc write the text protocol teaches.
_HEREDOC_WRITE = re.compile(r"\s*cat\s*>\s*(['\"]?)([^\s'\"<>|;&]+)\1\s*<<")
REPEATED = ("The same action gave this same result before, shown above; doing it again changes "
            "nothing. {next}")
MAKE_CHANGE = ("Nothing in the workspace has changed yet: next, make the change the task asks "
               "for (write a file with cat > NAME <<'EOF' ... EOF, or edit one with sed -i).")
CHECK_CHANGE = ("If the result is what the task asks for, call stop; if not, change something "
                "else, then run the program or the test again.")


def _clean(path: str) -> str:
    """``./a//b.py`` and ``a/b.py`` are one file."""
    return posixpath.normpath(path.strip()).lstrip("/") if path.strip() else ""


def _listing(text: str) -> dict[str, str]:
    """name -> "time size" from :data:`LISTING`'s output."""
    files = {}
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        size, _, name = rest.partition(" ")
        if name:
            files[_clean(name)] = f"{stamp} {size}"
    return files


class RunGuide:
    """Tracks the files a run has seen, and words the two answers described above."""

    def __init__(self, runtime: ToolRuntime) -> None:
        self.runtime = runtime
        self.task = ""
        self._seen: set[str] = set()
        self._refused: set[str] = set()
        self._done: set[tuple[str, str, str, int]] = set()
        self._tried: Counter[tuple[str, str, int]] = Counter()  # actions run, outputs aside
        self._writes = 0  # successful writes seen: the same command after one is no repeat
        self._before: Optional[dict[str, str]] = None

    def start(self, task: Optional[str], review: bool) -> None:
        """A new run: nothing seen yet; with ``review``, note the files as they are now."""
        self.task = (task or "").strip() or self.task
        self._seen, self._refused, self._done, self._writes = set(), set(), set(), 0
        self._tried.clear()
        self._before = self._files() if review else None

    def saw(self, name: str, arguments: str, ok: bool) -> None:
        """Count the files a call looked at or wrote as seen."""
        args = _arguments(arguments)
        if _written_path(name, args):
            self._seen.add(_clean(_written_path(name, args)))
            self._writes += ok
        if ok and name == "bash" and isinstance(args.get("cmd"), str):
            try:
                words = shlex.split(args["cmd"], comments=True)
            except ValueError:
                words = _WORD.findall(args["cmd"])
            self._seen.update(_clean(word) for word in words)

    def file_before(self, name: str, arguments: str) -> Optional[tuple[str, str]]:
        """The file an action is about to write and its text now, if it exists."""
        path = _written_path(name, _arguments(arguments))
        try:
            return (path, self.runtime.read_file(path)) if path else None
        except Exception:  # new, or not text
            return None

    def unchanged(self, before: Optional[tuple[str, str]]) -> str:
        """A note when a write left its file exactly as it was, else ''."""
        if before is None:
            return ""
        path, text = before
        try:
            same = self.runtime.read_file(path) == text
        except Exception:
            return ""
        return (f"[{path} already held exactly this text: nothing changed. If the task needs "
                "a change there, write a different text.]") if same else ""

    def repeated(self, name: str, arguments: str, output: str) -> str:
        """What to answer, instead of the output, to an action that gave the same result
        before in this run ('' if it did not): the output once more would make the
        conversation repeat itself, which small models then copy."""
        action = (name, json.dumps(_arguments(arguments), sort_keys=True), self._writes)
        self._tried[action] += 1
        key = (*action[:2], output, self._writes)
        if key in self._done:
            return REPEATED.format(next=CHECK_CHANGE if self._changed() else MAKE_CHANGE)
        self._done.add(key)
        return ""

    def stuck_on(self, name: str, arguments: str) -> bool:
        """Whether this action has run twice already with nothing written since: a loop."""
        action = (name, json.dumps(_arguments(arguments), sort_keys=True), self._writes)
        return self._tried[action] >= STUCK_AFTER

    def unread_write(self, name: str, arguments: str) -> Optional[str]:
        """The answer to a write over an existing file not seen in this run, or None."""
        path = _written_path(name, _arguments(arguments))
        if not path or _clean(path) in self._seen | self._refused:
            return None
        try:
            text = self.runtime.read_file(path)
        except Exception:  # a new file, a folder, not text: the write itself will say
            return None
        self._refused.add(_clean(path))
        self._seen.add(_clean(path))
        return (f"Not written: {path} already exists and you have not read it. It holds:\n"
                f"{_cut(text)}\nWrite it again, changed only as the task asks, keeping the rest.")

    def review(self) -> str:
        """The answer to the first stop: the task, what changed, and what to do next."""
        lines = ["Not stopped yet: first check that the task is really done."]
        if self.task:
            lines.append(f"The task: {self.task}")
        changed = self._changes()
        if changed is not None:
            lines.append(changed)
        lines.append("Run the program or the test the task names (or print the file) and read "
                     "the result. If it is right, call stop again; if not, fix it.")
        return "\n".join(lines)

    def _changes(self) -> Optional[str]:
        if self._before is None:
            return None
        now = self._files()
        if now is None:
            return None
        made = sorted(name for name in now if self._before.get(name) != now[name])
        gone = sorted(name for name in self._before if name not in now)
        if not made and not gone:
            return "Nothing in the workspace has changed since the task began."
        parts = []
        if made:
            parts.append("Changed or new: " + ", ".join(made[:20]))
        if gone:
            parts.append("Deleted: " + ", ".join(gone[:20]))
        for name in made[:SHOWN_FILES]:
            try:
                parts.append(f"--- {name} now holds:\n{_cut(self.runtime.read_file(name))}")
            except Exception:  # binary, or gone again: the names above still say it changed
                continue
        return "\n".join(parts)

    def _changed(self) -> bool:
        """Whether the run has changed the workspace: by the listing when there is one."""
        now = self._files() if self._before is not None else None
        return bool(self._writes) if now is None else now != self._before

    def _files(self) -> Optional[dict[str, str]]:
        try:
            result = self.runtime.run(LISTING, timeout=10)
        except Exception:  # a failed look is no reason to fail the task
            return None
        if result.exit_code or result.timed_out or result.truncated:
            return None  # no GNU find, or too many files to tell: say nothing rather than wrong
        return _listing(result.output)


def _written_path(name: str, args: dict[str, Any]) -> str:
    """The file a ``write_file`` call or a ``cat > path <<`` command writes, or ''."""
    if name == WRITE_TOOL and isinstance(args.get("path"), str):
        return str(args["path"])
    if name == "bash" and isinstance(args.get("cmd"), str):
        match = _HEREDOC_WRITE.match(args["cmd"])
        return match.group(2) if match else ""
    return ""


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (ValueError, RecursionError):  # the dispatcher tells the model what was wrong
        return {}
    return value if isinstance(value, dict) else {}


def _cut(text: str) -> str:
    body = text if len(text) <= SHOWN_BYTES else text[:SHOWN_BYTES] + "\n[... cut]"
    return body.rstrip("\n") or "(empty)"
