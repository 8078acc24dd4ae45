"""Pygent: a minimalist coding assistant that runs a model's tool calls in a sandbox.

Names are resolved lazily (PEP 562) so ``import pygent`` stays fast and does not import
``openai``, ``docker``, ``streamlit`` or ``prompt_toolkit``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .domain.errors import (
    CheckpointConflict,
    CheckpointError,
    ConfigError,
    MissingFileError,
    ModelError,
    PathEscapeError,
    PygentError,
    ReadOnlyError,
    SandboxError,
    StepCancelled,
    TaskError,
)
from .domain.sandbox import CommandResult

if TYPE_CHECKING:
    from . import openai_compat
    from .adapters.direct_model import DirectModel
    from .adapters.echo_model import EchoModel
    from .adapters.openai_model import OpenAIModel
    from .agent import Agent, RunResult
    from .app.registry import ToolRegistry
    from .app.settings import Settings, load_config
    from .domain.events import (
        AssistantDelta,
        AssistantText,
        Event,
        Notice,
        ToolCallStarted,
        ToolOutput,
    )
    from .domain.messages import Message, ToolCall, ToolCallFunction
    from .domain.persona import Persona
    from .domain.tools import ToolSpec
    from .runtime import Runtime
    from .tasks import Task, TaskManager, make_executor

__version__ = "0.1.0"

__all__ = [  # grouped by kind
    "Agent", "RunResult", "Runtime", "CommandResult", "Persona",
    "DirectModel", "EchoModel", "OpenAIModel", "openai_compat",
    "Message", "ToolCall", "ToolCallFunction",
    "Event", "AssistantDelta", "AssistantText", "Notice", "ToolCallStarted", "ToolOutput",
    "PygentError", "ConfigError", "ModelError", "SandboxError", "PathEscapeError",
    "MissingFileError", "ReadOnlyError", "StepCancelled", "TaskError", "TaskManager", "Task",
    "CheckpointError", "CheckpointConflict",
    "make_executor",
    "ToolRegistry", "ToolSpec", "register_tool", "tool", "remove_tool", "clear_tools",
    "reset_tools", "tools", "register_task_tools", "Settings", "load_config", "__version__",
]

_LAZY = {name: module for module, names in {  # name -> the module it is imported from
    "pygent.agent": ("Agent", "RunResult"),
    "pygent.runtime": ("Runtime",),
    "pygent.tasks": ("Task", "TaskManager", "make_executor"),
    "pygent.adapters.direct_model": ("DirectModel",),
    "pygent.adapters.echo_model": ("EchoModel",),
    "pygent.adapters.openai_model": ("OpenAIModel",),
    "pygent.domain.events": ("AssistantDelta", "AssistantText", "Event", "Notice",
                             "ToolCallStarted", "ToolOutput"),
    "pygent.domain.messages": ("Message", "ToolCall", "ToolCallFunction"),
    "pygent.domain.persona": ("Persona",),
    "pygent.app.registry": ("ToolRegistry",),
    "pygent.domain.tools": ("ToolSpec",),
    "pygent.app.settings": ("Settings", "load_config"),
}.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "openai_compat":
        return importlib.import_module("pygent.openai_compat")
    raise AttributeError(f"module 'pygent' has no attribute {name!r}")


def _registry() -> ToolRegistry:
    """The default registry, imported on first use: ``pygent --help`` never needs it."""
    from .app.registry import default_registry

    return default_registry


def register_tool(name: str, description: str, parameters: dict[str, Any], func: Any) -> ToolSpec:
    """Register ``func(runtime, **arguments) -> str`` as a tool every default agent can call."""
    return _registry().register(name, description, parameters, func)


def tool(func: Any = None, *args: Any, **options: Any) -> Any:
    """Decorator form of :func:`register_tool`: ``@tool`` or ``@tool(name, description,
    parameters)``; the docstring is the description unless one is given."""
    return _registry().tool(func, *args, **options)


def remove_tool(name: str) -> None:
    """Remove a registered tool (``ValueError`` if there is none by that name)."""
    _registry().remove(name)


def clear_tools() -> None:
    """Remove every tool, built-ins included."""
    _registry().clear()


def reset_tools() -> None:
    """Restore the built-in tools (``bash``, ``write_file``, ``stop``) and nothing else."""
    _registry().reset()


def register_task_tools() -> list[str]:
    """Put the task tools (``delegate_task``, ``task_status``, ...) back after
    ``clear_tools()``; they are built in, so a fresh session has them already."""
    from .app.registry import register_task_tools as register

    return register()


def tools() -> list[str]:
    """Names of the tools registered now."""
    return _registry().names()
