"""Bash command text as its simple commands: what runs, with where its input comes from.

Compound commands (``if``, ``for``, ``case``, ``{ }``, subshells, functions) are opened so
every command inside them is seen; their structure is checked enough that text bash would
reject is rejected here too (ShellSyntaxError), for the deny rules to fail closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from .lexer import lex
from .words import Heredoc, Op, ShellSyntaxError, Token, Word

_SEPARATORS = frozenset({";", "&", "&&", "||", "\n"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_PIPES = frozenset({"|", "|&"})
_REDIRECTS = frozenset({"<", ">", ">>", "<>", ">|", "&>", "&>>", ">&", "<&", "<<<", "<<", "<<-"})
# keyword -> (what must be open before it, what is open after it; None: it closes a block)
_KEYWORDS: dict[str, tuple[Optional[frozenset[str]], Optional[str]]] = {
    "if": (None, "if"),
    "then": (frozenset({"if", "elif"}), "then"),
    "elif": (frozenset({"then"}), "elif"),
    "else": (frozenset({"then"}), "else"),
    "fi": (frozenset({"then", "else"}), None),
    "while": (None, "loop"),
    "until": (None, "loop"),
    "do": (frozenset({"loop", "for"}), "do"),
    "done": (frozenset({"do"}), None),
    "{": (None, "{"),
    "}": (frozenset({"{"}), None),
    "esac": (frozenset({"case"}), None),
}
_RESERVED = frozenset(_KEYWORDS) | {"!", "time", "for", "select", "case", "function", "coproc"}


@dataclass
class SimpleCommand:
    """One simple command: its words (assignments first), and where its stdin comes from.

    ``stdin`` is "" (inherited), "pipe", "file", "process" (``< <(...)``), "fd" (``<&3``),
    "heredoc" or "herestring"; for the last two ``stdin_text`` is what is read.
    """

    words: list[Word] = field(default_factory=list)
    stdin: str = ""
    stdin_text: Optional[Word] = None


def simple_commands(command: str) -> list[SimpleCommand]:
    """Every simple command in ``command``, including those inside substitutions."""
    tokens, nested = lex(command)
    found = _Parser(tokens).parse()
    for inner in nested:
        found.extend(_Parser(inner).parse())
    return found


class _Parser:
    """Walks one token list; ``stack`` holds the compound commands still open."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.stack: list[str] = []
        self.found: list[SimpleCommand] = []
        self.current: Optional[SimpleCommand] = None
        self.piped = False
        self.piped_blocks: list[int] = []  # depths of compound commands that read a pipe

    def parse(self) -> list[SimpleCommand]:
        """The simple commands, in order; ShellSyntaxError when the structure is broken."""
        mode = "command"
        for token in self._stream():
            if mode == "condition":  # inside [[ ... ]]: operators are tests, not control
                if isinstance(token, Word) and token.unquoted and token.text == "]]":
                    mode = "command"
            elif mode in ("for", "case"):
                mode = self._header(mode, token)
            elif mode == "pattern":
                mode = self._pattern(token)
            elif isinstance(token, Op):
                mode = self._operator(token.text)
            elif isinstance(token, Word):
                mode = self._word(token)
            else:
                raise ShellSyntaxError("a here-document is misplaced")
        self._finish()
        if mode != "command" or self.stack:
            opened = self.stack[-1] if self.stack else mode
            raise ShellSyntaxError(f"a {opened!r} is never closed")
        return self.found

    def _stream(self) -> Iterator[Token]:
        while self.index < len(self.tokens):
            token = self.tokens[self.index]
            self.index += 1
            yield token

    def _next(self) -> Optional[Token]:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _finish(self) -> None:
        current, self.current = self.current, None
        if current is not None and current.words:
            if (self.piped or self.piped_blocks) and not current.stdin:
                current.stdin = "pipe"
            self.found.append(current)

    def _command(self) -> SimpleCommand:
        if self.current is None:
            self.current = SimpleCommand()
        return self.current

    def _operator(self, op: str) -> str:
        if op in _REDIRECTS:
            self._redirect(op)
            return "command"
        self._finish()
        if op in _PIPES:
            self.piped = True
            return "command"
        if op in _SEPARATORS or op in _CASE_ENDS:
            self.piped = False
        if op in _SEPARATORS:
            return "command"
        if op in _CASE_ENDS:
            if not self.stack or self.stack[-1] != "case":
                raise ShellSyntaxError(f"{op!r} outside a case")
            return "pattern"
        if op == "(":
            self._open("(")
        elif op == ")":
            if not self.stack or self.stack[-1] != "(":
                raise ShellSyntaxError("an unexpected ')'")
            self._close()
        return "command"  # "((": an arithmetic command, nothing to run

    def _open(self, block: str) -> None:
        if self.piped and self.current is None:
            self.piped_blocks.append(len(self.stack))
        self.stack.append(block)

    def _close(self) -> None:
        self.stack.pop()
        while self.piped_blocks and self.piped_blocks[-1] >= len(self.stack):
            self.piped_blocks.pop()

    def _redirect(self, op: str) -> None:
        target = self._next()
        if not isinstance(target, (Word, Heredoc)):
            raise ShellSyntaxError(f"the redirection {op!r} has no target")
        self.index += 1
        command = self._command()
        if isinstance(target, Heredoc):
            command.stdin, command.stdin_text = "heredoc", target.body
        elif op == "<<<":
            command.stdin, command.stdin_text = "herestring", target
        elif op == "<":
            command.stdin = "process" if target.text.startswith("<(") else "file"
        elif op == "<&":
            command.stdin = "fd"

    def _word(self, word: Word) -> str:
        command = self.current
        if command is not None and command.words:
            command.words.append(word)
            return "command"
        keyword = word.text if word.unquoted else ""
        nxt = self._next()
        if isinstance(nxt, Op) and nxt.text == "(" and keyword not in _RESERVED \
                and not keyword.startswith("["):
            return self._function_name(named=True)
        if keyword in _KEYWORDS:
            needs, opens = _KEYWORDS[keyword]
            if needs is not None and (not self.stack or self.stack[-1] not in needs):
                raise ShellSyntaxError(f"an unexpected {keyword!r}")
            if needs is None and opens is not None:
                self._open(opens)
            elif opens is None:
                self._close()
            elif opens is not None:
                self.stack[-1] = opens
            return "command"
        if keyword == "time":  # the keyword and its -p; /usr/bin/time is a wrapper instead
            while isinstance(nxt, Word) and nxt.text.startswith("-"):
                self.index += 1
                nxt = self._next()
            return "command"
        if keyword == "!":
            return "command"
        if keyword in ("for", "select"):
            self._open("for")
            return "for"
        if keyword == "case":
            self._open("case")
            return "case"
        if keyword == "[[":
            return "condition"
        if keyword == "function":
            return self._function_name(named=False)
        if keyword == "coproc":
            after = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if isinstance(nxt, Word) and (after == Op("(") or isinstance(after, Word)
                                          and after.unquoted and after.text == "{"):
                self.index += 1  # coproc NAME { ...; }: NAME is not a command
            return "command"
        self._command().words.append(word)
        return "command"

    def _function_name(self, named: bool) -> str:
        """Skips the name and ``()`` of a function definition; its body is parsed as usual."""
        if not named and isinstance(self._next(), Word):
            self.index += 1
        opening = self._next()
        if isinstance(opening, Op) and opening.text == "(":
            self.index += 1
            closing = self._next()
            if not (isinstance(closing, Op) and closing.text == ")"):
                raise ShellSyntaxError("a function definition lacks its ')'")
            self.index += 1
        return "command"

    def _header(self, mode: str, token: Token) -> str:
        """The words of ``for NAME in ...`` or ``case WORD in``, which are not commands."""
        if isinstance(token, Word) and token.unquoted:
            if mode == "case" and token.text == "in":
                return "pattern"
            if mode == "for" and token.text == "do":
                self.stack[-1] = "do"
                return "command"
        if isinstance(token, Op) and token.text in (";", "\n") and mode == "for":
            return "command"
        if isinstance(token, Op) and token.text not in ("\n", "(("):
            raise ShellSyntaxError(f"an unexpected {token.text!r} in a {mode} header")
        return mode

    def _pattern(self, token: Token) -> str:
        """Case patterns up to their ``)``, or the ``esac`` that closes the case."""
        if isinstance(token, Word) and token.unquoted and token.text == "esac":
            self._close()
            return "command"
        if isinstance(token, Op) and token.text == ")":
            return "command"
        if isinstance(token, Op) and token.text not in ("(", "|", "\n"):
            raise ShellSyntaxError(f"an unexpected {token.text!r} in a case pattern")
        return "pattern"
