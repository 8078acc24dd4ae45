"""Project instructions (AGENTS.md files) as read for one conversation: texts, sizes, cuts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

AGENTS_FILE = "AGENTS.md"
#: Bytes of AGENTS.md per prompt token it adds (its Markdown and the section's marks): 3.3 to
#: 3.7 with Qwen2.5-Coder's tokenizer (python benchmarks/instruction_tokens.py); the banner's
#: estimate divides by it.
BYTES_PER_TOKEN = 3.5


@dataclass(frozen=True)
class InstructionFile:
    """One AGENTS.md: where it is, relative to the workspace, and the text taken from it.

    ``left_out`` is True for a file the size limit left no room for: its text is empty.
    """

    label: str  # "AGENTS.md" in the workspace, "../AGENTS.md" one folder above, ...
    text: str
    size: int  # bytes of the file taken into the prompt
    cut: bool = False
    left_out: bool = False


@dataclass(frozen=True)
class ProjectInstructions:
    """The AGENTS.md files of a workspace, outermost first, and why any was not read."""

    files: tuple[InstructionFile, ...] = ()
    limit: int = 0  # the most bytes read from all of them together
    problems: tuple[str, ...] = ()  # e.g. "AGENTS.md is a symbolic link: not read"

    @property
    def size(self) -> int:
        """Bytes taken into the prompt, all files together."""
        return sum(each.size for each in self.files)

    @property
    def cut(self) -> bool:
        """True when the limit cut a file or left one out."""
        return any(each.cut or each.left_out for each in self.files)

    def tokens(self) -> int:
        """About how many prompt tokens the instructions add (an estimate, not a count)."""
        return round(self.size / BYTES_PER_TOKEN)

    def summary(self) -> str:
        """One line for a banner: which files, how big, and what was cut or refused."""
        parts = []
        read = [each.label for each in self.files if not each.left_out]
        if read:
            parts.append(f"{', '.join(read)} ({size_text(self.size)}, ~{self.tokens()} tokens)")
        if self.cut:
            parts.append(f"cut at the {size_text(self.limit)} limit")
        parts.extend(self.problems)
        return "; ".join(parts)


#: Reads the instructions for the workspace folder it is given (an adapter does the I/O).
InstructionsReader = Callable[[Path], ProjectInstructions]


def size_text(size: int) -> str:
    """``812 B``, ``1.2 KB``, ``32 KB`` (1 KB = 1,024 bytes)."""
    if size < 1024:
        return f"{size} B"
    kilo = size / 1024
    return f"{kilo:.1f} KB" if kilo < 10 and kilo != int(kilo) else f"{kilo:.0f} KB"
