"""The agent loop: ask the model, run the tools it calls, answer every call, repeat."""

from __future__ import annotations

import inspect
import json
import shlex
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Optional

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
from ..domain.instructions import InstructionsReader, ProjectInstructions
from ..domain.messages import Message, ToolCall, ToolCallFunction
from ..domain.persona import Persona
from ..domain.ports import HistoryPort, ModelPort, ToolRuntime
from ..domain.stats import StepStats, Totals, totals
from .cancel import Cancellation
from .checkpoint_words import label_of
from .checkpoints import Checkpoints
from .dispatch import ToolGuard, did_not_run, dispatch
from .outcomes import UNFINISHED, RunResult, asked_question, limit_reached, unfinished_note
from .prompt import build_system_prompt
from .registry import ASK_TOOL, STOP_TOOL, STOPPING, ToolRegistry, default_registry
from .replies import to_message
from .run_guide import STUCK_AFTER, RunGuide, interactive_note, rambles
from .text_protocol import (
    SHELL_TOOL,
    TEXT,
    WRITE_TOOL,
    failed,
    nudge,
    problems_note,
    to_text_wire,
    with_example,
)
from .tool_text import TextActions, new_call, read_actions

#: The temperature a reply is drawn again at when it repeats a looping action.
REDRAW_TEMPERATURE = 1.0
#: Stops refused while the task's check fails, after the first review (with no check and
#: nothing changed, one): Qwen2.5-Coder-1.5B said "all tests pass" over a failing test.
RECHECKS = 3

__all__ = ["AgentLoop", "RunResult", "takes_on_delta"]


