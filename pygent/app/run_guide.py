"""What an unattended run tells a small model where it most often goes wrong.

Measured with Qwen2.5-Coder-1.5B (benchmarks/task_suite.py): it overwrites files it never read,
stops right after acting without looking at what it made, and repeats one action forever. So,
in an unattended run:

* a write (``write_file``, or ``cat > path <<``) over an existing file the run has not looked
  at is not run, once per file: the loop turns it into reading the file, and the model writes
  again knowing it (Claude Code's editor refuses to edit a file it has not read, for the same
  reason);
* the first ``stop`` is answered with the task again and what changed in the workspace since
  the run began (names, and the text of small changed files), seen through the sandbox;
* a write that changed nothing says so, and an action that gives the same result again is
  answered with what to do next instead of that result once more;
* an action about to run a third time with nothing written between counts as a loop, for the
  loop to redraw the reply (see ``AgentLoop``);
* the first ``stop`` also runs the commands the task names (``python3 test_pages.py``) and shows
  what they printed, and a stop while one still fails is answered once more.
* a failed check that names one function (the call in a failed assert, a name a test could
  not import) asks for that function alone, and a reply that writes just it is put in its
  place in the file (see ``function_edit``): asked for whole files, the model copies them;
* a write over a file the task reads waits until the file the task asks for exists.

Files are looked at by commands in the sandbox (``head -c``, ``cksum``), never read by the
host: a name the model or the listing gives may be a FIFO or a file of many gigabytes. Those
commands look only at regular files whose real path lies inside the shell's folder, so a link
a command made never shows a file from outside, even where commands are not confined.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections import Counter
from typing import Any, Callable, Optional

from ..domain.ports import ToolRuntime
from .function_edit import (
    ask_for,
    called_function,
    definition_text,
    definitions_only,
    module_file,
    parses,
    splice,
)
from .text_blocks import fences
from .text_protocol import NO_OUTPUT
from .tracebacks import (
    defines,
    failed_equality,
    fix_target,
    is_test,
    missing_name,
    traceback_tip,
    value_script,
)

WRITE_TOOL = "write_file"
#: The shell's folder, then each file's change time, size and name (GNU find; fails elsewhere).
#: ``.git`` and ``__pycache__`` are left out: running a program is no change to the task.
LISTING = ("pwd -P && find . \\( -path ./.git -o -name __pycache__ \\) -prune -o -type f "
           "-printf '%T@ %s %p\\n'")
#: The checksum of every file when a run begins, so that a file written back with its own
#: text does not count as changed; only for a workspace of at most MAX_SUMMED files.
SUMS = ("find . \\( -path ./.git -o -name __pycache__ \\) -prune -o -type f -size -2M "
        "-exec cksum -- {} +")
MAX_SUMMED = 200
MAX_COMPARED = 20
SHOWN_BYTES = 1500  # of a file shown: the first stop's changes, an unread file
SHOWN_FILES = 3
CHECK_SECONDS = 30  # a command the task names, run at the first stop
CHECK_BYTES = 1500
MAX_VALUE = 200  # characters of a failed assert's value worth showing
MAX_TEST_BYTES = 200_000  # of a test read for its imports; a longer one gets no value shown
_CODE = (".py", ".sh", ".bash", ".js", ".ts", ".rb", ".go", ".rs", ".c", ".java")
_PYTHON_LABELS = ("python", "py", "python3", "")
MAX_MODULE_BYTES = 200_000  # of a module a function is put into; a longer one is written whole
#: A command the task names: ``python3 x.py``, ``pytest``, ``bash x.sh``, ``./x``. Quoted, it
#: keeps its arguments ("python3 greet.py Ann"); bare, only the file (the words after are prose).
_RUNNER = (r"(?:python3?\s+[\w./-]+\.py|pytest(?:\s+[\w./-]+\.py)?|(?:bash|sh)\s+[\w./-]+\.sh"
           r"|\./[\w./-]*\w)")
_QUOTED_CHECK = re.compile(r"[\"'`](" + _RUNNER + r"[^\"'`\n]*)[\"'`]")
_BARE_CHECK = re.compile(r"(?<![\w./-])" + _RUNNER)
#: A test file the task names ("so that test_slug.py passes") is run with python3.
_TEST_FILE = re.compile(r"(?<![\w./-])((?:[\w-]+/)*test_\w+\.py)\b")
NOT_EXECUTABLE = 126  # what a shell says of ./script without the x bit
NOT_FOUND = 127  # a program the sandbox lacks (pytest): a check that cannot pass is no verdict;
# a missing ./script or x.sh is one, since writing it may be the task
MAX_CHECKS = 2
#: The shell's line count in its errors ("main: line 7: nano: command not found"), which
#: grows with every command, so the same failure would never look the same.
_SHELL_LINE = re.compile(r"^(\S+: )line \d+: ", re.MULTILINE)
#: Memory addresses in Python's object reprs ("<... object at 0x7f195fa62e50>"), new each run:
#: pip offline printed a fresh one per retry and Qwen2.5-Coder-1.5B ran it 14 times.
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
#: Programs that wait for a person at a terminal; a small model reaches for them to edit.
INTERACTIVE = frozenset({"nano", "pico", "vi", "vim", "nvim", "emacs", "joe", "mcedit", "micro",
                         "less", "more", "top", "htop"})
UNCHANGED = "Nothing in the workspace has changed since the task began."
STUCK_AFTER = 2  # runs of one action, nothing written between, after which a reply is redrawn
RAMBLE_LINES = 8  # one line this many times in a row, in a reply with no action: redrawn
_WORD = re.compile(r"[\w./-]+")
#: ``cat > path <<'EOF'``: the heredoc write small models use.
_HEREDOC_WRITE = re.compile(r"\s*cat\s*>\s*(['\"]?)([^\s'\"<>|;&]+)\1\s*<<")
REPEATED = ("The same action gave this same result before, shown above; doing it again changes "
            "nothing. {next}")
MAKE_CHANGE = ("Nothing in the workspace has changed yet: next, make the change the task asks "
               "for (write the file's whole new text).")
START_NOW = ("Nothing is done yet. Make the change the task asks for now (write the file's "
             "whole new text), then check it.")
#: A file name in a task's words: ``config.json``, ``src/app.py``, ``.gitignore``.
_FILE_NAME = re.compile(r"(?<![\w/.*-])(?:[\w-]+/)*(?:\.?[\w-]+\.[A-Za-z][A-Za-z0-9]{0,5}|"
                        r"\.[A-Za-z][\w-]+)(?![\w/-])")
#: A path with a folder in a task's words: ``webapp/tests``, ``src/app.py``, ``build/out/``.
_FOLDER_PATH = re.compile(r"(?<![\w/.:-])(?:[\w-]+(?:\.[\w-]+)*/)+[\w-]+(?:\.[\w-]+)*/?(?![\w/-])")
MAX_MISSING = 5  # named paths looked up for the review, so a long task costs few commands
MISSING = "the task names these, which do not exist yet: {names}."
#: After a failed check, "call stop if it is right" sent Qwen2.5-Coder-1.5B from cat to stop
#: and back, greedily, until its steps ran out.
FIX_NOW = ("The task's check still fails, so the task is not done: next, change the file to "
           "fix it (write its whole new text), then run the check.")
NOT_DONE = ("The task is not done yet, as the answer to your stop said: make what it asks for "
            "now, then check it.")
READ_AGAIN = ("Next, write {path} again, whole and fixed: {path} alone on a line, then a "
              "fenced block with all of its new text; then run the check.")
CHECK_CHANGE = ("If the result is what the task asks for, call stop; if not, change something "
                "else, then run the program or the test again.")


def _clean(path: str) -> str:
    """``./a//b.py`` and ``a/b.py`` are one file."""
    return posixpath.normpath(path.strip()).lstrip("/") if path.strip() else ""


