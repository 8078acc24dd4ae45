"""The terminal renderer with streamed text: pieces written as they come, lines redrawn once."""

from __future__ import annotations

import io

import pytest

from pygent.domain.events import AssistantDelta, AssistantText, Notice, ToolCallStarted
from pygent.entrypoints.cli_render import BOLD, MAGENTA, RESET, Renderer, display_width


def renderer(color: bool = False, stream_text: bool = True) -> tuple[Renderer, io.StringIO]:
    out = io.StringIO()
    return Renderer(out=out, err=out, color=color, spinner=False, stream_text=stream_text), out


def test_streamed_pieces_are_written_once_and_the_whole_text_is_not_repeated() -> None:
    render, out = renderer()
    for piece in ("Hel", "lo\nwor", "ld"):
        render.event(AssistantDelta(piece))
    assert out.getvalue() == "Hello\nworld"
    render.event(AssistantText("Hello\nworld"))
    assert out.getvalue() == "Hello\nworld\n"


def test_without_streaming_deltas_are_ignored_and_the_whole_text_printed() -> None:
    render, out = renderer(stream_text=False)
    render.event(AssistantDelta("Hel"))
    render.event(AssistantText("Hello"))
    assert out.getvalue() == "Hello\n"


def test_an_ended_line_is_redrawn_as_markdown_in_color() -> None:
    render, out = renderer(color=True)
    render.event(AssistantDelta("# Ti"))
    render.event(AssistantDelta("tle\nplain"))
    render.event(AssistantText("# Title\nplain"))
    assert out.getvalue() == f"# Title\r\x1b[J{BOLD}{MAGENTA}Title{RESET}\nplain\n"


def test_a_code_fence_line_is_erased_in_color() -> None:
    render, out = renderer(color=True)
    render.event(AssistantDelta("```\n"))
    assert out.getvalue() == "```\r\x1b[J"


def test_other_output_starts_on_a_new_line_after_streamed_text() -> None:
    render, out = renderer()
    render.event(AssistantDelta("Let me look"))
    render.event(ToolCallStarted("x", "bash", '{"cmd": "ls"}'))
    render.event(Notice("done"))
    assert out.getvalue() == "Let me look\n$ ls\ndone\n"


def test_display_width_counts_wide_characters_and_tabs() -> None:
    assert display_width("abc") == 3
    assert display_width("日本") == 4
    assert display_width("a\tb") == 9


def test_a_line_that_wrapped_is_redrawn_from_its_first_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "10")
    render, out = renderer(color=True)
    line = "**bold** then plain words"  # 25 columns: three rows of 10
    render.event(AssistantDelta(line + "\n"))
    assert out.getvalue().startswith(line + "\r\x1b[2A\x1b[J")


def test_a_streamed_carriage_return_or_escape_is_shown_not_acted_on() -> None:
    render, out = renderer(color=True)
    render.event(AssistantDelta("50%\r100% \x1b[2J"))
    render.event(AssistantDelta("**done**\n"))
    assert "\r100%" not in out.getvalue() and "\x1b[2J" not in out.getvalue()
    assert out.getvalue().startswith("50%\\r100% \\x1b[2J**done**\r\x1b[J")
