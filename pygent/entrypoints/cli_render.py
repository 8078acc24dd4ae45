"""Terminal output for the CLI: Markdown, tool calls, folded output, a spinner; stdlib only.

Text from outside (the model's words, a command and its output, error messages) is printed
with its control characters made visible, so it cannot move the cursor, clear the screen or
write the clipboard (OSC 52); only the renderer's own styles reach the terminal as codes.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import sys
import threading
import unicodedata
from typing import Optional, TextIO

from ..app.outcomes import asked_question
from ..app.registry import ASK_TOOL, ASKING, STOP_TOOL, STOPPING
from ..domain.events import (
    AssistantDelta,
    AssistantText,
    Event,
    Notice,
    ToolCallStarted,
    ToolOutput,
)
from ..domain.visible import visible

RESET, BOLD, DIM, ITALIC = "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[3m"
RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN = (f"\x1b[{n}m" for n in range(31, 37))

HEAD_LINES = 12
TAIL_LINES = 8


def use_color(stream: TextIO) -> bool:
    """Color only on a terminal, and never when NO_COLOR is set."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def fold(text: str, head: int = HEAD_LINES, tail: int = TAIL_LINES) -> str:
    """Keep the first and last lines of long output and say how many were left out."""
    lines = text.split("\n")
    if len(lines) <= head + tail + 1:
        return text
    hidden = len(lines) - head - tail
    return "\n".join([*lines[:head], f"... {hidden} lines left out ...", *lines[-tail:]])


_INLINE = re.compile(r"(`[^`\n]+`|\*\*[^*\n]+\*\*|__[^_\n]+__|\*[^*\s][^*\n]*\*)")


