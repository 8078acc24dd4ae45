"""The system prompt: short, because small local models pay for every token of it."""

from __future__ import annotations

from ..domain.persona import Persona
from ..domain.tools import ToolSpec


def build_system_prompt(persona: Persona, tools: list[ToolSpec]) -> str:
    """Say who the agent is and list exactly the tools registered now."""
    lines = [f"You are {persona.name}, {persona.description}."]
    if tools:
        lines.append("Use the tools to act; the working directory is the workspace.")
        lines.append("Tools: " + "; ".join(f"{t.name}: {t.description}" for t in tools))
        if any(t.name == "stop" for t in tools):
            lines.append("Call stop when the task is done.")
    else:
        lines.append("No tools are available; answer in text.")
    return "\n".join(lines)
