"""What each model step cost: tokens the server counted and wall time, and their totals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class StepStats:
    """One step: tokens from the server's usage (when it gave any) and seconds spent."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0  # the whole step: the model's reply and the tools it called
    model_seconds: float = 0.0  # waiting for the model only
    usage_known: bool = False  # False when the server sent no usage (tokens are then 0)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_usage(
        cls, usage: Optional[Mapping[str, int]], seconds: float = 0.0, model_seconds: float = 0.0
    ) -> StepStats:
        """Build from an OpenAI-style usage dict (``prompt_tokens``, ``completion_tokens``)."""
        if not usage:
            return cls(seconds=seconds, model_seconds=model_seconds)
        return cls(
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            seconds,
            model_seconds,
            usage_known=True,
        )


@dataclass(frozen=True)
class Totals:
    """Several steps added up, for the one-line summary and the token limit."""

    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model_seconds: float = 0.0
    unreported: int = 0  # steps whose server sent no usage

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def describe(self) -> str:
        """One line: ``3 steps, 1,200 prompt + 80 completion tokens, 4.2 s``."""
        steps = f"{self.steps} step{'' if self.steps == 1 else 's'}"
        if self.steps and self.unreported == self.steps:
            tokens = "tokens not reported by the server"
        else:
            tokens = f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens"
            if self.unreported:
                tokens += f" ({self.unreported} step(s) without usage)"
        return f"{steps}, {tokens}, {self.seconds:.1f} s"


def totals(stats: Iterable[StepStats]) -> Totals:
    """Add up steps."""
    steps = prompt = completion = unreported = 0
    seconds = model_seconds = 0.0
    for each in stats:
        steps += 1
        prompt += each.prompt_tokens
        completion += each.completion_tokens
        seconds += each.seconds
        model_seconds += each.model_seconds
        unreported += not each.usage_known
    return Totals(steps, prompt, completion, seconds, model_seconds, unreported)
