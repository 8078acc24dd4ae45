"""``Agent``: the agent loop wired to the model, sandbox and settings the container gives."""

from __future__ import annotations

from typing import Any, Optional

from .app.agent import AgentLoop, RunResult, ToolGuard
from .app.registry import ToolRegistry
from .domain.persona import Persona
from .domain.ports import ModelPort
from .runtime import Runtime

__all__ = ["Agent", "RunResult"]


class Agent(AgentLoop):
    """A model, a runtime and the tools; any argument left out comes from the settings."""

    def __init__(
        self,
        model: Optional[ModelPort] = None,
        runtime: Optional[Runtime] = None,
        *,
        tools: Optional[ToolRegistry] = None,
        persona: Optional[Persona] = None,
        model_name: Optional[str] = None,
        history: Any = None,
        guard: Optional[ToolGuard] = None,
        settings: Any = None,
    ) -> None:
        from .container import container, resolve_model_name, resolve_tool_protocol

        settings = settings if settings is not None else container.settings()
        protocol = resolve_tool_protocol(settings)
        check = settings.check_before_stop
        super().__init__(
            model if model is not None else container.model(),
            runtime if runtime is not None else Runtime(settings=settings),
            tools=tools,
            persona=persona if persona is not None else container.persona(settings=settings),
            model_name=model_name or resolve_model_name(settings),
            history=history if history is not None else container.history(settings=settings),
            guard=guard if guard is not None else container.guard(settings=settings),
            recover_text_tool_calls=settings.recover_text_tool_calls,
            tool_protocol=protocol,
            text_reply_limit=settings.text_reply_limit,
            check_before_stop=protocol == "text" if check is None else check,
        )
        self.settings = settings
