"""Show text to a person as it is: control and invisible formatting characters made visible.

A command shown for approval (or in a transcript) must look like what runs: a carriage
return, an ANSI escape or a right-to-left override could otherwise redraw the line.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x00": "\\0"}
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def is_hidden(char: str, keep_newlines: bool = True) -> bool:
    """True for a character a terminal or browser would act on or not draw."""
    if char == "\n":
        return not keep_newlines
    if char == " " or char.isalnum():
        return False
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def escape_char(char: str) -> str:
    """The visible stand-in for one hidden character: ``\\r``, ``\\x1b``, ``\\u202e``."""
    if char in _NAMED:
        return _NAMED[char]
    if char == "\n":
        return "\\n"
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, keep_newlines: bool = True) -> str:
    """``text`` with every control or invisible formatting character written as an escape."""
    if text.isprintable():  # the common case: nothing to escape
        return text
    return "".join(escape_char(c) if is_hidden(c, keep_newlines) else c for c in text)


def has_hidden(text: str, keep_newlines: bool = True) -> bool:
    """True when :func:`visible` would change ``text``."""
    return any(is_hidden(c, keep_newlines) for c in text)