def _listing(text: str) -> dict[str, str]:
    """name -> "time size" from :data:`LISTING`'s output; the folder it ran in under ''."""
    folder, _, rest = text.partition("\n")
    files = {"": folder}  # a listing from another folder (the model ran cd) compares unequal
    for line in rest.splitlines():
        stamp, _, rest = line.partition(" ")
        size, _, name = rest.partition(" ")
        if name:
            files[_clean(name)] = f"{stamp} {size}"
    return files


class RunGuide:
    """Tracks what a run has seen, written and tried, and words the answers described above."""

    def __init__(self, runtime: ToolRuntime,
                 refusal: Callable[[str], Optional[str]] = lambda command: None) -> None:
        self.runtime = runtime
        self.refusal = refusal  # why the run's guard would not run a command (None: it would)
        self.task = ""
        self._seen: set[str] = set()
        self._refused: set[str] = set()
        self._typed: set[str] = set()  # files whose text is a number the model typed
        self._guarded: set[str] = set()  # tests the task checks with, a write refused once
        self._lacks: Optional[tuple[str, str]] = None  # (module, name) a failure said it lacks
        #: (file, function) a failed check points at, asked for alone; a write of it is spliced
        self.focus: Optional[tuple[str, str]] = None
        self._ask = ""  # the request for the function alone, while there is one
        self._asserted: Optional[tuple[str, str]] = None  # (file, function) a failed assert calls
        self._spliced = ""  # the function the last write put in place, for its result's note
        #: Actions run, with their output and writes before them -> checksums after them.
        self._done: dict[tuple[str, str, str, int], Optional[dict[str, str]]] = {}
        self._tried: Counter[tuple[str, str, int]] = Counter()  # actions run, outputs aside
        self._writes = 0  # successful writes seen: the same command after one is no repeat
        self._idle = False  # the write being run left its file as it was: it counts as none
        self._before: Optional[dict[str, str]] = None
        self._sums: dict[str, str] = {}  # name -> "crc size" when the run began
        self._checks: list[str] = []  # the commands the task names, run at the first stop
        self.failing = False  # the last review saw a check fail, or no change: stop once more
        self.check_fails = False  # the last review or recheck ran the task's check: it failed
        self.fix_target = ""  # the file the last failed check's traceback points at
        self.idle = False  # the last review found nothing done (no write, no change, no check)

    @property
    def folder(self) -> str:
        """The folder the run began in, as the sandbox names it ('' when not looked at)."""
        return (self._before or {}).get("", "")

    def start(self, task: Optional[str], review: bool) -> None:
        """A new run: nothing seen yet; with ``review``, note the files as they are now."""
        self.task = (task or "").strip() or self.task
        self._seen, self._refused, self._done, self._writes = set(), set(), {}, 0
        self._typed, self._guarded, self._lacks = set(), set(), None
        self.focus = self._asserted = None
        self._tried.clear()
        self._before = self._files() if review else None
        self._sums = _sums(self._sandbox(SUMS)) if self._before is not None \
            and len(self._before) <= MAX_SUMMED else {}
        self._checks = task_checks(self.task) if review else []
        self.failing = self.idle = self.check_fails = False
        self.fix_target = ""

    def saw(self, name: str, arguments: str, ok: bool) -> None:
        """Count the files a call looked at or wrote as seen."""
        args = _arguments(arguments)
        command = args.get("cmd") if name == "bash" else None
        if _written_path(name, args):
            self._seen.add(_clean(_written_path(name, args)))
            self._writes += ok and not self._idle
        self._idle = False
        if ok and isinstance(command, str):
            self._seen.update(_clean(word) for word in _looked_at(_words(command)))

    def file_before(self, name: str, arguments: str) -> Optional[tuple[str, str]]:
        """The file an action is about to write and its checksum now, if it is a file."""
        path = _written_path(name, _arguments(arguments))
        summed = self._sandbox(_inside(path, "cksum")) if path else None
        return (path, summed) if summed else None

    def unchanged(self, before: Optional[tuple[str, str]], arguments: str = "") -> str:
        """A note when a write left its file exactly as it was, else ''."""
        if before is None:
            return ""
        path, summed = before
        if self._sandbox(_inside(path, "cksum")) != summed:
            return ""
        self._idle = True  # so writing it again and again is a loop like any other
        content = _arguments(arguments).get("content")
        tabs = TABS_TIP.format(path=shlex.quote(path)) \
            if isinstance(content, str) and "\t" in content else ""
        return (f"[{path} already held exactly this text: nothing changed. If the task needs "
                f"a change there, write a different text.{tabs}]")

    def ran(self, name: str, arguments: str, output: str, failed: bool) -> None:
        """Note the task's check when the model runs it itself: failing, it makes a repeated
        action's advice "fix the file", not "call stop if it is right"."""
        command = _arguments(arguments).get("cmd")
        if name != "bash" or not isinstance(command, str) or command.strip() not in self._checks:
            return
        self.check_fails = failed
        self.fix_target = fix_target(output, self.folder) if failed else ""
        self.focus = self.focus if failed else None

    def typed_number(self, name: str, arguments: str) -> str:
        """A note for a file written as one number the model typed, which the first stop's
        review asks about again: Qwen2.5-Coder-1.5B read sales.csv and wrote 39.50 and 44.00
        as the total of its amounts, which is 53 ('' for any other action)."""
        args = _arguments(arguments)
        path, content = _written_path(name, args), args.get("content")
        if name == WRITE_TOOL and path and isinstance(content, str) and _NUMBER.fullmatch(content):
            self._typed.add(_clean(path))
            return TYPED_NUMBER.format(path=path)
        command = args.get("cmd")
        written = {_clean(path)} if path else set()
        if name == "bash" and isinstance(command, str) and _MAY_WRITE.search(command):
            written |= {_clean(word.lstrip(">")) for word in _words(command)}  # awk > x
        self._typed -= written
        return ""

    def repeated(self, name: str, arguments: str, output: str) -> str:
        """What to answer, instead of the output, to an action that gave the same result
        before in this run ('' if it did not): the output once more would make the
        conversation repeat itself, which small models then copy."""
        action = self._action(name, arguments)
        self._tried[action] += 1
        key = (*action[:2], _same_output(output), self._writes)
        stamp = self._stamp(name, arguments)
        if key in self._done and self._done[key] == stamp:
            return REPEATED.format(next=self._next_step(name, arguments))
        self._done[key] = stamp
        return ""

    def _next_step(self, name: str, arguments: str) -> str:
        """What to do instead of an action that changes nothing, from what the run knows."""
        if self.check_fails and self.focus:
            return f"Next: {self._ask}"
        if self.check_fails:  # name the file: Qwen2.5-Coder-1.5B ran cat textutils.py eleven
            # times, told each time to change "the file", while the check said what it lacked
            path = self.fix_target or _read_file(name, arguments)
            return READ_AGAIN.format(path=path) if path and not is_test(path) else FIX_NOW
        if self.failing:
            return NOT_DONE
        return CHECK_CHANGE if self._changed() else MAKE_CHANGE

    def _stamp(self, name: str, arguments: str) -> Optional[dict[str, str]]:
        """Checksums of the files a command that may write names, after it ran (None for any
        other): ``sed -i`` prints nothing and adds a line each time, which is no repeat."""
        command = _arguments(arguments).get("cmd")
        if name != "bash" or not isinstance(command, str) or not _MAY_WRITE.search(command):
            return None
        files = [word for word in dict.fromkeys(_words(command)) if _PATH_WORD.fullmatch(word)]
        return self._cksums(files[:MAX_STAMPED])

    def refused(self, name: str, arguments: str) -> None:
        """Count a refused stop as a loop already: the same stop again, nothing written since,
        is redrawn (Qwen2.5-Coder-1.5B sent one stop three times, word for word)."""
        action = self._action(name, arguments)
        self._tried[action] = max(self._tried[action], STUCK_AFTER)

    def _action(self, name: str, arguments: str) -> tuple[str, str, int]:
        """An action as loops are counted: the call, and the writes seen before it."""
        return name, json.dumps(_arguments(arguments), sort_keys=True), self._writes

    def stuck_on(self, name: str, arguments: str) -> bool:
        """Whether this action has run twice already with nothing written since: a loop."""
        action = self._action(name, arguments)
        return self._tried[action] >= STUCK_AFTER

    def unread_write(self, name: str, arguments: str) -> Optional[str]:
        """The answer to a write over an existing file not seen in this run, or None."""
        path = self.unread_path(name, arguments)
        text = self._head(path) if path else None
        if text is None:
            return None
        return (f"Not written: {path} already exists and you have not read it. It holds:\n"
                f"{_cut(text)}\nWrite it again, changed only as the task asks, keeping the rest.")

    def unread_path(self, name: str, arguments: str) -> str:
        """The file a write would replace without this run having seen it, once per file;
        '' for any other call, a new file or a folder (the write itself will say)."""
        path = _written_path(name, _arguments(arguments))
        if not path or _clean(path) in self._seen | self._refused:
            return ""
        if self._sandbox(_inside(path, "true")) is None:  # not a regular file in the folder
            return ""
        self._refused.add(_clean(path))
        self._seen.add(_clean(path))
        return path

    def _still_typed(self) -> str:
        return STILL_TYPED.format(paths=", ".join(sorted(self._typed)))

    def test_write(self, name: str, arguments: str) -> Optional[str]:
        """The answer to a write over the test a task's check runs, or None: pointed at the
        failing line of test_pages.py, Qwen2.5-Coder-1.5B wrote pages.py's text into it, and
        the check passed. The first write is refused; later ones only when they drop every
        assert line the test had, since a task may ask to change its test."""
        args = _arguments(arguments)
        path = _clean(_written_path(name, args))
        if not path or not is_test(path) or not any(
                path in map(_clean, _words(command)) for command in self._checks):
            return None
        instead = (f"Write the code it tests instead ({self._code_files()}), whole, then run "
                   "the check.")
        if path not in self._guarded:
            self._guarded.add(path)
            return (f"Not written: {path} is the test the task checks with, so it stays as it "
                    f"is. {instead}")
        content = args.get("content")
        if not isinstance(content, str) or _keeps_asserts(self._head(path) or "", content):
            return None
        return (f"Not written: this text has none of {path}'s assert lines, so the check would "
                f"pass without testing anything. {instead}")

    def input_write(self, name: str, arguments: str) -> Optional[str]:
        """The answer to a write over a file the task reads while a file it asks for does not
        exist yet, or None: told to write sorted.txt from names.txt, the 1.5B model wrote
        names.txt again by hand, its duplicates kept, and never made sorted.txt; refused once,
        it sent the same write again at once. Once the new file exists, the write goes."""
        path = _clean(_written_path(name, _arguments(arguments)))
        named = [_clean(m.group(0)) for m in _FILE_NAME.finditer(self.task)]
        if not path or path not in named or path not in (self._before or {}):
            return None
        wanted = [n for n in dict.fromkeys(named) if n not in (self._before or {})
                  and _output_name(n) and self._missing(n)][:MAX_MISSING]
        if not wanted:
            return None
        self.refused(name, arguments)  # the same write again is a loop, drawn again hotter
        first = wanted[0]
        make = (f"Write {first} first." if first.endswith(_CODE) else
                f"Make {first} from {path} first, with a command whose output goes to it "
                f"(COMMAND > {first}).")
        return (f"Not written: {path} is what the task reads, and it asks for "
                f"{', '.join(wanted)}, which {'does' if len(wanted) == 1 else 'do'} not exist "
                f"yet. {make} Once it exists, {path} can be written too.")

    def _code_files(self) -> str:
        """The task's Python files that are not tests and exist: where a fix belongs."""
        before = self._before or {}
        code = [n for n in dict.fromkeys(_clean(m.group(0)) for m in _FILE_NAME.finditer(self.task))
                if n in before and n.endswith(".py") and not is_test(n)]
        return ", ".join(code) if code else "the file it imports"

    def review(self) -> str:
        """The answer to the first stop: the task, what changed, and what to do next."""
        lines = ["Not stopped yet: first check that the task is really done."]
        if self.task:
            lines.append(f"The task: {self.task}")
        changed = self._changes()
        if changed is not None:
            lines.append(changed)
        ran, verdict = self._run_checks()
        self.idle = verdict is None and changed == UNCHANGED and not self._writes
        self.failing = verdict if verdict is not None else self.idle
        self.check_fails = bool(verdict)
        if ran:
            lines.append(f"The task's check, run now:\n{ran}")
        if verdict and self.focus:  # the files shown whole, the 1.5B model wrote one whole
            lines.append(f"It fails. {self._ask}")
        elif verdict:
            lines.extend(self._named_files())
            lines.append("It fails: fix that (write the file's whole new text), then run it "
                         "again.")
        elif changed == UNCHANGED and not self._writes:
            lines.extend(self._named_files())
            lines.append(START_NOW)
        elif verdict is not None:
            lines.append("If the result is what the task asks for, call stop again; if not, "
                         "fix it.")
        else:
            missing = self._missing_paths()
            if missing:  # Qwen2.5-Coder-1.5B made one of three folders a task named, and stopped
                self.failing = True
                said = MISSING.format(names=", ".join(missing))
                lines.append(said[0].upper() + said[1:])
            if self._typed:
                self.failing = True
                lines.append(self._still_typed())
            else:
                lines.append("Run the program or the test the task names (or print the file) "
                             "and read the result. If it is right, call stop again; if not, "
                             "fix it.")
        return "\n".join(lines)

    def nothing_done(self) -> bool:
        """Whether the run has still written nothing and changed no file."""
        return not self._writes and self._changes() == UNCHANGED

    def recheck(self) -> Optional[str]:
        """The answer to a stop after a review that found a check failing or nothing changed:
        None once the check passes (or, with no check run, once something changed)."""
        ran, verdict = self._run_checks()
        self.check_fails = bool(verdict)
        if verdict is None:
            missing = self._missing_paths()
            if missing:
                self.failing = True
                return (f"Not stopped: {MISSING.format(names=', '.join(missing))} Make them; "
                        "if the task needs none of them, call stop again and say why.")
            if self._typed:  # asked at the review, the 1.5B model sent the same stop again
                self.failing = True
                return f"Not stopped: {self._still_typed()}"
            self.failing = self.nothing_done()
            return None if not self.failing else (
                "Not stopped: the workspace is still as it was when the task began. Make the "
                "change the task asks for; if it needs none, call stop again and say why.")
        self.failing = verdict
        if not verdict:
            return None
        if self.focus:
            return (f"Not stopped: the check still fails (if it cannot be fixed, call stop again "
                    f"and say why).\n{ran}\n{self._ask}")
        return (f"Not stopped: the check still fails.\n{ran}\nFix it and run it again; if it "
                "cannot be fixed, call stop again and say why.")

    def _run_checks(self) -> tuple[str, Optional[bool]]:
        """Run the task's commands from the folder the run began in: what they printed, and
        whether one failed (None when none ran: no check, or the guard refused them all)."""
        folder = (self._before or {}).get("")
        if not self._checks or not folder:
            return "", None
        shown: list[str] = []
        verdict: Optional[bool] = None
        self.fix_target, self.focus = "", None
        for command in self._checks:
            refused = self.refusal(command)  # deny rules and confirmation hold here too
            if refused is not None:
                shown.append(f"$ {command}\n[not run: {refused}]")
                continue
            try:
                result = self.runtime.run(f"( cd -- {shlex.quote(folder)} && {command} ) "
                                          "</dev/null", timeout=CHECK_SECONDS)
            except Exception as exc:  # a dead sandbox: the next action will say so
                shown.append(f"$ {command}\n[could not run: {exc}]")
                continue
            failed_now = result.timed_out or result.exit_code != 0
            program = command.split()[0]
            if not (result.exit_code == NOT_FOUND and f"{program}: command not found"
                    in result.output):  # a missing tool (pytest) is no verdict
                verdict = bool(verdict) or failed_now
            output = _cut(result.to_text(), CHECK_BYTES) if result.output or failed_now \
                else NO_OUTPUT
            if result.exit_code == NOT_EXECUTABLE and command.startswith("./"):
                output += f"\n({command.split()[0]} is not executable: chmod +x makes it so)"
            tip = self.failure_note("bash", result.output, ask=False) if failed_now else ""
            if failed_now and not self.fix_target:
                self.fix_target = fix_target(result.output, folder)
            shown.append(f"$ {command}\n{output}" + (f"\n{tip}" if tip else ""))
        return "\n".join(shown), verdict

    def failure_note(self, name: str, output: str, ask: bool = True) -> str:
        """The hint for a failed action, noting a name the user's module lacks for later, and
        asking for the one function the failure points at, alone, when there is one."""
        lacking = missing_name(output, self.folder)
        self._lacks = lacking or self._lacks
        self._asserted = None
        tip = failure_tip(name, output, self.folder, self.assert_value(output))
        target = lacking or self._asserted
        self.focus = None if tip else self.focus  # a new traceback: a new function, or none
        focused = bool(tip and target and self._focus_on(*target))
        return f"{tip}\n[{self._ask}]" if focused and ask else tip

    def _focus_on(self, path: str, name: str) -> bool:
        """Ask for function ``name`` of ``path`` alone from now on; False when it could not be
        put in place (the module does not parse, or defines the name some other way) or is too
        long to show."""
        text = self._sandbox(_inside(path, f"head -c {MAX_MODULE_BYTES}"))
        if text is None or not parses(text):
            return False
        current = definition_text(text, name)
        if current is None and defines(text, name) or len(current or "") > SHOWN_BYTES:
            return False
        self.focus, self._ask = (_clean(path), name), ask_for(path, name, current)
        self._seen.add(_clean(path))  # shown as much as the write will change
        return True

    def focus_write(self, name: str, arguments: str) -> Optional[str]:
        """The arguments of a write of the asked-for function alone, made the whole file
        with that function put in place (None for any other action)."""
        args = _arguments(arguments)
        content = args.get("content")
        if self.focus is None or name != WRITE_TOOL or not isinstance(content, str) \
                or _clean(_written_path(name, args)) != self.focus[0] \
                or self.focus[1] not in definitions_only(content):
            return None
        text = self._sandbox(_inside(self.focus[0], f"head -c {MAX_MODULE_BYTES}"))
        whole = splice(text, content) if text is not None else None
        return None if whole is None else json.dumps({**args, "content": whole})

    def put_in_place(self, name: str, arguments: str) -> Optional[str]:
        """:meth:`focus_write`, for a write about to run: its result will say so."""
        whole = self.focus_write(name, arguments)
        self._spliced = self.focus[1] if whole is not None and self.focus else ""
        return whole

    def focus_block(self, text: str) -> Optional[tuple[int, str, str]]:
        """(end, file, code) of the first closed python block in a reply that defines the
        asked-for function, for a reply that wrote it with no path over it, as asked."""
        for block in fences(text) if self.focus else ():
            code = text[block.body_start:block.body_end]
            if block.closed and block.label in _PYTHON_LABELS and self.focus \
                    and self.focus[1] in definitions_only(code):
                return block.end, self.focus[0], code
        return None

    def spliced_note(self) -> str:
        """The note for a write that put one function in place ('' for any other)."""
        name, self._spliced = self._spliced, ""
        return (f"[{name} was put in place in {self.focus[0]}; the rest of the file is as it "
                "was. Run the check.]" if name and self.focus else "")

    def still_lacks(self, name: str, arguments: str) -> str:
        """A note for a write of the module a failure said lacks a name, still without it:
        Qwen2.5-Coder-1.5B wrote textutils.py back without slugify, "with the slugify
        function", four times ('' for any other action)."""
        args = _arguments(arguments)
        content = args.get("content")
        if not self._lacks or _clean(_written_path(name, args)) != self._lacks[0] \
                or not isinstance(content, str):
            return ""
        path, missing = self._lacks
        if defines(content, missing, posixpath.splitext(posixpath.basename(path))[0]):
            self._lacks = None
            return ""
        return (f"[{path} still has no {missing}: the text you wrote does not define it. Write "
                f"{path} again with a `def {missing}(...):` in it.]")

    def assert_value(self, output: str) -> str:
        """What the call in a failed ``assert CALL == EXPECTED`` gives, run again in the
        sandbox the way pytest shows it ('' when that cannot be told): shown only the assert,
        Qwen2.5-Coder-1.5B changed page(), not the page_count() the assert called."""
        failed = failed_equality(output, self.folder)
        text = self._sandbox(_inside(failed[0], f"head -c {MAX_TEST_BYTES}")) if failed else None
        script = value_script(text, failed[1]) if failed and text is not None else None
        if failed is None or script is None:
            return ""
        called = called_function(text or "", failed[1])
        if called and self.folder and failed[0].startswith(self.folder.rstrip("/") + "/"):
            module = posixpath.join(posixpath.dirname(failed[0]), module_file(called[0]))
            self._asserted = (posixpath.relpath(module, self.folder), called[1])
        folder = shlex.quote(posixpath.dirname(failed[0]))
        value = (self._sandbox(f"cd -- {folder} && python3 -c {shlex.quote(script)} </dev/null")
                 or "").strip()
        if not value or "\n" in value or len(value) > MAX_VALUE or value == failed[2]:
            return ""
        return f"{failed[1]} gives {value}, not {failed[2]}."

    def _changes(self) -> Optional[str]:
        if self._before is None:
            return None
        now = self._files()
        if now is None:
            return None
        if now.pop("") != self._before.get(""):
            return None  # the shell is in another folder now: names would not compare
        made = sorted(name for name in now if self._before.get(name) != now[name])
        same = self._same_as_before(made)
        made = [name for name in made if name not in same]
        gone = sorted(name for name in self._before if name and name not in now)
        if not made and not gone:
            return UNCHANGED
        parts = []
        if made:
            parts.append("Changed or new: " + ", ".join(made[:20]))
        if gone:
            parts.append("Deleted: " + ", ".join(gone[:20]))
        for name in made[:SHOWN_FILES]:
            text = self._head(name)
            if text is not None:  # gone again: the names above still say it changed
                parts.append(f"--- {name} now holds:\n{_shown(text)}")
        return "\n".join(parts)

    def _same_as_before(self, names: list[str]) -> set[str]:
        """Of files the listing calls changed, those whose bytes are as the run found them: a
        file written again with its own text (Qwen2.5-Coder-1.5B "converted" inventory.py
        that way) is no change."""
        known = [name for name in names if name in self._sums][:MAX_COMPARED]
        now = self._cksums(known)
        return {name for name in known if now.get(name) == self._sums[name]}

    def _cksums(self, names: list[str]) -> dict[str, str]:
        """name -> "crc size" for those of ``names`` that are regular files, not links, inside
        the shell's folder, in one command ({} for no names, or when it failed)."""
        if not names:
            return {}
        quoted = " ".join(shlex.quote(name) for name in names)
        return _sums(self._sandbox(
            f'for f in {quoted}; do p=$(realpath -e -- "$f") && case "$p" in "$(pwd -P)"/*) '
            'test -f "$p" && ! test -L "$f" && s=$(cksum < "$p") && '
            'printf \'%s %s\\n\' "$s" "$f";; esac; done; true'))

    def _named_files(self) -> list[str]:
        """The files the task names, as they are: what a model that stopped before acting
        needs in front of it to act (those that exist shown, the others said to be missing)."""
        names = list(dict.fromkeys(_clean(m.group(0)) for m in _FILE_NAME.finditer(self.task)))
        before = self._before or {}
        parts = []
        for name in names[:SHOWN_FILES]:
            text = self._head(name) if name in before else None
            if text is not None:
                parts.append(f"--- {name} holds:\n{_shown(text)}")
            elif name not in before and _output_name(name) and self._missing(name):
                parts.append(f"--- {name} does not exist yet.")
        return parts

    def _missing_paths(self) -> list[str]:
        """The paths the task names that nothing is at yet: those with a folder in them, and
        file names (``total.txt``) that no file anywhere in the workspace has."""
        named = dict.fromkeys(_clean(m.group(0)) for m in _FOLDER_PATH.finditer(self.task))
        paths = [name for name in named if re.search("[A-Za-z]", name)
                 and not name.startswith("..")]
        now = self._files()  # None: no listing, so no telling where a bare name would be
        have = {name.rsplit("/", 1)[-1] for name in now or {}}
        files = [_clean(m.group(0)) for m in _FILE_NAME.finditer(self.task)
                 if now is not None and not re.match(r"\.\w", self.task[m.end():])]
        files = [name for name in files
                 if "/" not in name and name not in have and _output_name(name)]
        return [name for name in list(dict.fromkeys(paths + files))[:MAX_MISSING]
                if self._missing(name)]

    def _missing(self, name: str) -> bool:
        """Whether nothing at all, not even a dangling link, is at ``name``."""
        quoted = shlex.quote(name)
        return self._sandbox(f"! test -e {quoted} && ! test -L {quoted}") is not None

    def _changed(self) -> bool:
        """Whether the run has changed the workspace: by the listing when there is one, with
        files written back with the bytes they began with left out (a write of pages.py as it
        was, then told "call stop if it is right", and Qwen2.5-Coder-1.5B wrote it ten times)."""
        before = self._before
        now = self._files() if before is not None else None
        if before is None or now is None or now.get("") != before.get(""):
            return bool(self._writes)
        if any(name not in now for name in before):
            return True
        made = [name for name in now if name and before.get(name) != now[name]]
        return len(self._same_as_before(made)) < len(made)

    def _files(self) -> Optional[dict[str, str]]:
        listing = self._sandbox(LISTING)  # None: no GNU find, or too many files to tell
        return None if listing is None else _listing(listing)

    def _head(self, path: str) -> Optional[str]:
        """The start of a regular file, as the sandbox sees it; None when there is none."""
        return self._sandbox(_inside(path, f"head -c {SHOWN_BYTES + 1}"), cut_is_fine=True)

    def _sandbox(self, command: str, cut_is_fine: bool = False) -> Optional[str]:
        """A look-only command's output, or None when it failed, timed out or was cut."""
        try:
            result = self.runtime.run(command, timeout=10)
        except Exception:  # a failed look is no reason to fail the task
            return None
        if result.exit_code or result.timed_out or (result.truncated and not cut_is_fine):
            return None  # say nothing rather than something wrong
        return result.output


