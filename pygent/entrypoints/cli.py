"""``pygent``: the terminal REPL and the one-shot ``pygent run TASK`` / ``pygent -p TASK``.

Only the standard library and the settings are imported before the arguments are parsed, so
``--help`` and ``--version`` stay fast; the container, prompt_toolkit and the SDKs load after.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .. import __version__
from ..app.settings import Settings, load_settings
from .cli_batch import add_batch_parser
from .flags import add_setting_flags, setting_overrides

if TYPE_CHECKING:
    from ..app.commands import Session
    from ..domain.events import Event
    from .cli_render import Renderer

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_LIMIT, EXIT_ASKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def build_parser() -> argparse.ArgumentParser:
    """The ``pygent`` command line: the shared setting flags, on ``pygent`` and ``pygent run``."""
    parser = argparse.ArgumentParser(
        prog="pygent",
        description="A minimalist coding assistant that runs a model's tool calls in a sandbox. "
                    "Without a task, starts an interactive session (/help lists its commands).",
        epilog="Exit status of one-shot runs: 0 finished, 1 error, 2 bad usage, "
               "3 step or token limit reached, 4 the model asked a question (ask_user), "
               "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"pygent {__version__}")
    parser.add_argument("-p", "--prompt", metavar="TASK",
                        help="run TASK until the model stops, print the answer, exit")
    add_setting_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="{run,batch}")
    run = commands.add_parser("run", help="run a task until the model stops, print the answer",
                              description="Run TASK until the model stops; print the final "
                                          "answer on stdout and tool calls on stderr.")
    run.add_argument("task", nargs="+", metavar="TASK", help="what to do")
    add_setting_flags(run, suppress=True)  # flags given before ``run`` are kept
    add_batch_parser(commands)
    return parser


def load_cli_settings(args: argparse.Namespace) -> Settings:
    """Defaults, the settings files and the environment, with the flags on top.

    The ``--workspace`` flag is passed in too: a settings file inside it is a project file.
    """
    flags = setting_overrides(args)
    settings = load_settings(args.config, workspace=flags.get("workspace")).with_overrides(**flags)
    if "local_model" in flags and "model" not in flags:  # a file's model is for a server
        settings = settings.with_overrides(model=Path(flags["local_model"]).stem)
    return settings


def open_session(settings: Settings, renderer: Renderer) -> Session:
    """The agent for these settings, asking on the terminal when ``confirm`` is on."""
    from ..agent import Agent
    from ..app.approval import Approval
    from ..app.commands import Session

    approval = Approval(settings.deny, confirm=settings.confirm, ask=terminal_ask(renderer))
    return Session(Agent(settings=settings, guard=approval), approval)


@contextmanager
def ctrl_c_cancels(agent: Any) -> Iterator[None]:
    """During a run, Ctrl-C asks the agent to cancel the step; a second Ctrl-C forces it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []

    def on_interrupt(signum: int, frame: Any) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        agent.cancel()  # returns at once: the interrupting happens in another thread

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def confirm_prompt(command: str) -> str:
    """The question asked before ``command`` runs, its control characters shown escaped.

    A carriage return or an ANSI code could otherwise redraw the line to show another command.
    """
    from ..domain.visible import has_hidden, visible

    notes = []
    lines = command.count("\n") + 1
    if lines > 1:  # so the start of a long command is looked for above
        notes.append(f"{lines} lines")
    if has_hidden(command):
        notes.append("contains control characters, shown escaped")
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"Run `{visible(command)}`?{note} [y/N] "


def terminal_ask(renderer: Renderer) -> Any:
    """A confirmation callback that asks on the terminal; no answer (EOF) means no.

    It is given the very command that runs, and shows it with hidden characters escaped.
    """

    def ask(command: str) -> bool:
        renderer.spinner.stop()
        prompt = renderer.paint(confirm_prompt(command), "\x1b[33m")
        renderer.err.write(prompt)
        renderer.err.flush()
        reply = sys.stdin.readline()
        allowed = reply.strip().lower() in ("y", "yes")
        if allowed:
            renderer.spinner.start("running bash")
        return allowed

    return ask


class FinalAnswer:
    """Remembers the last tool output, the answer when the model's final text is empty."""

    def __init__(self) -> None:
        self.last_output = ""

    def __call__(self, event: Event) -> None:
        from ..domain.events import ToolOutput

        if isinstance(event, ToolOutput) and event.name != "stop":
            self.last_output = event.output