def _inline(text: str, color: bool) -> str:
    if not color:
        return text

    def style(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("`"):
            return f"{CYAN}{token[1:-1]}{RESET}"
        if token.startswith(("**", "__")):
            return f"{BOLD}{token[2:-2]}{RESET}"
        return f"{ITALIC}{token[1:-1]}{RESET}"

    return _INLINE.sub(style, text)


class MarkdownLines:
    """A small Markdown subset for a terminal, one line at a time (code fences span lines)."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.in_code = False

    def render(self, line: str) -> Optional[str]:
        """The line styled; None for a code fence, which color mode leaves out."""
        color = self.color
        stripped = line.strip()
        if stripped.startswith("```"):
            self.in_code = not self.in_code
            return None if color else line
        if self.in_code:
            return f"{DIM}  {RESET}{GREEN}{line}{RESET}" if color else line
        heading = re.match(r"(#{1,6})\s+(.*)", stripped)
        bullet = re.match(r"(\s*)([-*+])\s+(.*)", line)
        if heading and color:
            return f"{BOLD}{MAGENTA}{heading.group(2)}{RESET}"
        if bullet and color:
            return f"{bullet.group(1)}• {_inline(bullet.group(3), color)}"
        if stripped.startswith(">") and color:
            return f"{DIM}│{RESET} {ITALIC}{_inline(stripped[1:].strip(), color)}{RESET}"
        return _inline(line, color)


def render_markdown(text: str, color: bool) -> str:
    """A small Markdown subset for a terminal: headings, lists, quotes, code, emphasis."""
    lines = MarkdownLines(color)
    return "\n".join(r for r in map(lines.render, text.split("\n")) if r is not None)


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (wide characters count two, a tab up to eight)."""
    width = 0
    for char in text:
        if char == "\t":
            width += 8 - width % 8
        elif unicodedata.combining(char):
            continue
        else:
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def printable(text: str) -> str:
    """``text`` safe to print: control characters escaped, line ends and tabs kept."""
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n")
    return "\t".join(visible(part) for part in text.split("\t"))


def describe_call(name: str, arguments: str) -> str:
    """One line for a tool call: ``$ cmd`` for bash, else the name and its arguments.

    Hidden characters are shown escaped: what the line shows is what the command holds.
    """
    try:
        return visible(_describe(name, arguments))
    except RecursionError:
        return visible(f"{name} (arguments nested too deeply to show)")


def _describe(name: str, arguments: str) -> str:
    try:
        values = json.loads(arguments) if arguments else {}
    except (ValueError, TypeError, RecursionError):
        values = None
    if not isinstance(values, dict):
        return f"{name} {arguments}"
    if name == "bash" and isinstance(values.get("cmd"), str):
        return f"$ {values['cmd']}"
    parts = [name]
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines = text.count("\n") + 1
        short = text.split("\n", 1)[0]
        if len(short) > 60 or lines > 1:
            short = short[:57] + "..." + (f" ({lines} lines)" if lines > 1 else "")
        parts.append(f"{key}={json.dumps(short)}")
    return " ".join(parts)


class Spinner:
    """A status line (``⠋ thinking``) drawn by a thread while nothing else prints."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: TextIO, enabled: bool, delay: float = 0.25) -> None:
        self.stream = stream
        self.enabled = enabled
        self.delay = delay
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._drawn = False

    def start(self, label: str) -> None:
        """Show ``label`` with a turning wheel until :meth:`stop`."""
        if not self.enabled:
            return
        self.stop()
        stop = self._stop = threading.Event()
        thread = self._thread = threading.Thread(target=self._spin, args=(label, stop),
                                                 daemon=True)
        thread.start()

    def _spin(self, label: str, stop: threading.Event) -> None:
        if stop.wait(self.delay):
            return
        for frame in itertools.cycle(self.FRAMES):
            with self._lock:
                if stop.is_set():
                    return
                self.stream.write(f"\r{DIM}{frame} {label}{RESET}\x1b[K")
                self.stream.flush()
                self._drawn = True
            if stop.wait(0.1):
                return

    def stop(self) -> None:
        """Erase the status line; safe at any moment, even half-way through :meth:`start`."""
        self._stop.set()
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False
        thread, self._thread = self._thread, None
        if thread is not None and thread.ident is not None:
            thread.join(timeout=1)


class Renderer:
    """Writes agent events and messages to the terminal.

    On a terminal the model's text is written as it streams in (``AssistantDelta``), each
    line redrawn as Markdown once it ends, and the ``AssistantText`` that follows is then
    not printed again; elsewhere only the whole text is printed, as Markdown.
    """

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                 color: Optional[bool] = None, spinner: Optional[bool] = None,
                 show_text: bool = True, show_output: bool = True,
                 stream_text: Optional[bool] = None) -> None:
        self.out = out
        self.err = err
        self.show_text = show_text
        self.show_output = show_output
        self.stream_text = show_text and (out.isatty() if stream_text is None else stream_text)
        self.color = use_color(out) if color is None else color
        self.spinner = Spinner(out, out.isatty() if spinner is None else spinner)
        self._streamed = False  # streamed text is on screen since the last other output
        self._partial = ""  # ... and its last line, not ended yet, as it came
        self._markdown = MarkdownLines(self.color)

    def paint(self, text: str, *styles: str) -> str:
        """``text`` in the given styles when color is on."""
        style = "".join(styles)
        return f"{style}{text}{RESET}" if self.color and style else text

    def line(self, text: str = "", *styles: str) -> None:
        """Print one line to stdout, its control characters escaped, in the given styles."""
        self.styled_line(self.paint(printable(text), *styles))

    def styled_line(self, text: str) -> None:
        """Print a line the renderer styled itself: its escape codes reach the terminal."""
        self.spinner.stop()
        self.end_stream()
        print(text, file=self.out, flush=True)

    def error(self, text: str) -> None:
        """Print an error line in red to stderr."""
        self.spinner.stop()
        self.end_stream()
        color = self.color and use_color(self.err)
        text = printable(text)
        message = f"{RED}Error: {text}{RESET}" if color else f"Error: {text}"
        print(message, file=self.err, flush=True)

    def notice(self, text: str) -> None:
        """Print something the person should know, in yellow."""
        self.line(text, YELLOW)

    def stream(self, text: str) -> None:
        """Write a piece of streamed text where the last one ended; ended lines become Markdown."""
        self.spinner.stop()
        self._streamed = True
        for piece in printable(text).splitlines(keepends=True):
            ended = piece.endswith(("\n", "\r"))
            piece = piece.rstrip("\r\n")
            self.out.write(piece)
            self._partial += piece
            if ended:
                self._end_line()
        self.out.flush()

    def _end_line(self) -> None:
        raw, self._partial = self._partial, ""
        styled = self._markdown.render(raw)
        if styled == raw:
            self.out.write("\n")
            return
        rows_above = max(0, display_width(raw) - 1) // max(1, shutil.get_terminal_size().columns)
        up = f"\x1b[{rows_above}A" if rows_above else ""
        self.out.write(f"\r{up}\x1b[J" + ("" if styled is None else styled + "\n"))

    def end_stream(self) -> bool:
        """Close the streamed text's line; True when text was streamed since the last call."""
        streamed, self._streamed = self._streamed, False
        if self._partial:
            self._end_line()
            self.out.flush()
        self._markdown = MarkdownLines(self.color)
        return streamed

    def event(self, event: Event) -> None:
        """Render one agent event (the listener the CLI subscribes)."""
        if isinstance(event, AssistantDelta):
            if self.stream_text:
                self.stream(event.text)  # no spinner: it would draw over the open line
            return
        self.spinner.stop()
        if isinstance(event, AssistantText):
            if not self.end_stream() and self.show_text:
                self.styled_line(render_markdown(printable(event.text), self.color))
        elif isinstance(event, ToolCallStarted):
            if event.name == ASK_TOOL:  # the question is for the person: say it plainly
                self.styled_line(render_markdown(printable(asked_question(event.arguments)),
                                                 self.color))
            elif event.name != STOP_TOOL:  # its result, if any, is what the person reads
                self.line(describe_call(event.name, event.arguments), BOLD, BLUE)
                self.spinner.start(f"running {event.name}")
                return
        elif isinstance(event, ToolOutput):
            if (event.name, event.output) in ((STOP_TOOL, STOPPING), (ASK_TOOL, ASKING)):
                pass
            elif event.output and (self.show_output or event.is_error):
                self.line(fold(event.output), RED if event.is_error else "")
        elif isinstance(event, Notice):
            self.notice(event.text)
        self.spinner.start("thinking")
