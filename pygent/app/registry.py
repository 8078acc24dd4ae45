"""The tools a model may call, and the default registry the module-level helpers act on."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..domain.tools import ToolFunc, ToolSpec

if TYPE_CHECKING:
    from ..domain.ports import ToolRuntime


class ToolRegistry:
    """An ordered set of tools by name."""

    def __init__(self, specs: Optional[list[ToolSpec]] = None) -> None:
        self._tools: dict[str, ToolSpec] = {}
        for spec in specs or []:
            self.add(spec)

    def add(self, spec: ToolSpec) -> None:
        """Add a tool; a name already taken is an error."""
        if spec.name in self._tools:
            raise ValueError(f"a tool named {spec.name!r} is already registered")
        self._tools[spec.name] = spec

    def register(
        self, name: str, description: str, parameters: dict[str, Any], func: ToolFunc
    ) -> ToolSpec:
        """Register ``func(runtime, **arguments) -> str`` as tool ``name``."""
        if not name or not isinstance(name, str):
            raise ValueError("a tool needs a non-empty name")
        spec = ToolSpec(name=name, description=description, parameters=parameters, func=func)
        self.add(spec)
        return spec

    def tool(
        self,
        func: Optional[ToolFunc | str] = None,
        description: Optional[str] = None,
        parameters: Optional[dict[str, Any]] = None,
        *,
        name: Optional[str] = None,
    ) -> Any:
        """Decorator: register a function, taking the description from its docstring.

        ``@tool``, ``@tool(name=..., description=...)`` and ``@tool(name, description,
        parameters)`` all work; what is not given comes from the function.
        """
        if isinstance(func, str):
            name, func = func, None

        def decorate(f: ToolFunc) -> ToolFunc:
            self.register(
                name or f.__name__,
                description or inspect.getdoc(f) or f.__name__,
                parameters if parameters is not None else parameters_from_signature(f),
                f,
            )
            return f

        return decorate(func) if func is not None else decorate

    def remove(self, name: str) -> None:
        """Remove a tool; a name that is not registered is an error."""
        if name not in self._tools:
            raise ValueError(f"no tool named {name!r} is registered (have: {self.names()})")
        del self._tools[name]

    def clear(self) -> None:
        """Remove every tool."""
        self._tools.clear()

    def reset(self) -> None:
        """Go back to the built-in tools only (the task tools among them)."""
        self._tools = {spec.name: spec for spec in default_tools()}

    def get(self, name: str) -> Optional[ToolSpec]:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Registered tool names, in registration order."""
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        """Registered tools, in registration order."""
        return list(self._tools.values())

    def schemas(self) -> list[dict[str, Any]]:
        """The OpenAI tool schemas of every registered tool."""
        return [spec.to_openai() for spec in self._tools.values()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.specs())

    def __len__(self) -> int:
        return len(self._tools)


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def parameters_from_signature(func: Callable[..., Any]) -> dict[str, Any]:
    """A JSON schema for every parameter after ``runtime``, from type hints and defaults."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    params = list(inspect.signature(func).parameters.values())[1:]
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = param.annotation
        json_type = _JSON_TYPES.get(annotation) if isinstance(annotation, type) else None
        if json_type is None and isinstance(annotation, str):
            json_type = {v.__name__: t for v, t in _JSON_TYPES.items()}.get(annotation)
        properties[param.name] = {"type": json_type or "string"}
        if param.default is param.empty:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required}


def _bash(runtime: ToolRuntime, cmd: str) -> str:
    return runtime.bash(cmd)


def _write_file(runtime: ToolRuntime, path: str, content: str) -> str:
    return runtime.write_file(path, content)


def _stop(runtime: ToolRuntime, result: str = "", **other: Any) -> str:
    """Another argument a small model invents (``summary``, ``message``) is the result too."""
    texts = [result, *(value for value in other.values() if isinstance(value, str))]
    return next((text.strip() for text in texts if text.strip()), STOPPING)


def _ask_user(runtime: ToolRuntime, question: str = "", **other: Any) -> str:
    return ASKING


def ask_user_tool() -> ToolSpec:
    """``ask_user``: hands the turn back to the person with a question (setting ``ask_user``)."""
    return ToolSpec(
        ASK_TOOL,
        "Ask the person a question and wait for the answer; only when you cannot go on "
        "without it.",
        {"type": "object", "properties": {"question": {"type": "string"}},
         "required": ["question"]},
        _ask_user,
    )


def with_ask_user(tools: ToolRegistry, on: bool) -> ToolRegistry:
    """``tools``, or a copy of them plus ``ask_user`` when ``on`` (the shared one is kept)."""
    if not on or ASK_TOOL in tools:
        return tools
    return ToolRegistry([*tools.specs(), ask_user_tool()])


def without_task_tools(tools: ToolRegistry) -> ToolRegistry:
    """A copy of ``tools`` without the built-in task tools (a user's own of that name stays)."""
    from .task_tools import task_tools

    builtin = {id(spec.func) for spec in task_tools()}
    kept = [spec for spec in tools.specs() if id(spec.func) not in builtin]
    return tools if len(kept) == len(tools) else ToolRegistry(kept)


def register_task_tools(tools: Optional[ToolRegistry] = None) -> list[str]:
    """Add the task tools to ``tools`` (the default registry) where missing; their names."""
    from .task_tools import task_tools

    registry = default_registry if tools is None else tools
    for spec in task_tools():
        if spec.name not in registry:
            registry.add(spec)
    return [spec.name for spec in task_tools()]


def default_tools() -> list[ToolSpec]:
    """What the default registry starts with: the built-in tools, then the task tools."""
    from .task_tools import task_tools

    return [*builtin_tools(), *task_tools()]


def builtin_tools() -> list[ToolSpec]:
    """The tools every agent starts with: ``bash``, ``write_file`` and ``stop``."""
    return [
        ToolSpec(
            "bash",
            "Run a shell command in the workspace and return its output.",
            {
                "type": "object",
                "properties": {"cmd": {"type": "string", "description": "The command."}},
                "required": ["cmd"],
            },
            _bash,
        ),
        ToolSpec(
            "write_file",
            "Create or overwrite a text file in the workspace.",
            {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the workspace."},
                    "content": {"type": "string", "description": "The whole file content."},
                },
                "required": ["path", "content"],
            },
            _write_file,
        ),
        ToolSpec(
            "stop",
            "Call when the task is finished.",
            # no declared parameters: with one, a 0.5B model copied it into its other calls;
            # a "result" (or any string) it passes anyway is taken as the run's result
            {"type": "object", "properties": {}, "required": []},
            _stop,
        ),
    ]


STOP_TOOL = "stop"
STOPPING = "Stopping."  # what stop answers when no result is given
ASK_TOOL = "ask_user"
ASKING = "Asked the person; their answer is the next message."

default_registry = ToolRegistry(default_tools())
