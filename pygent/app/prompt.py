"""The system prompt: short, because small local models pay for every token of it."""

from __future__ import annotations

from ..domain.persona import Persona
from ..domain.tools import ToolSpec
from .text_protocol import TEXT, WORKFLOW, text_tools_prompt


def build_system_prompt(persona: Persona, tools: list[ToolSpec], protocol: str = "native") -> str:
    """Say who the agent is and list exactly the tools registered now.

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
    return "\n".join(lines)
