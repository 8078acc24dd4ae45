"""Tool descriptions: what the model is told about a tool, and the function that runs it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

ToolFunc = Callable[..., str]


@dataclass
class ToolSpec:
    """A tool the model may call: ``func(runtime, **arguments) -> str``."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: ToolFunc
    signature: inspect.Signature = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.signature = inspect.signature(self.func)

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI tool schema for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def check_arguments(self, runtime: object, arguments: dict[str, Any]) -> str | None:
        """Say what is wrong with ``arguments`` for this tool, or ``None`` when they fit."""
        try:
            self.signature.bind(runtime, **arguments)
        except TypeError as exc:
            required = self.parameters.get("required", [])
            known = list(self.parameters.get("properties", {}))
            return f"{exc}; expected arguments {known} (required: {required})"
        return None
