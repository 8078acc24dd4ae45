"""What a failed Python run says about where to look, for models too small to read a traceback.

Pure functions over a command's output: the run guide adds them to what the model sees.
"""

from __future__ import annotations

import ast
import posixpath
import re
from typing import Optional

from .function_edit import python_tree

#: A Python traceback's frame: ``  File "/w/main.py", line 2, in <module>`` and its code line.
_FRAME = re.compile(r'^  File "(?P<path>/[^"\n]+)", line (?P<line>\d+)(?:, in [^\n]*)?\n'
                    r"(?:    (?P<code>[^\n]+)\n)?", re.MULTILINE)
_NO_NAME = re.compile(r"^ImportError: cannot import name '(?P<name>\w+)' from '[\w.]+' "
                      r"\((?P<path>/[^)\n]+)\)$", re.MULTILINE)
_LIBRARY = ("/lib/python", "/site-packages/", "/dist-packages/")
_BARE_ASSERT = re.compile(r"^AssertionError$", re.MULTILINE)


def traceback_tip(output: str, folder: str = "", value: str = "") -> str:
    """Where a Python traceback failed in the user's own files, said plainly, with ``value``
    (what a failed assert's call gave) after the line: given the whole traceback,
    Qwen2.5-Coder-1.5B kept rewriting the module it had renamed a function in while the
    error was on line 2 of main.py ('' when no frame is the user's)."""
    found = _user_frames(output, folder)
    if found is None:
        return ""
    frames, root = found
    last = frames[-1]
    path = posixpath.relpath(last["path"], root)
    code = f": `{last['code'].strip()}`" if last["code"] else ""
    tip = f"[The error is in {path}, line {last['line']}{code}." + (f" {value}" if value else "")
    missing = _NO_NAME.search(output)
    if missing and missing["path"].startswith(root + "/"):
        tip += f" {posixpath.relpath(missing['path'], root)} has no {missing['name']}."
    elif is_test(path):  # told only where, the model wrote pages.py's text into the test
        tip += " That line is the test; fix the code it tests, not the test."
    return tip + "]"


def fix_target(output: str, folder: str = "") -> str:
    """The file a failed Python check points at: the last of the user's frames, or when that
    is a test (not what to fix), the module it could not import a name from ('' if none)."""
    found = _user_frames(output, folder)
    if found is None:
        return ""
    lacking = missing_name(output, folder)
    path = lacking[0] if lacking else posixpath.relpath(found[0][-1]["path"], found[1])
    return "" if is_test(path) else path


def _user_frames(output: str, folder: str = "") -> Optional[tuple[list[re.Match[str]], str]]:
    """A traceback's frames in the user's files (not Python's library), and the folder their
    paths are said from: ``folder`` if it holds them all, else the one they share."""
    frames = [m for m in _FRAME.finditer(output)
              if not any(part in m["path"] for part in _LIBRARY)]
    if not frames:
        return None
    if folder and all(m["path"].startswith(folder.rstrip("/") + "/") for m in frames):
        return frames, folder.rstrip("/")
    return frames, posixpath.commonpath([posixpath.dirname(m["path"]) for m in frames])


def is_test(path: str) -> bool:
    """Whether a file is a test, which a task's fix should leave alone."""
    name = posixpath.basename(path)
    return name.startswith("test_") or name.endswith("_test.py")


def failed_equality(output: str, folder: str = "") -> Optional[tuple[str, str, str]]:
    """(file, call, expected) for a failed ``assert CALL == EXPECTED`` without a message in
    the user's own files, the only assert whose values are worth running again; else None."""
    found = _user_frames(output, folder) if _BARE_ASSERT.search(output) else None
    if found is None:
        return None
    last = found[0][-1]
    tree = python_tree((last["code"] or "").strip())  # None: an assert over several lines
    if not isinstance(tree, ast.Module):  # shows only its first
        return None
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], ast.Assert) or body[0].msg is not None:
        return None
    test = body[0].test
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 \
            or not isinstance(test.ops[0], ast.Eq) or not isinstance(test.left, ast.Call):
        return None
    try:
        return last["path"], ast.unparse(test.left), ast.unparse(test.comparators[0])
    except RecursionError:  # a deeply nested line the parser took: nothing worth running
        return None


def value_script(test_text: str, expression: str) -> Optional[str]:
    """Python that prints ``repr(expression)`` after the test file's own top-level imports
    (None when the file does not parse)."""
    tree = python_tree(test_text)
    if not isinstance(tree, ast.Module):
        return None
    imports = [ast.unparse(node) for node in tree.body
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join([*imports, f"print(repr({expression}))"])


def missing_name(output: str, folder: str = "") -> Optional[tuple[str, str]]:
    """(module file, name) when a test failed on a name the user's module does not define.
    Only a test's import says the module is what lacks it: main.py importing ``calc`` after
    a rename is main.py's to fix, as :func:`fix_target` says too."""
    found = _user_frames(output, folder)
    missing = _NO_NAME.search(output)
    if found is None or missing is None or not missing["path"].startswith(found[1] + "/") \
            or not is_test(found[0][-1]["path"]):
        return None
    return posixpath.relpath(missing["path"], found[1]), missing["name"]


def defines(text: str, name: str, module: str = "") -> bool:
    """Whether Python text defines ``name`` at its top level (roughly: def, class, = or an
    import that names it, except from ``module`` itself: the 1.5B model wrote the test's
    ``from textutils import shout, slugify`` into textutils.py)."""
    word = re.escape(name)
    own = rf"(?!from\s+{re.escape(module)}\s)" if module else ""
    return re.search(rf"^(?:(?:async\s+)?def|class)\s+{word}\b|^{word}\s*[:=]|"
                     rf"^{own}(?:from\s+\S+\s+)?import\b.*\b{word}\b", text,
                     re.MULTILINE) is not None
