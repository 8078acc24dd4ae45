"""Who the agent says it is."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DESCRIPTION = "a concise coding assistant working in a sandboxed shell"


@dataclass(frozen=True)
class Persona:
    """The agent's name and a one-line description for the system prompt."""

    name: str = "Pygent"
    description: str = DEFAULT_DESCRIPTION
