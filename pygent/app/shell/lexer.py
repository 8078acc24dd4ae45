"""A bash lexer for the deny rules: command text into words, operators and here-documents.

It reads text the way bash splits it, and collects the commands inside every ``$(...)``,
backquote and ``<(...)`` too. It runs nothing; text it cannot read raises ShellSyntaxError,
so a caller can fail closed.
"""

from __future__ import annotations

import re
from typing import Optional

from .words import (
    DYN,
    LIT,
    RAW,
    Heredoc,
    Op,
    ShellSyntaxError,
    Token,
    Word,
    decode_ansi_c,
    merged,
    word_of,
)

_METACHARS = frozenset(" \t\r\n;&|()<>")
_PLAIN = re.compile(r"[^ \t\r\n;&|()<>\\'\"$`]+")
_QUOTED_PLAIN = re.compile(r"[^\"\\$`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARRAY_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_FD_PREFIX = re.compile(r"[0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\}")
_OPERATOR = re.compile(r";;&|<<<|<<-|&>>|;;|;&|&&|\|\||\|&|&>|<<|>>|<>|>\||>&|<&|[;&|()<>]")
_COMMAND_START = frozenset({";", "&", "&&", "||", "|", "|&", "(", "\n", ";;", ";&", ";;&",
                            "then", "do", "else", "elif", "{", "!", "if", "while", "until"})
_MAX_NESTING = 40


def lex(command: str) -> tuple[list[Token], list[list[Token]]]:
    """The tokens of ``command``, and those of every ``$(...)``, backquote and ``<(...)`` in it."""
    lexer = _Lexer(command, 0)
    return lexer.tokens(closing=False), lexer.nested


class _Lexer:
    """Reads one source text; nested command texts land in ``nested`` as token lists."""

    def __init__(self, src: str, level: int) -> None:
        if level > _MAX_NESTING:
            raise ShellSyntaxError("substitutions are nested too deeply")
        self.src = src
        self.pos = 0
        self.level = level
        self.nested: list[list[Token]] = []
        self.pending: list[Heredoc] = []

    # Tokens ---------------------------------------------------------------------------------

    def tokens(self, closing: bool) -> list[Token]:
        """Tokens up to the end, or (``closing``) up to the ``)`` that ends a ``$(``."""
        src = self.src
        out: list[Token] = []
        depth = cases = 0
        while True:
            self._skip_blanks()
            if self.pos >= len(src):
                if closing:
                    raise ShellSyntaxError("a '$(' or '<(' is never closed")
                if self.pending:
                    raise ShellSyntaxError("the here-document ending in "
                                           f"{self.pending[0].delimiter!r} is never closed")
                return out
            char = src[self.pos]
            if char == "#":
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
                continue
            if char == "\n":
                self.pos += 1
                out.append(Op("\n"))
                self._read_heredocs()
                continue
            if src.startswith("((", self.pos):
                start = self.pos
                if self._arithmetic(start + 2):
                    out.append(Op("(("))
                    continue
                self.pos = start
            if char in "<>" and src.startswith("(", self.pos + 1):
                start = self.pos
                self.pos += 2
                self._substitution(start)
                out.append(word_of(src[start:self.pos], DYN))
                continue
            if char in "();<>|&":
                op = _OPERATOR.match(src, self.pos).group()  # type: ignore[union-attr]
                self.pos += len(op)
                if op == "(":
                    depth += 1
                elif op == ")":
                    if closing and depth == 0 and cases == 0:
                        return out
                    depth = max(depth - 1, 0)
                out.append(Op(op))
                if op in ("<<", "<<-"):
                    out.append(self._heredoc(strip_tabs=op == "<<-"))
                continue
            word = self._word()
            if src[self.pos:self.pos + 1] in ("<", ">") and word.unquoted \
                    and _FD_PREFIX.fullmatch(word.text):
                continue  # the 2 of 2>&1: a file descriptor, not an argument
            if closing and word.unquoted and _starts_command(out):
                cases += word.text == "case"
                cases -= word.text == "esac" and cases > 0
            out.append(word)

    def _skip_blanks(self) -> None:
        src = self.src
        while self.pos < len(src):
            if src[self.pos] in " \t\r":
                self.pos += 1
            elif src.startswith("\\\n", self.pos):
                self.pos += 2
            else:
                return

    def _heredoc(self, strip_tabs: bool) -> Heredoc:
        self._skip_blanks()
        if self.pos >= len(self.src) or self.src[self.pos] in _METACHARS:
            raise ShellSyntaxError("a here-document has no delimiter")
        word = self._word()
        heredoc = Heredoc(word.text, not word.unquoted, strip_tabs)
        self.pending.append(heredoc)
        return heredoc

    def _read_heredocs(self) -> None:
        src = self.src
        for heredoc in self.pending:
            lines = []
            while True:
                if self.pos >= len(src):
                    raise ShellSyntaxError(f"the here-document ending in {heredoc.delimiter!r} "
                                           "is never closed")
                end = src.find("\n", self.pos)
                end = len(src) if end < 0 else end
                line = src[self.pos:end]
                self.pos = min(end + 1, len(src))
                if heredoc.strip_tabs:
                    line = line.lstrip("\t")
                if line == heredoc.delimiter:
                    break
                lines.append(line + "\n")
            body = "".join(lines)
            if heredoc.quoted:
                heredoc.body = word_of(body)
            else:
                inner = _Lexer(body, self.level + 1)
                heredoc.body = merged(inner._quoted(closing=None))
                self.nested.extend(inner.nested)
        del self.pending[:]

    # Words ----------------------------------------------------------------------------------

    def _word(self) -> Word:
        src = self.src
        parts: list[tuple[str, str]] = []
        while self.pos < len(src):
            char = src[self.pos]
            if char in _METACHARS:
                if char == "(" and _assigns_array(parts):
                    start = self.pos
                    self.pos += 1
                    self.tokens(closing=True)
                    parts.append((DYN, src[start:self.pos]))
                    continue
                break
            plain = _PLAIN.match(src, self.pos)
            if plain:
                parts.append((RAW, plain.group()))
                self.pos = plain.end()
            elif char == "\\":
                escaped = src[self.pos + 1:self.pos + 2]
                self.pos += 2
                if escaped != "\n":
                    parts.append((LIT, escaped or "\\"))
            elif char == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise ShellSyntaxError("a single quote is never closed")
                parts.append((LIT, src[self.pos + 1:end]))
                self.pos = end + 1
            elif char == '"':
                self.pos += 1
                parts.extend(self._quoted(closing='"'))
            elif char == "$":
                parts.extend(self._dollar(quoted=False))
            else:  # a backquote
                parts.append(self._backquote())
        return merged(parts)

    def _quoted(self, closing: Optional[str]) -> list[tuple[str, str]]:
        """A double-quoted string (``closing='"'``) or a here-document body (None)."""
        src = self.src
        parts: list[tuple[str, str]] = []
        escapable = '$`"\\\n' if closing else "$`\\\n"
        while self.pos < len(src):
            char = src[self.pos]
            if char == closing:
                self.pos += 1
                return parts
            plain = _QUOTED_PLAIN.match(src, self.pos)
            if plain:
                parts.append((LIT, plain.group()))
                self.pos = plain.end()
            elif char == "\\":
                escaped = src[self.pos + 1:self.pos + 2]
                self.pos += 2
                if escaped in escapable and escaped:
                    if escaped != "\n":
                        parts.append((LIT, escaped))
                else:
                    parts.append((LIT, "\\" + escaped))
            elif char == "$":
                parts.extend(self._dollar(quoted=True))
            elif char == "`":
                parts.append(self._backquote())
            else:  # a double quote inside a here-document body
                parts.append((LIT, char))
                self.pos += 1
        if closing:
            raise ShellSyntaxError("a double quote is never closed")
        return parts

    def _dollar(self, quoted: bool) -> list[tuple[str, str]]:
        src, start = self.src, self.pos
        after = src[start + 1:start + 2]
        if after == "'" and not quoted:
            text, self.pos = decode_ansi_c(src, start)
            return [(LIT, text)]
        if after == '"' and not quoted:
            self.pos += 2
            return self._quoted(closing='"')
        if after == "(":
            if not (src.startswith("((", start + 1) and self._arithmetic(start + 3)):
                self.pos = start + 2
                self._substitution(start)
        elif after == "{":
            self._braced()
        elif after and (after in "@*#?-$!" or after.isdigit()):
            self.pos += 2
        else:
            name = _NAME.match(src, start + 1)
            if not name:
                self.pos += 1
                return [(LIT, "$")]
            self.pos = name.end()
        return [(DYN, src[start:self.pos])]

    def _substitution(self, start: int) -> None:
        """Reads the commands of a ``$(`` or ``<(`` whose text starts at ``start``."""
        inner = _Lexer(self.src, self.level + 1)
        inner.pos = self.pos
        inner.pending = self.pending
        self.nested.append(inner.tokens(closing=True))
        self.nested.extend(inner.nested)
        self.pos = inner.pos

    def _arithmetic(self, begin: int) -> bool:
        """Reads ``((...))`` from its content at ``begin``; False when it is not arithmetic."""
        src, depth, index = self.src, 0, begin
        while index < len(src):
            char = src[index]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    if src.startswith(")", index + 1):
                        self.pos = index + 2
                        return True
                    return False
                depth -= 1
            elif char in "$`'\"":
                self.pos = index
                if char == "$":
                    self._dollar(quoted=False)
                elif char == "`":
                    self._backquote()
                else:
                    self._word_quote(char)
                index = self.pos
                continue
            index += 1
        raise ShellSyntaxError("a '((' is never closed")  # so no later '((' is tried again

    def _word_quote(self, char: str) -> None:
        if char == "'":
            end = self.src.find("'", self.pos + 1)
            if end < 0:
                raise ShellSyntaxError("a single quote is never closed")
            self.pos = end + 1
        else:
            self.pos += 1
            self._quoted(closing='"')

    def _braced(self) -> None:
        """Reads a ``${...}`` expansion, with the commands of any substitution inside it."""
        src = self.src
        self.pos += 2
        while self.pos < len(src):
            char = src[self.pos]
            if char == "}":
                self.pos += 1
                return
            if char == "\\":
                self.pos += 2
            elif char in "'\"":
                self._word_quote(char)
            elif char == "$":
                self._dollar(quoted=True)
            elif char == "`":
                self._backquote()
            else:
                self.pos += 1
        raise ShellSyntaxError("a '${' is never closed")

    def _backquote(self) -> tuple[str, str]:
        src, start = self.src, self.pos
        chars, index = [], start + 1
        while index < len(src) and src[index] != "`":
            if src[index] == "\\" and src[index + 1:index + 2] in ("`", "\\", "$"):
                index += 1
            chars.append(src[index])
            index += 1
        if index >= len(src):
            raise ShellSyntaxError("a backquote is never closed")
        self.pos = index + 1
        inner = _Lexer("".join(chars), self.level + 1)
        self.nested.append(inner.tokens(closing=False))
        self.nested.extend(inner.nested)
        return (DYN, src[start:self.pos])


def _assigns_array(parts: list[tuple[str, str]]) -> bool:
    text = "".join(text for kind, text in parts if kind == RAW)
    return len(text) == sum(len(t) for _, t in parts) and bool(_ARRAY_ASSIGNMENT.fullmatch(text))


def _starts_command(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if isinstance(last, Op):
        return last.text in _COMMAND_START
    return isinstance(last, Word) and last.unquoted and last.text in _COMMAND_START
