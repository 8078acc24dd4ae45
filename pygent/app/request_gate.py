"""``GatedModel``: a model whose every request holds a slot of a gate shared across a run.

The gate (a :class:`~pygent.domain.ports.RequestGate`) is what ``max_requests`` bounds: one
batch run's jobs, on threads or on a cluster, or one session and the tasks it delegates, share
it, so the model server never sees more requests at once than the run is allowed.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..domain.ports import ModelPort, RequestGate
from .agent import takes_keyword, takes_on_delta

__all__ = ["GatedModel"]


class GatedModel:
    """A :class:`~pygent.domain.ports.ModelPort` that waits for a free slot before each request.

    The slot is held for the whole request (a streamed reply included) and freed however it
    ends. Every other attribute (``last_usage``, ``base_url``, ...) is the inner model's.
    """

    def __init__(self, model: ModelPort, gate: RequestGate) -> None:
        self.inner = model
        self.gate = gate

    def chat(
        self,
        messages: list[dict[str, Any]],
        model: str,
        tools: list[dict[str, Any]],
        on_delta: Optional[Callable[[str], None]] = None,
        temperature: Optional[float] = None,
    ) -> Any:
        """Ask the inner model once a slot is free; ``on_delta`` goes on if it streams, and
        ``temperature`` if it takes one."""
        chat: Any = self.inner.chat
        options: dict[str, Any] = {}
        if on_delta is not None and takes_on_delta(chat):
            options["on_delta"] = on_delta
        if temperature is not None and takes_keyword(chat, "temperature"):
            options["temperature"] = temperature
        with self.gate.slot():
            return chat(messages, model, tools, **options)

    def __getattr__(self, name: str) -> Any:
        """The inner model's attribute: the loop reads ``last_usage`` after each reply."""
        if name in ("inner", "gate") or name.startswith("__"):  # unpickling, copying
            raise AttributeError(name)
        return getattr(self.inner, name)
