"""Issue 11 item 10: a Markdown image in text the page draws becomes a link, code stays as is."""

from __future__ import annotations

import time

import pytest

from pygent.entrypoints.web.safe_markdown import literal, unlink_images

EVIL = "http://evil.example/p.png?q=secret"


@pytest.mark.parametrize(("text", "expected"), [
    (f"![chart]({EVIL})", f"[image: chart (evil\\.example)]({EVIL})"),
    (f'see ![a [b] c](<{EVIL}> "title") end',
     f'see [image: a [b] c (evil\\.example)](<{EVIL}> "title") end'),
    (f"![]({EVIL})", f"[image (evil\\.example)]({EVIL})"),
    ("![x](http://a.example/(b)c)", "[image: x (a\\.example)](http://a.example/(b)c)"),
    ("![x](/media/p.png)", "[image: x (this page)](/media/p.png)"),
])
def test_an_inline_image_becomes_a_link_that_names_its_host(text: str, expected: str) -> None:
    assert unlink_images(text) == expected


@pytest.mark.parametrize(("image", "link"), [
    ("![logo][ref]", "[image: logo (evil\\.example)][ref]"),
    ("![ref][]", "[image: ref (evil\\.example)][ref]"),
    ("![REF]", "[image: REF (evil\\.example)][REF]"),
])
def test_a_reference_style_image_becomes_a_reference_link(image: str, link: str) -> None:
    definition = f"\n\n[ref]: {EVIL}"
    assert unlink_images(image + definition) == link + definition


def test_code_spans_and_fenced_code_are_left_alone() -> None:
    text = (f"Use `![x]({EVIL})` like this:\n\n```markdown\n![y]({EVIL})\n```\n\n"
            f"~~~\n![z]({EVIL})\n~~~\nbut ![w]({EVIL})")
    assert unlink_images(text) == text.replace(f"![w]({EVIL})",
                                               f"[image: w (evil\\.example)]({EVIL})")


@pytest.mark.parametrize("text", [
    f"`start\nend` ![x]({EVIL}) `",  # a span across lines: these backticks do not pair up
    f"| `a | ![x]({EVIL}) ` |",  # table cells split a span
    f"<a title='`'> ![x]({EVIL}) `",  # an HTML tag holds the first backtick
    f"<div>\n```\n</div>\n\n![x]({EVIL})\n```",  # that fence line is inside HTML
    f"- a\n  ```\n  code\n- b ![x]({EVIL})",  # the list item, and its fence, ended
    f"[![inner]({EVIL})](http://link.example/)",
    f"![a ![b]({EVIL}) c](http://a.example/)",
    f"\\\\![x]({EVIL})",  # an escaped backslash, then a live image
])
def test_where_a_reader_could_see_an_image_no_image_syntax_is_left(text: str) -> None:
    rewritten = unlink_images(text)
    for start in range(len(rewritten)):
        if rewritten.startswith("![", start):  # every "![" left has its "!" escaped
            slashes = len(rewritten[:start]) - len(rewritten[:start].rstrip("\\"))
            assert slashes % 2 == 1, rewritten


def test_an_escaped_bang_and_an_undefined_reference_stay_text() -> None:
    assert unlink_images(f"\\![x]({EVIL})") == f"\\![x]({EVIL})"
    assert unlink_images("![nothing] here") == "\\![nothing] here"


def test_pathological_text_is_rewritten_quickly() -> None:
    for text in ("![" * 50_000, "![" + "a" * 100_000, "![a](" * 30_000, "`x " * 30_000,
                 ("![" + "[" * 10) * 10_000, "\\" * 50_000 + "![x](y)"):
        started = time.monotonic()
        unlink_images(text)
        assert time.monotonic() - started < 2.0, text[:20]


def test_literal_text_escapes_every_markdown_mark() -> None:
    assert literal("bash · rm *.txt [x](y) `z` $a$ :red[b]") == (
        "bash · rm \\*\\.txt \\[x\\]\\(y\\) \\`z\\` \\$a\\$ \\:red\\[b\\]")
