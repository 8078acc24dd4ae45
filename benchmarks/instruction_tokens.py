"""What project instructions (AGENTS.md) cost a small model: prompt tokens with and without.

Run: python benchmarks/instruction_tokens.py
Serves Qwen2.5-Coder-0.5B-Instruct Q4_K_M with llama.cpp (as benchmarks/task_tool_tokens.py
does) and sends, for each AGENTS.md below, the first request of an agent on the text protocol
(the one --local-model uses): the system prompt and a one-word user message, max_tokens=1. It
prints the server's usage.prompt_tokens, what the file added over no file, the bytes per token
of that addition, and the banner's estimate, so BYTES_PER_TOKEN can be checked in one run;
then how long reading the typical file takes (once per conversation) next to that request.
"""

from __future__ import annotations

import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent import Agent, Settings  # noqa: E402
from pygent.adapters.openai_model import OpenAIModel  # noqa: E402
from pygent.adapters.project_instructions import (  # noqa: E402
    LOCAL_MODEL_LIMIT,
    read_project_instructions,
)
from pygent.app.agents_template import draft_agents_file  # noqa: E402
from tests.llama_server import (  # noqa: E402
    QWEN_PACKAGES,
    SERVER_PACKAGE,
    LlamaServer,
    ensure_packages,
    qwen_coder_model,
)

#: A typical hand-written AGENTS.md: overview, commands, conventions, a few warnings.
TYPICAL = """\
# AGENTS.md

## Project overview

`shopcart` is a small Flask service that keeps shopping carts in PostgreSQL and exposes a
JSON API used by the web shop. Python 3.11, SQLAlchemy 2, Alembic for migrations.

## Setup and commands

- Install: `pip install -e '.[dev]'`
- Run the tests: `pytest -q` (they need no database: `tests/conftest.py` uses SQLite)
- Lint and types: `ruff check . && mypy src/`
- Start locally: `flask --app shopcart run --debug`

## Layout

- `src/shopcart/api/` HTTP handlers only; no SQL here.
- `src/shopcart/models/` SQLAlchemy models; every change needs an Alembic migration in
  `migrations/versions/` (`alembic revision --autogenerate -m "..."`).
- `src/shopcart/services/` business rules; this is where most changes belong.

## Conventions

- Type hints on every function; docstrings say why, not what.
- Money is an integer number of cents, never a float.
- Keep functions under 40 lines; prefer a new module to a long one.
- Tests are named after the behaviour: `test_an_empty_cart_has_a_zero_total`.
- Do not edit `migrations/versions/` files that are already merged.

## Before you stop

Run `pytest -q` and `ruff check .`; both must pass. Say which files you changed and why.
"""


def agents_files() -> list[tuple[str, Optional[str]]]:
    """The files measured: none, /init's draft, a typical one, and the local-model limit."""
    draft, _ = draft_agents_file({"pyproject.toml": "file", "tests": "folder",
                                  "README.md": "file"})
    long = (TYPICAL * (LOCAL_MODEL_LIMIT // len(TYPICAL) + 1))[:LOCAL_MODEL_LIMIT]
    return [("none", None), ("/init draft (Python project)", draft),
            ("typical hand-written", TYPICAL), ("8 KB (the --local-model limit)", long)]


def first_request(text: Optional[str]) -> tuple[dict[str, Any], int, int]:
    """The system message of an agent's first request, the bytes read and the estimate."""
    with tempfile.TemporaryDirectory() as folder:
        if text is not None:
            Path(folder, "AGENTS.md").write_text(text)
        settings = Settings(use_docker=False, tool_protocol="text", workspace=folder,
                            backend="direct")
        with Agent(settings=settings) as agent:
            read = agent.instructions
            size = read.size if read is not None else 0
            estimate = read.tokens() if read is not None else 0
            return agent.system_message(), size, estimate


def main() -> int:
    problem = ensure_packages([SERVER_PACKAGE, *QWEN_PACKAGES])
    if problem:
        print(f"cannot run: {problem}")
        return 1
    with LlamaServer(qwen_coder_model(), ctx=8192, predict=1) as server:
        model = OpenAIModel("local", base_url=server.base_url, max_retries=0)
        client: Any = model.client
        print(f"{'AGENTS.md':<32} {'bytes':>6} {'prompt tokens':>14} {'added':>6} "
              f"{'bytes/token':>12} {'estimate':>9}")
        baseline = 0
        request_seconds = 0.0
        for name, text in agents_files():
            system, size, estimate = first_request(text)
            started = time.perf_counter()
            reply = client.chat.completions.create(
                model="local", messages=[system, {"role": "user", "content": "hi"}],
                max_tokens=1)
            if text == TYPICAL:
                request_seconds = time.perf_counter() - started
            tokens = reply.usage.prompt_tokens
            baseline = baseline or tokens
            added = tokens - baseline
            ratio = f"{size / added:.2f}" if added else "-"
            print(f"{name:<32} {size:>6} {tokens:>14} {added:>6} {ratio:>12} {estimate:>9}")
    read = read_seconds()
    print(f"reading the typical AGENTS.md: {read * 1e6:.0f} us; its first request took "
          f"{request_seconds * 1000:.0f} ms, {request_seconds / read:,.0f} times as long")
    return 0


def read_seconds(rounds: int = 500) -> float:
    """Seconds to read the typical file from a workspace, as each conversation's start does."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "AGENTS.md").write_text(TYPICAL)
        return timeit.timeit(lambda: read_project_instructions(Path(folder)),
                             number=rounds) / rounds


if __name__ == "__main__":
    sys.exit(main())
