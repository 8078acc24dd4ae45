"""The agent loop: ask the model, run the tools it calls, answer every call, repeat."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..domain.conversation import Conversation
from ..domain.events import (
    AssistantDelta,
    AssistantText,
    Event,
    EventListener,
    Notice,
    ToolCallStarted,
    ToolOutput,
)
from ..domain.messages import Message, ToolCall
from ..domain.persona import Persona
from ..domain.ports import HistoryPort, ModelPort
from ..domain.sandbox import SandboxError
from ..domain.stats import StepStats, Totals, totals
from .prompt import build_system_prompt
from .registry import STOP_TOOL, ToolRegistry, default_registry
from .replies import mistyped_strings, parse_arguments, to_message
from .tool_text import split_tool_calls

#: Decides whether a tool call may run: ``None`` to allow it, or the refusal the model sees.
ToolGuard = Callable[[str, dict[str, Any]], Optional[str]]

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
    reason: str  # "stop", "answer", "max_steps", "max_tokens" or "max_time"

    @property
    def text(self) -> str:
        """The final assistant text (may be empty)."""
        return self.message.content or ""

    @property
    def finished(self) -> bool:
        """True when the model ended the run itself rather than hitting a limit."""
        return self.reason in ("stop", "answer")


class AgentLoop:
    """A conversation between a model and the tools, running in one runtime.

    A model whose ``chat`` takes an ``on_delta`` keyword gets a callback for each piece of
    text as it streams, which the loop emits as :class:`AssistantDelta` events; the seed's
    three-argument ``chat(messages, model, tools)`` still works and simply does not stream.
    After each reply the loop reads the model's ``last_usage`` (if it has one) into ``stats``.
    """

    def __init__(
        self,
        model: ModelPort,
        runtime: Any,
        *,
        tools: Optional[ToolRegistry] = None,
        persona: Optional[Persona] = None,
        model_name: str = "",
        history: Optional[HistoryPort] = None,
        guard: Optional[ToolGuard] = None,
        recover_text_tool_calls: bool = True,
    ) -> None:
        self.model = model
        self.runtime = runtime
        self.tools = tools if tools is not None else default_registry
        self.persona = persona or Persona()
        self.model_name = model_name
        self.history = history
        self.guard = guard
        self.recover_text_tool_calls = recover_text_tool_calls
        self.listeners: list[EventListener] = []
        self.stats: list[StepStats] = []  # one per model reply, for totals and token limits
        self.conversation = Conversation(history.load() if history is not None else ())
        self._prompt_key: tuple[Any, ...] = ()
        self._prompt: dict[str, Any] = {}

    # -- events -------------------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """Call ``listener`` with every event from now on."""
        self.listeners.append(listener)

    def emit(self, event: Event) -> None:
        """Send one event to every listener."""
        for listener in self.listeners:
            listener(event)

    # -- conversation -------------------------------------------------------------------
    def append(self, message: Message) -> None:
        """Add a message to the conversation and to the history log, if any."""
        self.conversation.append(message)
        if self.history is not None:
            self.history.append(message)

    def new_conversation(self) -> None:
        """Forget the conversation; the runtime and its workspace stay."""
        self.conversation.clear()
        if self.history is not None:
            self.history.start_new()

    def system_message(self) -> dict[str, Any]:
        """The system prompt as a wire dict, listing the tools registered right now."""
        specs = self.tools.specs()
        key = (self.persona, *map(id, specs))
        if key != self._prompt_key:
            content = build_system_prompt(self.persona, specs)
            self._prompt = {"role": "system", "content": content}
            self._prompt_key = key
        return self._prompt

    def request_messages(self) -> list[dict[str, Any]]:
        """What the next model request sends: the system prompt, then the conversation."""
        messages = self.conversation.to_openai()
        messages.insert(0, self.system_message())
        return messages

    # -- the loop -------------------------------------------------------------------------
    def step(self, text: Optional[str] = None) -> Message:
        """Send the conversation (plus ``text`` as a user message) once and run the tool calls."""
        for call in self.conversation.unanswered_calls():  # e.g. a log resumed after a crash
            self._answer(call, UNFINISHED, is_error=True)
        if text is not None:
            self.append(Message(role="user", content=text))
        elif len(self.conversation) and self.conversation[-1].role == "assistant":
            raise ValueError("the model has answered; step(text) needs new text to continue")
        started = time.monotonic()
        reply = self._chat()
        model_seconds = time.monotonic() - started
        usage = getattr(self.model, "last_usage", None)
        try:
            return self._take_reply(reply)
        finally:
            seconds = time.monotonic() - started
            self.stats.append(StepStats.from_usage(usage, seconds, model_seconds))

    def totals(self) -> Totals:
        """Steps, tokens and seconds of every step so far."""
        return totals(self.stats)

    def _chat(self) -> Any:
        """Ask the model once, passing ``on_delta`` to a model that takes it."""
        chat: Any = self.model.chat
        arguments = (self.request_messages(), self.model_name, self.tools.schemas())
        if takes_on_delta(chat):
            return chat(*arguments, on_delta=self._delta)
        return chat(*arguments)

    def _delta(self, text: str) -> None:
        self.emit(AssistantDelta(text))

    def _take_reply(self, reply: Any) -> Message:
        """Record the reply, tell the listeners, and run the tools it calls."""
        message = to_message(reply)
        recovered: list[ToolCall] = []
        if self.recover_text_tool_calls and not message.tool_calls and message.content:
            recovered, prose = split_tool_calls(message.content, self.tools.names())
            if recovered:  # the model sees its calls in its own native form next time
                message.tool_calls, message.content = recovered, prose
        self.append(message)
        if message.content:
            self.emit(AssistantText(message.content))
        if recovered:
            names = ", ".join(call.function.name for call in recovered)
            self.emit(Notice(f"Recovered {len(recovered)} tool call(s) written as text: {names}."))
        calls = message.tool_calls or []
        for index, call in enumerate(calls):
            try:
                self._run_call(call)
            except BaseException as exc:
                note = unfinished_note(exc)
                for pending in calls[index:]:
                    self._answer(pending, note, is_error=True)
                raise
        return message

    def run_until_stop(
        self,
        text: Optional[str] = None,
        max_steps: int = 20,
        max_time: Optional[float] = None,
        max_tokens: Optional[int] = None,
    ) -> RunResult:
        """Step until the model calls ``stop`` or answers without tools, or a limit is hit.

        ``max_tokens`` bounds the prompt plus completion tokens of this run's steps, as the
        server counts them; a server that reports no usage cannot be held to it (a Notice says so).
        """
        started = time.monotonic()
        first = len(self.stats)
        warned = False
        message = Message(role="assistant", content="")
        for steps in range(1, max_steps + 1):
            message = self.step(text if steps == 1 else None)
            calls = message.tool_calls or []
            if any(c.function.name == STOP_TOOL for c in calls):
                return RunResult(message, steps, "stop")
            if not calls:
                return RunResult(message, steps, "answer")
            if max_tokens is not None:
                used = totals(self.stats[first:])
                if used.tokens >= max_tokens:
                    self.emit(Notice(f"Stopped: token limit of {max_tokens:,} reached "
                                     f"({used.tokens:,} tokens used)."))
                    return RunResult(message, steps, "max_tokens")
                if used.unreported and not warned:
                    warned = True
                    self.emit(Notice(f"The server reports no token usage, so the token limit "
                                     f"of {max_tokens:,} cannot be enforced."))
            if max_time is not None and time.monotonic() - started >= max_time:
                self.emit(Notice(f"Stopped: time limit of {max_time:g} s reached."))
                return RunResult(message, steps, "max_time")
        self.emit(Notice(f"Stopped: step limit of {max_steps} reached."))
        return RunResult(message, max_steps, "max_steps")

    # -- tools ------------------------------------------------------------------------------
    def _run_call(self, call: ToolCall) -> None:
        name, raw = call.function.name, call.function.arguments
        self.emit(ToolCallStarted(call.id, name, raw))
        output, is_error = self.dispatch(name, raw)
        self._answer(call, output, is_error)

    def _answer(self, call: ToolCall, output: str, is_error: bool = False) -> None:
        self.append(
            Message(role="tool", content=output, tool_call_id=call.id, name=call.function.name)
        )
        self.emit(ToolOutput(call.id, call.function.name, output, is_error))

    def dispatch(self, name: str, raw_arguments: str) -> tuple[str, bool]:
        """Run one tool call; every mistake becomes a message for the model, not an exception."""
        spec = self.tools.get(name)
        if spec is None:
            return f"Error: unknown tool {name!r}. Available tools: {self.tools.names()}.", True
        try:
            arguments, problem = parse_arguments(raw_arguments)
            if problem is None:
                problem = spec.check_arguments(self.runtime, arguments)
            if problem is None:
                problem = mistyped_strings(spec.parameters, arguments)
        except Exception as exc:  # whatever the model sent, it hears about it
            arguments, problem = {}, f"they could not be read ({type(exc).__name__}: {exc})"
        if problem is not None:
            return f"Error: bad arguments for {name}: {problem}", True
        if self.guard is not None:
            try:
                refusal = self.guard(name, arguments)
            except Exception as exc:  # a check that cannot decide refuses: fail closed
                refusal = (f"Refused: the approval check failed ({type(exc).__name__}: {exc}); "
                           "the command was not run.")
            if refusal is not None:
                return refusal, True
        try:
            return str(spec.func(self.runtime, **arguments)), False
        except (SandboxError, ValueError, OSError) as exc:
            return f"Error: {exc}", True
        except Exception as exc:  # a tool's bug must not end the conversation
            return f"Error: tool {name} failed: {type(exc).__name__}: {exc}", True


def takes_on_delta(chat: Any) -> bool:
    """True when a model's ``chat`` accepts the ``on_delta`` keyword (it can stream text)."""
    try:
        return "on_delta" in inspect.signature(chat).parameters
    except (TypeError, ValueError):  # builtins and odd callables: no streaming
        return False
