"""The system prompt: short, because small local models pay for every token of it."""

from __future__ import annotations

from typing import Optional

from ..domain.instructions import ProjectInstructions, size_text
from ..domain.persona import Persona
from ..domain.tools import ToolSpec
from .text_protocol import TEXT, WORKFLOW, text_tools_prompt

INSTRUCTIONS_HEAD = ("Project instructions from AGENTS.md (the person's own rules for this "
                     "project; where files differ, the later one is more specific and wins):")
INSTRUCTIONS_END = "End of the project instructions."


def build_system_prompt(persona: Persona, tools: list[ToolSpec], protocol: str = "native",
                        instructions: Optional[ProjectInstructions] = None) -> str:
    """Say who the agent is, list exactly the tools registered now, then the project's rules.

    With the native protocol the server also sends the tool schemas; with the text protocol
    the prompt is all the model knows of the tools, so it says how to write each action.
    """
    lines = [f"You are {persona.name}, {persona.description}."]
    if not tools:
        lines.append("No tools are available; answer in text.")
    elif protocol == TEXT:
        lines.extend(text_tools_prompt(tools))
    else:
        lines.append("Use the tools to act; the working directory is the workspace.")
        lines.append("Tools: " + "; ".join(f"{t.name}: {t.description}" for t in tools))
        lines.append(WORKFLOW)
        if any(t.name == "stop" for t in tools):
            lines.append("Call stop when the check shows the task is done.")
    if instructions is not None and instructions.files:
        lines.append(instructions_section(instructions))
    return "\n".join(lines)


def instructions_section(instructions: ProjectInstructions) -> str:
    """The AGENTS.md files between clear marks, each named, saying where the limit cut."""
    limit = size_text(instructions.limit)
    parts = [INSTRUCTIONS_HEAD]
    for each in instructions.files:
        if each.left_out:
            parts.append(f"[{each.label} left out: the {limit} limit on instructions was "
                         "reached]")
            continue
        parts.append(f"--- {each.label} ---")
        parts.append(each.text.strip("\n"))
        if each.cut:
            parts.append(f"[{each.label} cut here: only the first {limit} of instructions are "
                         "read]")
    parts.append(INSTRUCTIONS_END)
    return "\n".join(parts)
