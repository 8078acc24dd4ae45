"""Importing pygent stays cheap: no model SDK, Docker client, web or terminal toolkit."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openai", "docker", "streamlit", "prompt_toolkit", "dependency_injector", "xllamacpp",
         "ray")


def test_import_pygent_leaves_heavy_packages_unimported() -> None:
    code = (
        "import sys, pygent, pygent.openai_compat\n"
        "from pygent import Agent, Runtime, register_tool, clear_tools\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


PUBLIC = {
    "Agent", "AssistantDelta", "AssistantText", "CommandResult", "ConfigError", "DirectModel",
    "EchoModel", "Event", "Message", "MissingFileError", "ModelError", "Notice", "OpenAIModel",
    "PathEscapeError", "Persona", "PygentError", "ReadOnlyError", "RunResult", "Runtime",
    "SandboxError",
    "Settings", "load_config",
    "StepCancelled", "ToolCall", "ToolCallFunction", "ToolCallStarted", "ToolOutput",
    "ToolRegistry", "ToolSpec", "__version__", "clear_tools", "openai_compat", "register_tool",
    "remove_tool", "reset_tools", "tool", "tools", "TaskError", "TaskManager", "Task",
    "register_task_tools", "make_executor", "CheckpointError", "CheckpointConflict",
}


def test_the_public_api_is_the_documented_names_and_each_is_pygents_own() -> None:
    import typing

    import pygent

    assert set(pygent.__all__) == PUBLIC
    for name in PUBLIC - {"__version__", "openai_compat", "Event"}:
        assert getattr(pygent, name).__module__.split(".")[0] == "pygent", name
    assert set(typing.get_args(pygent.Event)) == {
        pygent.AssistantText, pygent.AssistantDelta, pygent.ToolCallStarted, pygent.ToolOutput,
        pygent.Notice}
    assert pygent.openai_compat.__name__ == "pygent.openai_compat"
    assert issubclass(pygent.SandboxError, pygent.PygentError)
    assert issubclass(pygent.StepCancelled, pygent.PygentError)