def _inside(path: str, command: str) -> str:
    """``command -- FILE`` for a regular file, not a link, whose real path is inside the
    shell's folder; anything else fails (exit status 3) without being opened."""
    quoted = shlex.quote(path)
    return (f'p=$(realpath -e -- {quoted}) && case "$p" in "$(pwd -P)"/*) '
            f'test -f "$p" && ! test -L {quoted} && {command} -- "$p";; *) exit 3;; esac')


#: Commands that may change files without the guide seeing a write: redirection, sed -i, mv...
_MAY_WRITE = re.compile(r">|\bsed\b[^|;&]*\s-i|\b(?:mv|cp|rm|touch|mkdir|tee|chmod|truncate|"
                        r"patch|perl|git|pip|python3?)\b")
_PATH_WORD = re.compile(r"(?!-)[\w./-]*[\w-]\.[\w]+|(?!-)[\w.-]+/[\w./-]+")  # a.py, src/x
MAX_STAMPED = 4  # files checksummed after a command that may write, so a long one costs little
#: mkdir without -p under a folder that is not there yet: Qwen2.5-Coder-1.5B sent it twice.
_MKDIR_PARENT = re.compile(r"^mkdir: cannot create directory .*: No such file or directory$",
                           re.MULTILINE)
#: Asked to turn tabs into spaces, Qwen2.5-Coder-1.5B wrote the file back with its tabs, as
#: copied text keeps them, three times in a row.
TABS_TIP = (" It holds tab characters, which a copy keeps; expand turns them into spaces: "
            "expand -t 4 {path} > expanded.tmp && mv expanded.tmp {path}")
