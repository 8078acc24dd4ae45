"""What a task changed in its workspace, as a unified diff, read without following any link.

The workspace belongs to the task's commands: every file is opened without following links or
blocking on FIFOs, only regular files are read, and sizes are capped, so nothing a task plants
reaches outside its workspace or stalls the batch.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

#: Files bigger than this are compared by size and time, not shown line by line.
MAX_FILE = 1024 * 1024
#: The most files a snapshot holds; a bigger tree is summarised, not diffed.
MAX_FILES = 20000
#: A diff longer than this is cut, saying so.
MAX_DIFF = 200 * 1024

Snapshot = dict[str, bytes]


def snapshot(root: Path) -> Snapshot:
    """The regular files below ``root`` (links and special files skipped), by relative path."""
    files: Snapshot = {}
    for folder, dirs, names, here in os.fwalk(root, follow_symlinks=False):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            if len(files) >= MAX_FILES:
                return files
            content = _read(name, here)
            if content is not None:
                files[os.path.relpath(os.path.join(folder, name), root)] = content
    return files


def _read(name: str, folder: int) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(name, flags, dir_fd=folder)
    except OSError:
        return None  # a link, a FIFO without a writer, a file that went away
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > MAX_FILE:
            return f"<{info.st_size} bytes, modified {info.st_mtime_ns}>".encode()
        chunks, left = [], MAX_FILE + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def unified_diff(before: Snapshot, after: Snapshot) -> str:
    """``diff -ruN``-style text of every added, changed and removed file (binary: one line)."""
    out: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        a = f"a/{path}" if old is not None else "/dev/null"
        b = f"b/{path}" if new is not None else "/dev/null"
        old_text, new_text = _text(old or b""), _text(new or b"")
        if old_text is None or new_text is None:
            out.append(f"Binary files {a} and {b} differ\n")
            continue
        out.extend(difflib.unified_diff(old_text.splitlines(keepends=True),
                                        new_text.splitlines(keepends=True), a, b))
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
    text = "".join(out)
    if len(text) > MAX_DIFF:
        return text[:MAX_DIFF] + f"\n[diff cut at {MAX_DIFF} of {len(text)} characters]\n"
    return text


def _text(content: bytes) -> str | None:
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None
