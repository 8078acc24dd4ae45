"""What running a command in a sandbox gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class CommandResult:
    """The outcome of one command: its output (stdout and stderr together) and status."""

    output: str
    exit_code: int = 0
    timed_out: bool = False
    truncated: bool = False
    full_output_path: Optional[str] = None
    notice: str = ""

    def to_text(self) -> str:
        """The text the model sees: the output plus any status it needs to know."""
        parts = [self.output.rstrip("\n")] if self.output else []
        if self.notice:
            parts.append(f"[{self.notice}]")
        if self.timed_out:
            parts.append("[command timed out and was killed]")
        elif self.exit_code != 0:
            parts.append(f"[exit status {self.exit_code}]")
        return "\n".join(parts)


def is_script(text: str) -> bool:
    """Whether a file's text opens with ``#!``, the mark of a script meant to be run."""
    return text.startswith("#!")