MKDIR_TIP = "[mkdir -p makes the missing parent folders too.]"


def _read_file(name: str, arguments: str) -> str:
    """The one file a ``cat FILE`` action reads ('' for any other action)."""
    command = _arguments(arguments).get("cmd")
    words = _words(command) if name == "bash" and isinstance(command, str) else []
    if len(words) != 2 or words[0] != "cat" or not _PATH_WORD.fullmatch(words[1]):
        return ""
    return words[1]


#: A file's whole text that is one number: a total or a count, which small models add up wrongly.
_NUMBER = re.compile(r"\s*[-+]?(?:\d[\d,]*)?\.?\d+\s*")
TYPED_NUMBER = ("[You typed this number yourself. If it is a count, a sum or any result worked "
                "out from data, let a command work it out (wc -l, awk, python3 -c) and send its "
                "output to {path} with >.]")
STILL_TYPED = ("{paths} still holds a number you typed yourself, and a small model's sums and "
               "counts are often wrong: work it out with a command (wc -l, awk, python3 -c) "
               "and send its output there with >, then call stop again.")


def failure_tip(name: str, output: str, folder: str = "", value: str = "") -> str:
    """A hint for a failure whose fix a small model does not know ('' if none); paths are
    said from ``folder``, the run's, when they lie in it; ``value`` is what a failed
    assert's call gave."""
    if name == "bash" and _MKDIR_PARENT.search(output):
        return MKDIR_TIP
    return traceback_tip(output, folder, value)