def one_shot(args: argparse.Namespace, task: str) -> int:
    """Run ``task`` until the model stops; the answer goes to stdout, progress to stderr."""
    from ..domain.errors import StepCancelled
    from .cli_exit import RUN_HINT, decide, protect, report
    from .cli_render import DIM, Renderer

    renderer = Renderer(out=sys.stderr, err=sys.stderr, show_text=False, show_output=False)
    # nobody is there to /undo a one-shot run's steps: no checkpoints to pay for
    settings = load_cli_settings(args).with_overrides(checkpoints=False)
    session = open_session(settings, renderer)
    protect(session, settings)
    answer = FinalAnswer()
    session.agent.subscribe(renderer.event)
    session.agent.subscribe(answer)
    end = None
    try:
        renderer.spinner.start("thinking")
        with ctrl_c_cancels(session.agent):
            result = session.agent.run_until_stop(task)
    except StepCancelled:
        raise KeyboardInterrupt from None  # main() says "Interrupted." and exits 130
    finally:
        renderer.spinner.stop()
        try:
            end = decide(session, settings, renderer, ask=False)  # kept when it holds files
        finally:
            session.agent.close()  # the sandbox, the history, a local model server
            report(end, renderer, RUN_HINT)  # on stderr, with the progress
    renderer.line(f"Total: {session.agent.totals().describe()}", DIM)  # on stderr, as progress
    if result.reason == "asked":  # nobody is there to answer: the question is the output
        print(result.result, flush=True)
        return EXIT_ASKED
    text = result.text or answer.last_output
    if text:
        print(text.rstrip("\n"), flush=True)
    return EXIT_OK if result.finished else EXIT_LIMIT


def interactive(args: argparse.Namespace) -> int:
    """The REPL."""
    from .cli_exit import REPL_HINT, decide, protect, report
    from .cli_render import Renderer
    from .cli_repl import run_repl, say_tasks_stop

    renderer = Renderer()
    settings = load_cli_settings(args)
    if settings.ask_user is None:  # a person is there to answer
        settings = settings.with_overrides(ask_user=True)
    session = open_session(settings, renderer)
    protect(session, settings)
    asked = end = None
    try:
        status = run_repl(session, settings, renderer)
        asked = sys.stdin.isatty()  # /exit or Ctrl-D at a terminal: the person can answer
        return status
    finally:  # every way out: /exit, Ctrl-D, an error, SIGTERM or SIGHUP (SystemExit)
        try:
            renderer.spinner.stop()
            say_tasks_stop(session, renderer)  # may fail on a terminal that hung up
            end = decide(session, settings, renderer, ask=bool(asked))
        finally:
            session.agent.close()  # the tasks, the sandbox, the history, a local model server
            report(end, renderer, REPL_HINT)


def _exit_on_signal(signum: int, frame: Any) -> None:
    """SIGTERM or SIGHUP: end the session through its cleanup, also from a waiting prompt."""
    repl = sys.modules.get("pygent.entrypoints.cli_repl")
    if repl is not None and repl.exit_prompt(128 + signum):
        return
    raise SystemExit(128 + signum)


def show_library_messages() -> None:
    """Print the library's own notes (Docker fallback, image pulls) as ``pygent: ...`` lines."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pygent: %(message)s"))
    logger = logging.getLogger("pygent")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the flags, then run one task or the REPL; errors become one red line."""
    args = build_parser().parse_args(argv)
    task = args.prompt if args.prompt is not None else (
        " ".join(args.task) if args.command == "run" else None)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # so the sandbox is cleaned up
        signal.signal(sig, _exit_on_signal)
    show_library_messages()
    from ..domain.errors import PygentError
    from .cli_render import Renderer

    try:
        if args.command == "batch":
            from .cli_batch import batch

            return batch(args, load_cli_settings(args))
        return one_shot(args, task) if task is not None else interactive(args)
    except KeyboardInterrupt:
        Renderer(out=sys.stderr).notice("Interrupted.")
        return EXIT_INTERRUPTED
    except (PygentError, OSError) as exc:
        Renderer(out=sys.stderr).error(without_secrets(str(exc) or type(exc).__name__))
        return EXIT_ERROR
    except Exception as exc:  # a bug of ours: still one line, the traceback only on request
        if os.environ.get("PYGENT_DEBUG"):
            raise
        Renderer(out=sys.stderr).error(without_secrets(
            f"unexpected {type(exc).__name__}: {exc} (set PYGENT_DEBUG=1 for the traceback)"))
        return EXIT_ERROR


def without_secrets(text: str) -> str:
    """An error line with the values of secret variables taken out: it may land in a CI log."""
    from ..adapters.history_store import REDACTED, secret_pattern
    from ..container import host_secrets

    pattern = secret_pattern(host_secrets(), whole_words_below=8)
    return pattern.sub(REDACTED, text) if pattern is not None else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