class _Rambling(Exception):
    """Raised in the stream listener to end a reply that writes one line over and over."""


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
        runtime: ToolRuntime,
        *,
        tools: Optional[ToolRegistry] = None,
        persona: Optional[Persona] = None,
        model_name: str = "",
        history: Optional[HistoryPort] = None,
        guard: Optional[ToolGuard] = None,
        recover_text_tool_calls: bool = True,
        tool_protocol: str = "native",
        text_reply_limit: int = 3,
        example_task: bool = True,
        check_before_stop: bool = False,
        read_before_write: bool = False,
        max_steps: int = 20,
        max_tokens: Optional[int] = None,
        read_instructions: Optional[InstructionsReader] = None,
        checkpoints: Optional[Checkpoints] = None,
    ) -> None:
        self.model = model
        self.runtime = runtime
        self.tools = tools if tools is not None else default_registry
        self.persona = persona or Persona()
        self.model_name = model_name
        self.history = history
        self.guard = guard
        self.recover_text_tool_calls = recover_text_tool_calls
        self.tool_protocol = tool_protocol  # "native": tool schemas; "text": fenced actions
        self.text_reply_limit = text_reply_limit  # text replies in a row an unattended run takes
        self.example_task = example_task  # text protocol: a solved task before the conversation
        self.check_before_stop = check_before_stop  # an unattended run's first stop: check first
        self.read_before_write = read_before_write  # unattended: show a file before overwriting
        #: What the run has seen and changed, for those answers; the task's checks pass the guard.
        self.guide = RunGuide(runtime, self._refusal)
        self.max_steps, self.max_tokens = max_steps, max_tokens  # run_until_stop's defaults
        self.listeners: list[EventListener] = []
        self.stats: list[StepStats] = []  # one per model reply, for totals and token limits
        self.unattended = False  # nobody reads replies: shell blocks are actions (native too)
        self._stopped, self._stop_result = False, ""
        self._asked: Optional[str] = None  # the question of an ask_user call in the last reply
        self._checked = True  # False: the next stop of this run is asked to check first
        self._rechecks = 0  # stops after a failed check answered so far in this run
        self._idle_review = False  # True: the last review found nothing done yet
        self._streamed: list[str] = []  # the text of the reply streaming now (unattended)
        self._last_failed: Optional[str] = None  # the failed tool of the last reply, if any
        self.conversation = Conversation(history.load() if history is not None else ())
        self._prompt_key: tuple[Any, ...] = ()
        self.read_instructions = read_instructions  # the workspace's AGENTS.md files, if any
        self.instructions = self._instructions()  # read once per conversation: tokens cost
        self._prompt: dict[str, Any] = {}
        self._cancel = Cancellation(lambda: self.runtime.interrupt())
        #: Snapshots around each step that runs tools, for undo, redo and diff (None: none).
        self.file_checkpoints = checkpoints
        self._mark = 0  # the conversation's length when the running step began
        self._budget: tuple[int, Optional[int]] = (0, None)  # the run's first step, its tokens

    # -- cancelling ---------------------------------------------------------------------
    def cancel(self) -> None:
        """From any thread, at once: end the running step (Ctrl-C, Stop) with StepCancelled.

        The loop checks before each model request, each tool call and each streamed piece of
        text, and the running command is interrupted (one that starts in between is too). A
        cancel that comes before a step starts ends that step; the one after starts afresh.
        """
        self._cancel.press()

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
        """Forget the conversation and read AGENTS.md again; the runtime and workspace stay."""
        self.conversation.clear()
        if self.history is not None:
            self.history.start_new()
        self.instructions = self._instructions()

    def _instructions(self) -> Optional[ProjectInstructions]:
        """The project instructions for a conversation starting now (None: not read)."""
        workspace = getattr(self.runtime, "workspace", None)
        if self.read_instructions is None or workspace is None:
            return None
        return self.read_instructions(workspace)

    def system_message(self) -> dict[str, Any]:
        """The system prompt as a wire dict, listing the tools registered right now."""
        specs = self.tools.specs()
        key = (self.persona, self.tool_protocol, self.instructions, *map(id, specs))
        if key != self._prompt_key:
            content = build_system_prompt(self.persona, specs, self.tool_protocol,
                                          self.instructions)
            self._prompt = {"role": "system", "content": content}
            self._prompt_key = key
        return self._prompt

    def request_messages(self) -> list[dict[str, Any]]:
        """What the next model request sends: the system prompt, then the conversation."""
        messages = self.conversation.to_openai()
        messages.insert(0, self.system_message())
        if self.tool_protocol != TEXT:
            return messages
        wire = to_text_wire(messages)
        return with_example(wire, self.tools.names()) if self.example_task else wire

    # -- the loop -------------------------------------------------------------------------
    def step(self, text: Optional[str] = None) -> Message:
        """Send the conversation (plus ``text`` as a user message) once and run the tool calls."""
        with self._cancel.running():
            return self._step(text)

    def _step(self, text: Optional[str]) -> Message:
        for call in self.conversation.unanswered_calls():  # e.g. a log resumed after a crash
            self._answer(call, UNFINISHED, is_error=True)
        self._mark = len(self.conversation)
        if text is not None:
            self.append(Message(role="user", content=text))
        elif len(self.conversation) and self.conversation[-1].role == "assistant":
            raise ValueError("the model has answered; step(text) needs new text to continue")
        self._cancel.check()
        started = time.monotonic()
        reply = self._chat()
        stuck = self._stuck(reply)
        if stuck:  # a loop or a ramble: draw the reply again, hotter
            self.stats.append(StepStats.from_usage(
                getattr(self.model, "last_usage", None), time.monotonic() - started,
                time.monotonic() - started))
            if self._spent():  # no request beyond the run's token budget: run it as it is
                return self._take_reply(reply)
            self.emit(Notice(f"{stuck}; asking again at temperature {REDRAW_TEMPERATURE}."))
            self._cancel.check()
            started = time.monotonic()
            reply = self._chat(temperature=REDRAW_TEMPERATURE)
        model_seconds = time.monotonic() - started
        usage = getattr(self.model, "last_usage", None)
        try:
            return self._take_reply(reply)
        finally:
            seconds = time.monotonic() - started
            self.stats.append(StepStats.from_usage(usage, seconds, model_seconds))

    def _spent(self) -> bool:
        """Whether this run's steps have used its whole token budget already."""
        first, budget = self._budget
        return budget is not None and sum(s.tokens for s in self.stats[first:]) >= budget

    def _stuck(self, reply: Any) -> str:
        """Why an unattended reply is drawn again, when the model can redraw ('' if not): it
        repeats a looping action, or it has no action and writes one line over and over (how
        a small model at temperature 0 spends its whole reply length)."""
        if not self.unattended or not takes_keyword(self.model.chat, "temperature"):
            return ""
        message = to_message(reply)
        calls = message.tool_calls or []
        if not calls and message.content and (
                self.recover_text_tool_calls or self.tool_protocol == TEXT):
            text_mode = self.tool_protocol == TEXT
            calls = read_actions(message.content, self.tools.names(), shell_blocks=True,
                                 shell_beside_calls=text_mode, file_blocks=text_mode).calls
            focused = self._focused_block(message.content) if text_mode and not calls else None
            calls = focused.calls if focused else calls
        if not calls:
            return "The model wrote one line over and over" if rambles(message.content) else ""
        name, arguments = calls[0].function.name, calls[0].function.arguments
        if self.guide.stuck_on(name, self.guide.focus_write(name, arguments) or arguments):
            return f"The model repeated an action it has taken {STUCK_AFTER} times"
        return ""

    def totals(self) -> Totals:
        """Steps, tokens and seconds of every step so far."""
        return totals(self.stats)

    def _chat(self, **sampling: float) -> Any:
        """Ask the model once, passing ``on_delta`` to a model that takes it."""
        chat: Any = self.model.chat
        schemas = [] if self.tool_protocol == TEXT else self.tools.schemas()
        arguments = (self.request_messages(), self.model_name, schemas)
        if takes_on_delta(chat):
            self._streamed = []
            try:
                return chat(*arguments, on_delta=self._delta, **sampling)
            except _Rambling:  # the stream is closed: keep what came, the loop redraws it
                return Message(role="assistant", content="".join(self._streamed))
        return chat(*arguments, **sampling)

    def _delta(self, text: str) -> None:
        self._cancel.check()
        self.emit(AssistantDelta(text))
        if self.unattended:
            self._streamed.append(text)
            if "\n" in text and rambles("".join(self._streamed)):
                raise _Rambling  # a small model at temperature 0 would go on to its length cap

    def _take_reply(self, reply: Any) -> Message:
        """Record the reply, tell the listeners, and run the tools it calls."""
        message = to_message(reply)
        shown, problems, read = message.content, [], False
        if not message.tool_calls and message.content and (
                self.recover_text_tool_calls or self.tool_protocol == TEXT):
            text_mode = self.tool_protocol == TEXT
            actions = read_actions(message.content, self.tools.names(),
                                   shell_blocks=text_mode or self.unattended,
                                   shell_beside_calls=text_mode, file_blocks=text_mode)
            focused = self._focused_block(message.content) \
                if text_mode and self.unattended and not actions.calls else None
            actions = focused or actions
            problems = actions.problems
            if actions.calls and text_mode:  # one action per reply: the rest is not kept
                message.tool_calls, read = actions.calls[:1], True
                message.content = first_action(message.content, actions)
                kept = read_actions(message.content, self.tools.names(), shell_blocks=True,
                                    shell_beside_calls=True, file_blocks=True)
                shown, problems = (kept.prose, kept.problems) if focused is None \
                    else (message.content, [])
            elif actions.calls:
                message.tool_calls, read = actions.calls, True
                message.content = shown = actions.prose
        before = self._read_first(message)
        self._put_in_place(message)
        self.append(message)
        if shown:
            self.emit(AssistantText(shown))
        if before:
            self.emit(Notice(f"{before} exists and this run has not read it: the model is "
                             "shown it (cat) instead of writing over it."))
        calls = message.tool_calls or []
        if read and self.tool_protocol != TEXT:  # in text mode that is the normal way to act
            names = ", ".join(call.function.name for call in calls)
            self.emit(Notice(f"Recovered {len(calls)} tool call(s) written as text: {names}."))
        with self._checkpoint(calls):
            self._run_calls(calls)
        if problems:
            note = problems_note(problems, self.tools.names())
            self.emit(Notice(note))
            self.append(Message(role="user", content=note))
        return message

    def _read_first(self, message: Message) -> str:
        """Turn a reply whose first call writes over a file this run has not read into
        reading that file, and return its path ('' when the reply is left as it is).

        Told "not written, here is the file", small models send the same write again: the
        refused reply is what they copy. So the conversation keeps what ran, a ``cat``, and
        the next reply builds on the file's text.
        """
        calls = message.tool_calls or []
        if not calls or not (self.unattended and self.read_before_write) \
                or SHELL_TOOL not in self.tools.names():
            return ""
        first = calls[0]
        path = self.guide.unread_path(first.function.name, first.function.arguments)
        if not path:
            return ""
        command = f"cat {shlex.quote(path if not path.startswith('-') else './' + path)}"
        message.content = ""  # the model's words were about the write: the read is the action
        message.tool_calls = [ToolCall(first.id, function=ToolCallFunction(
            SHELL_TOOL, json.dumps({"cmd": command})))]
        return path

    def _focused_block(self, text: str) -> Optional[TextActions]:
        """A reply whose action is a python block holding just the function the run asked
        for alone, with no path over it: the write of that function into its file."""
        found = self.guide.focus_block(text)
        if found is None or WRITE_TOOL not in self.tools.names():
            return None
        end, path, code = found
        return TextActions([new_call(WRITE_TOOL, {"path": path, "content": code})], "", [], end)

    def _put_in_place(self, message: Message) -> None:
        """Make an unattended write of the asked-for function alone the whole file with that
        function in place: the model's words keep the function, the call the file."""
        for call in message.tool_calls or [] if self.unattended else []:
            whole = self.guide.put_in_place(call.function.name, call.function.arguments)
            if whole is not None:
                call.function = ToolCallFunction(call.function.name, whole)

    def _run_calls(self, calls: list[ToolCall]) -> None:
        """Run the calls in order; ``stop`` ends the run only when nothing before it failed."""
        self._stopped, self._stop_result, self._asked = False, "", None
        failures: list[str] = []
        for index, call in enumerate(calls):
            try:
                self._cancel.check()
                skip = self._skip_reason(call, index, failures)
                if skip is not None:
                    self._answer(call, skip, is_error=True)
                    continue
                output, is_error = self._run_call(call)
                if self.unattended:  # what the guide tracks matters only there
                    self.guide.saw(call.function.name, call.function.arguments,
                                   not failed(output, is_error))
                if call.function.name == STOP_TOOL:
                    self._stopped = not is_error
                    self._stop_result = "" if output == STOPPING else output
                elif call.function.name == ASK_TOOL and not is_error:
                    self._asked = asked_question(call.function.arguments)
                elif failed(output, is_error) and not did_not_run(output):
                    failures.append(call.function.name)  # a call that ran, and failed
            except BaseException as exc:
                note = unfinished_note(exc)
                for pending in self.conversation.unanswered_calls():
                    self._answer(pending, note, is_error=True)
                raise
        self._last_failed = failures[-1] if failures else None
        self._cancel.check()  # a cancel during the last call still ends the step

    def _checkpoint(self, calls: list[ToolCall]) -> AbstractContextManager[None]:
        """Snapshots before and after a reply's calls, when there are calls and checkpoints."""
        if not calls or self.file_checkpoints is None:
            return nullcontext()
        anchor = self.conversation[self._mark] if len(self.conversation) > self._mark else None
        return self.file_checkpoints.step(len(self.stats) + 1, self._mark, anchor,
                                          label_of(calls), lambda text: self.emit(Notice(text)))

    def _skip_reason(self, call: ToolCall, index: int, failures: list[str]) -> Optional[str]:
        """Why a call of this reply is not run, or None to run it."""
        if self._stopped:
            return "Not run: stop was called before this in the same reply."
        if self._asked is not None:
            return "Not run: you asked the person a question in this reply; wait for the answer."
        if call.function.name == STOP_TOOL and not index and self.unattended \
                and self._last_failed:
            return (f"Not stopped: your last {self._last_failed} failed. Fix it and check "
                    "again; if the task cannot be done, call stop again and say why.")
        if call.function.name == STOP_TOOL and not self._checked:
            self.guide.refused(call.function.name, call.function.arguments)
            if not (self._idle_review and self.guide.nothing_done()):
                answer = self.guide.review()
                # nothing done yet: the stop after the first change gets a review of its own
                self._idle_review = not self._idle_review and self.guide.idle
                self._checked = not self._idle_review
                return answer
            self._checked = True  # stopped twice with nothing done: on to the recheck
        if call.function.name == STOP_TOOL and self.guide.failing and self._rechecks < (
                RECHECKS if self.guide.check_fails else 1):  # a failing check holds it longer
            self._rechecks += 1
            still = self.guide.recheck()
            if still is not None:
                self.guide.refused(call.function.name, call.function.arguments)
                return still
        kept = self.guide.test_write(call.function.name, call.function.arguments) \
            or self.guide.input_write(call.function.name, call.function.arguments) \
            if self.unattended else None
        if kept is not None:
            return kept
        unread = self.guide.unread_write(call.function.name, call.function.arguments) \
            if self.unattended and self.read_before_write else None
        if unread is not None:
            return unread
        if call.function.name == STOP_TOOL and failures:
            what = (f"{failures[0]} failed" if len(failures) == 1 else
                    f"{len(failures)} calls failed ({', '.join(sorted(set(failures)))})")
            return (f"Not stopped: {what} earlier in this reply. Look at the results, fix what "
                    "went wrong, and call stop only when the task is done.")
        return None

    def run_until_stop(
        self,
        text: Optional[str] = None,
        max_steps: Optional[int] = None,
        max_time: Optional[float] = None,
        max_tokens: Optional[int] = None,
        *,
        unattended: bool = True,
    ) -> RunResult:
        """Step until the model calls ``stop`` or a limit is hit.

        ``unattended`` (the default) means nobody answers: a reply without an action gets a
        short user turn saying to act or stop, up to ``text_reply_limit`` in a row (then the
        run ends with reason "no_action"). With ``unattended=False`` (a chat) a text reply ends
        the run with reason "answer", for the person to answer. ``max_tokens`` bounds the prompt
        plus completion tokens of this run's steps, as the server counts them; a server that
        reports no usage cannot be held to it (a Notice says so). Limits left out are the
        agent's ``max_steps`` and ``max_tokens``.
        """
        max_steps = self.max_steps if max_steps is None else max_steps
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        self.unattended = unattended
        self._checked, self._rechecks = not (unattended and self.check_before_stop), 0
        self._idle_review = False
        self.guide.start(text, review=not self._checked)
        with self._cancel.running():
            return self._run(text, max_steps, max_time, max_tokens, unattended)

    def _run(self, text: Optional[str], max_steps: int, max_time: Optional[float],
             max_tokens: Optional[int], unattended: bool) -> RunResult:
        started = time.monotonic()
        first = len(self.stats)
        self._budget = (first, max_tokens)
        warned = False
        idle = 0
        message = Message(role="assistant", content="")
        try:
            for steps in range(1, max_steps + 1):
                message = self._step(text if steps == 1 else None)
                if self._stopped:
                    return RunResult(message, steps, "stop", self._stop_result)
                if self._asked is not None:
                    return RunResult(message, steps, "asked", self._asked)
                acted = bool(message.tool_calls) or self.conversation[-1].role == "user"
                idle = 0 if message.tool_calls else idle + 1
                if not acted and not unattended:
                    return RunResult(message, steps, "answer")
                if idle >= self.text_reply_limit:
                    self.emit(Notice(f"Stopped: {idle} replies in a row without an action."))
                    return RunResult(message, steps, "no_action")
                if not acted:
                    self.append(Message(role="user", content=nudge(
                        self.tool_protocol, self.tools.names())))
                limit, note = limit_reached(self.stats[first:], started, max_tokens, max_time,
                                            warned)
                if note:
                    self.emit(Notice(note))
                if limit == "warned":
                    warned = True
                elif limit is not None:
                    return RunResult(message, steps, limit)
        finally:
            self.unattended = False
        self.emit(Notice(f"Stopped: step limit of {max_steps} reached."))
        return RunResult(message, max_steps, "max_steps")

    # -- tools ------------------------------------------------------------------------------
    def _run_call(self, call: ToolCall) -> tuple[str, bool]:
        name, raw = call.function.name, call.function.arguments
        self.emit(ToolCallStarted(call.id, name, raw))
        watched = self.guide.file_before(name, raw) if self.unattended else None
        editor, instead = interactive_note(name, raw) if self.unattended else ("", None)
        if instead is not None:  # ``nano a.py``: the file is what the model is after
            output, is_error = self.dispatch(SHELL_TOOL, json.dumps({"cmd": instead}))
            output = f"{editor}\n{output}"
        else:
            output, is_error = self.dispatch(name, raw)
        if self.unattended and name != STOP_TOOL:  # small models loop: say so
            self.guide.ran(name, raw, output, failed(output, is_error))
            output = self.guide.repeated(name, raw, output) or output
            note = "" if instead is not None else editor or (
                self.guide.failure_note(name, output) if failed(output, is_error)
                else self._write_note(name, raw, watched))
            output = f"{output.rstrip()}\n{note}".lstrip() if note else output
        self._answer(call, output, is_error)
        return output, is_error

    def _write_note(self, name: str, raw: str, watched: Optional[tuple[str, str]]) -> str:
        """What a successful action's result gets added: a module still lacking the name a
        failure asked for, a write that changed nothing, or a number typed by hand."""
        unchanged = self.guide.unchanged(watched, raw)  # always: it also counts loops
        spliced = self.guide.spliced_note()  # always: it is said once
        return self.guide.still_lacks(name, raw) or unchanged or spliced \
            or self.guide.typed_number(name, raw)

    def _answer(self, call: ToolCall, output: str, is_error: bool = False) -> None:
        self.append(
            Message(role="tool", content=output, tool_call_id=call.id, name=call.function.name)
        )
        self.emit(ToolOutput(call.id, call.function.name, output, is_error))

    def _refusal(self, command: str) -> Optional[str]:
        """Why the guard would refuse ``command`` as a bash call (None: it would run it)."""
        return None if self.guard is None else self.guard(SHELL_TOOL, {"cmd": command})

    def dispatch(self, name: str, raw_arguments: str) -> tuple[str, bool]:
        """Run one tool call; every mistake becomes a message for the model, not an exception."""
        return dispatch(self.tools, self.runtime, self.guard, name, raw_arguments)


def first_action(text: str, actions: TextActions) -> str:
    """A text-protocol reply up to the end of its first action: what ran, and no more.

    Small models write several actions, or a guess at the result, after the first; the
    conversation keeps only what ran, so the next reply builds on the real result instead of
    copying a reply that was cut short.
    """
    return text[: actions.first_end].rstrip() if actions.first_end else text


def takes_on_delta(chat: Any) -> bool:
    """True when a model's ``chat`` accepts the ``on_delta`` keyword (it can stream text)."""
    return takes_keyword(chat, "on_delta")


def takes_keyword(chat: Any, name: str) -> bool:
    """True when a model's ``chat`` accepts the keyword ``name``."""
    try:
        return name in inspect.signature(chat).parameters
    except (TypeError, ValueError):  # builtins and odd callables: no such keyword
        return False