def _keeps_asserts(old: str, new: str) -> bool:
    """Whether a test's new text keeps one of its old assert lines (or had none to keep)."""
    asserts = {line.strip() for line in old.splitlines() if line.strip().startswith("assert")}
    return not asserts or bool(asserts & {line.strip() for line in new.splitlines()})


#: Programs whose next word is a file they run, not one they show: ``python3 main.py``.
_RUNNERS = frozenset({"python", "python3", "bash", "sh", "node", "perl", "ruby"})


def _looked_at(words: list[str]) -> list[str]:
    """A command's words but the files it runs: Qwen2.5-Coder-1.5B ran main.py, never read
    it, and wrote report.py's text over it."""
    ran = {0} if words and words[0].startswith("./") else set()  # ./run.sh
    for at, word in enumerate(words):
        if posixpath.basename(word) not in _RUNNERS:
            continue
        at += 1
        while at < len(words) and words[at].startswith("-") and words[at] not in ("-c", "-m"):
            at += 1  # python3 -B main.py; python3 -c CODE runs no file
        if at < len(words) and not words[at].startswith("-"):
            ran.add(at)
    return [word for i, word in enumerate(words) if i not in ran]


def _output_name(name: str) -> bool:
    """Whether a file name in a task may be a file to make (not ``.gz`` of ``.tar.gz``, not
    ``e.g``)."""
    return len(name.rsplit(".", 1)[-1]) > 1 and not name.startswith(".")


