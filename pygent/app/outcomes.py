"""How a step or a run ends: its result, and what calls cut off by an exception are told."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ..domain.errors import StepCancelled
from ..domain.messages import Message
from ..domain.stats import StepStats, totals

INTERRUPTED = "Interrupted by the user before this tool finished."
UNFINISHED = "No result: the session ended before this tool finished."


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
    reason: str  # "stop", "answer", "asked", "no_action", "max_steps", "max_tokens", "max_time"
    result: str = ""  # what the model passed to stop, or the question it asked

    @property
    def text(self) -> str:
        """The final assistant text, else the result given to stop (may be empty)."""
        return self.message.content or self.result

    @property
    def finished(self) -> bool:
        """True when the model ended the run itself rather than hitting a limit."""
        return self.reason in ("stop", "answer")


def asked_question(raw_arguments: str) -> str:
    """The question of an ``ask_user`` call: its ``question``, else any text it carries."""
    try:
        arguments = json.loads(raw_arguments or "{}")
    except (ValueError, RecursionError):
        return raw_arguments
    if not isinstance(arguments, dict):
        return str(arguments)
    texts = [arguments.get("question"), *arguments.values()]
    return next((t.strip() for t in texts if isinstance(t, str) and t.strip()), "")


def limit_reached(stats: Sequence[StepStats], started: float, max_tokens: Optional[int],
                  max_time: Optional[float], warned: bool) -> tuple[Optional[str], str]:
    """The limit a run (its own ``stats``, begun at ``started``) hit, and the notice to give."""
    if max_tokens is not None:
        used = totals(stats)
        if used.tokens >= max_tokens:
            return "max_tokens", (f"Stopped: token limit of {max_tokens:,} reached "
                                  f"({used.tokens:,} tokens used).")
        if used.unreported and not warned:
            return "warned", (f"The server reports no token usage, so the token limit of "
                              f"{max_tokens:,} cannot be enforced.")
    if max_time is not None and time.monotonic() - started >= max_time:
        return "max_time", f"Stopped: time limit of {max_time:g} s reached."
    return None, ""
