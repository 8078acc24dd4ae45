"""The flags of ``pygent`` and ``pygent run``, and the settings they make.

Standard library only, so ``pygent --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..app.settings import Settings

BACKEND_CHOICES = ("auto", "openai", "direct", "echo")
TOOL_PROTOCOL_CHOICES = ("auto", "native", "text")


def positive_int(text: str) -> int:
    """argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def temperature(text: str) -> float:
    """argparse type: a sampling temperature from 0 to 2."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 2:  # also false for NaN
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 2, got {text!r}")
    return value


def whole_number(text: str) -> int:
    """argparse type: a whole number (a seed)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def add_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The flags both ``pygent`` and ``pygent run`` take (suppressed defaults in the latter)."""
    default: Any = argparse.SUPPRESS if suppress else None
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--docker", dest="use_docker", action="store_const", const=True,
                       default=default, help="run commands in a Docker container")
    where.add_argument("--no-docker", dest="use_docker", action="store_const", const=False,
                       default=default, help="run commands on this machine")
    parser.add_argument("--model", metavar="NAME", default=default,
                        help="model name for the OpenAI-compatible server")
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default=default,
                        help="model backend (auto: openai when --local-model, OPENAI_API_KEY "
                        "or OPENAI_BASE_URL is set, else direct)")
    parser.add_argument("--local-model", metavar="PATH", default=default,
                        help="serve this .gguf file with llama.cpp on 127.0.0.1 for the "
                        "session and use it (pip install 'pygent[local]')")
    parser.add_argument("--temperature", type=temperature, metavar="T", default=default,
                        help="sampling temperature sent with each request, 0 to 2")
    parser.add_argument("--seed", type=whole_number, metavar="N", default=default,
                        help="sampling seed sent with each request")
    parser.add_argument("--tool-protocol", choices=TOOL_PROTOCOL_CHOICES, default=default,
                        help="native tool calls, tools as text, or auto (text with "
                        "--local-model, else native)")
    parser.add_argument("--workspace", metavar="DIR", default=default,
                        help="workspace folder to use and keep (default: a temporary one)")
    parser.add_argument("--config", metavar="FILE", default=default,
                        help="your settings file, read instead of ~/.pygent.toml and "
                        "./pygent.toml")
    parser.add_argument("--confirm", action="store_const", const=True, default=default,
                        help="ask before each bash command the model runs")
    parser.add_argument("--max-steps", type=positive_int, metavar="N", default=default,
                        help="most model steps per task")
    parser.add_argument("--max-tokens", type=positive_int, metavar="N", default=default,
                        help="most prompt plus completion tokens per task, as the server counts")


def build_parser() -> argparse.ArgumentParser:
    """The ``pygent`` command line."""
    parser = argparse.ArgumentParser(
        prog="pygent",
        description="A minimalist coding assistant that runs a model's tool calls in a sandbox. "
                    "Without a task, starts an interactive session (/help lists its commands).",
        epilog="Exit status of one-shot runs: 0 finished, 1 error, 2 bad usage, "
               "3 step or token limit reached, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"pygent {__version__}")
    parser.add_argument("-p", "--prompt", metavar="TASK",
                        help="run TASK until the model stops, print the answer, exit")
    add_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="{run}")
    run = commands.add_parser("run", help="run a task until the model stops, print the answer",
                              description="Run TASK until the model stops; print the final "
                                          "answer on stdout and tool calls on stderr.")
    run.add_argument("task", nargs="+", metavar="TASK", help="what to do")
    add_options(run, suppress=True)
    return parser


def load_cli_settings(args: argparse.Namespace) -> Settings:
    """Defaults, the settings files and the environment, with the flags on top.

    The ``--workspace`` flag is passed in too: a settings file inside it is a project file.
    """
    from ..app.settings import load_settings

    workspace = args.workspace
    if workspace:
        workspace = os.path.abspath(os.path.expanduser(workspace))
    local_model = args.local_model
    if local_model:
        local_model = os.path.abspath(os.path.expanduser(local_model))
    settings = load_settings(config_file=args.config, workspace=workspace).with_overrides(
        backend=args.backend,
        model=args.model,
        local_model=local_model,
        temperature=args.temperature,
        seed=args.seed,
        tool_protocol=args.tool_protocol,
        workspace=workspace,
        use_docker=args.use_docker,
        confirm=args.confirm,
        max_steps=args.max_steps,
        max_tokens=args.max_tokens,
    )
    if local_model and not args.model:  # a model named in a settings file is for a server
        settings = settings.with_overrides(model=Path(local_model).stem)
    return settings