def _words(command: str) -> list[str]:
    """A command's words, as the shell would split them (roughly, when it cannot)."""
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return _WORD.findall(command)


def _sums(text: Optional[str]) -> dict[str, str]:
    """name -> "crc size" from lines of ``crc size name`` (cksum's own form)."""
    sums = {}
    for line in (text or "").splitlines():
        crc, _, rest = line.partition(" ")
        size, _, name = rest.partition(" ")
        if name:
            sums[_clean(name)] = f"{crc} {size}"
    return sums


def _same_output(output: str) -> str:
    """The output with what differs between two runs of one failing command taken out."""
    return _ADDRESS.sub("0x", _SHELL_LINE.sub(r"\1", output))


def rambles(text: Optional[str], times: int = RAMBLE_LINES) -> bool:
    """Whether ``text`` holds one non-blank line ``times`` times in a row."""
    run, last = 0, None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        run = run + 1 if line == last else 1
        last = line
        if run >= times:
            return True
    return False


def interactive_note(name: str, arguments: str) -> tuple[str, Optional[str]]:
    """A note for a command that waits for a person at a terminal (``nano pages.py``), and
    the command to run instead (``cat -- pages.py``: the one file it names), or ('', None).

    Such a command fails or hangs here, and a small model tries it again and again; what it
    wants is the file in front of it."""
    command = _arguments(arguments).get("cmd") if name == "bash" else None
    try:
        words = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        words = []
    if not words or posixpath.basename(words[0]) not in INTERACTIVE:
        return "", None
    files = [word for word in words[1:] if not word.startswith(("-", "+"))]
    if len(files) == 1 and not set(str(command)) & set(";&|<>$`\n"):
        return (f"[{words[0]} waits for a person to type, and nobody can here, so this is "
                f"{files[0]} shown with cat instead. To change it, write its whole new text.]",
                f"cat -- {shlex.quote(files[0])}")
    return (f"[{words[0]} waits for a person to type, and nobody can here. To change a file, "
            "write its whole new text.]"), None


