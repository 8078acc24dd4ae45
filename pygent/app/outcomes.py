"""How a step or a run ends: its result, and what calls cut off by an exception are told."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.messages import Message

INTERRUPTED = "Interrupted by the user before this tool finished."
UNFINISHED = "No result: the session ended before this tool finished."


class StepCancelled(Exception):
    """Raise it (or a subclass) from a listener to end a step as the person asked (Stop)."""


def unfinished_note(exc: BaseException) -> str:
    """What a call left unanswered by ``exc`` is answered with: said as it happened."""
    if isinstance(exc, (SystemExit, GeneratorExit)):
        return UNFINISHED
    if isinstance(exc, StepCancelled) or not isinstance(exc, Exception):
        return INTERRUPTED  # Ctrl-C, a Stop button, an asyncio cancellation
    detail = " ".join(str(exc).split())[:200]
    return (f"No result: the step ended before this tool finished "
            f"({type(exc).__name__}{': ' + detail if detail else ''}).")


@dataclass
class RunResult:
    """How :meth:`Agent.run_until_stop` ended."""

    message: Message
    steps: int
    reason: str  # "stop", "answer", "no_action", "max_steps", "max_tokens" or "max_time"
    result: str = ""  # what the model passed to stop, if anything

    @property
    def text(self) -> str:
        """The final assistant text, else the result given to stop (may be empty)."""
        return self.message.content or self.result

    @property
    def finished(self) -> bool:
        """True when the model ended the run itself rather than hitting a limit."""
        return self.reason in ("stop", "answer")
