"""Pygent: a minimalist coding assistant that runs a model's tool calls in a sandbox.

Names are resolved lazily (PEP 562) so ``import pygent`` stays fast and does not import
``openai``, ``docker``, ``streamlit`` or ``prompt_toolkit``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .app.registry import ToolRegistry, default_registry
from .domain.errors import ConfigError, ModelError, PygentError
from .domain.sandbox import CommandResult, PathEscapeError, SandboxError
from .domain.tools import ToolSpec

if TYPE_CHECKING:
    from . import openai_compat
    from .adapters.direct_model import DirectModel
    from .adapters.echo_model import EchoModel
    from .adapters.openai_model import OpenAIModel
    from .agent import Agent, RunResult
    from .runtime import Runtime

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "CommandResult",
    "ConfigError",
    "DirectModel",
    "EchoModel",
    "ModelError",
    "OpenAIModel",
    "PathEscapeError",
    "PygentError",
    "RunResult",
    "Runtime",
    "SandboxError",
    "ToolRegistry",
    "ToolSpec",
    "__version__",
    "clear_tools",
    "openai_compat",
    "register_tool",
    "remove_tool",
    "reset_tools",
    "tool",
    "tools",
]

_LAZY = {
    "Agent": "pygent.agent",
    "RunResult": "pygent.agent",
    "Runtime": "pygent.runtime",
    "DirectModel": "pygent.adapters.direct_model",
    "EchoModel": "pygent.adapters.echo_model",
    "OpenAIModel": "pygent.adapters.openai_model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "openai_compat":
        return importlib.import_module("pygent.openai_compat")
    raise AttributeError(f"module 'pygent' has no attribute {name!r}")


def register_tool(name: str, description: str, parameters: dict[str, Any], func: Any) -> ToolSpec:
    """Register ``func(runtime, **arguments) -> str`` as a tool every default agent can call."""
    return default_registry.register(name, description, parameters, func)


def tool(func: Any = None, **options: Any) -> Any:
    """Decorator form of :func:`register_tool`; the docstring becomes the description."""
    return default_registry.tool(func, **options)


def remove_tool(name: str) -> None:
    """Remove a registered tool (``ValueError`` if there is none by that name)."""
    default_registry.remove(name)


def clear_tools() -> None:
    """Remove every tool, built-ins included."""
    default_registry.clear()


def reset_tools() -> None:
    """Restore the built-in tools (``bash``, ``write_file``, ``stop``) and nothing else."""
    default_registry.reset()


def tools() -> list[str]:
    """Names of the tools registered now."""
    return default_registry.names()