def _written_path(name: str, args: dict[str, Any]) -> str:
    """The file a ``write_file`` call or a ``cat > path <<`` command writes, or ''."""
    if name == WRITE_TOOL and isinstance(args.get("path"), str):
        return str(args["path"])
    if name == "bash" and isinstance(args.get("cmd"), str):
        match = _HEREDOC_WRITE.match(args["cmd"])
        return match.group(2) if match else _echoed_path(args["cmd"])
    return ""


def _echoed_path(command: str) -> str:
    """The file ``echo TEXT > FILE`` (or ``printf``) replaces: one command, one ``>`` at its
    end. Qwen2.5-Coder-1.5B replaced a whole config.json so, with the two keys it changed."""
    if "\n" in command.strip():
        return ""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return ""
    punctuation = [word for word in words if word and set(word) <= set("();<>|&")]
    if len(words) < 4 or words[0] not in ("echo", "printf") or punctuation != [">"] \
            or words[-2] != ">":
        return ""
    return words[-1]


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (ValueError, RecursionError):  # the dispatcher tells the model what was wrong
        return {}
    return value if isinstance(value, dict) else {}


def task_checks(task: str) -> list[str]:
    """The commands a task names for checking it, at most :data:`MAX_CHECKS`."""
    found = [match.group(1).strip() for match in _QUOTED_CHECK.finditer(task)]
    found += [match.group(0) for match in _BARE_CHECK.finditer(task)
              if not any(quoted.startswith(match.group(0)) for quoted in found)]
    found += [f"python3 {match.group(1)}" for match in _TEST_FILE.finditer(task)
              if not any(match.group(1) in command for command in found)]
    return list(dict.fromkeys(found))[:MAX_CHECKS]


def _shown(text: str) -> str:
    """A file's start as the model sees it: binary bytes are noise it would copy."""
    return "(binary data, not text)" if "\x00" in text or "\ufffd" in text else _cut(text)


def _cut(text: str, limit: int = SHOWN_BYTES) -> str:
    body = text if len(text) <= limit else text[:limit] + "\n[... cut]"
    return body.rstrip("\n") or "(empty)"
