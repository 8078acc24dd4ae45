"""The unattended run's guide looks at files the sandbox controls: nothing outside may reach
the model, and no file it names may hang or flood the host (issue 12's guards).

The model names the file a write goes to; the sandbox's commands make the workspace. Each
attack runs against every sandbox kind (confined, unconfined, Docker).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pygent.app.agent import AgentLoop
from pygent.app.registry import ToolRegistry, builtin_tools
from pygent.runtime import Runtime
from tests.fakes import FakeModel, call, calls
from tests.security.conftest import SECRET

WAIT = 60.0  # seconds before a run that never ends fails (not a speed assertion)


def guided(sandbox: Any, replies: list[Any]) -> tuple[AgentLoop, FakeModel]:
    model = FakeModel(replies)
    loop = AgentLoop(model, Runtime(sandbox=sandbox), tools=ToolRegistry(builtin_tools()),
                     check_before_stop=True, read_before_write=True)
    return loop, model


def run(loop: AgentLoop) -> None:
    worker = threading.Thread(target=loop.run_until_stop, args=("go",), daemon=True)
    worker.start()
    worker.join(WAIT)
    assert not worker.is_alive(), "the run hung"


def said(model: FakeModel) -> str:
    return "\n".join(str(m.get("content")) for r in model.requests for m in r["messages"])


def write(path: str) -> Any:
    return calls(call("write_file", {"path": path, "content": "x"}))


@pytest.mark.parametrize("name", ["link.txt", "../host-only/secret.txt"])
def test_a_write_over_a_link_or_outside_never_shows_the_host_file(
        sandbox: Any, host_secret_dir: Path, name: str) -> None:
    made = sandbox.run(f"ln -s {host_secret_dir / 'secret.txt'} link.txt")
    assert made.exit_code == 0, made.to_text()
    loop, model = guided(sandbox, [write(name), calls(call("stop")), calls(call("stop"))])
    run(loop)
    assert SECRET not in said(model)


def test_a_file_name_that_forges_a_listing_line_never_shows_the_host_file(
        sandbox: Any, host_secret_dir: Path) -> None:
    # A name with a newline adds a line of its own to the listing: here, the name of a link.
    make = (f"ln -s {host_secret_dir / 'secret.txt'} link.txt && "
            "printf hi > \"$(printf 'x\\n1 2 link.txt')\"")
    loop, model = guided(sandbox, [calls(call("bash", {"cmd": make})), calls(call("stop")),
                                   calls(call("stop"))])
    run(loop)
    review = [m.content or "" for m in loop.conversation if m.role == "tool"][1]
    assert "Changed or new" in review
    assert SECRET not in said(model)


def test_a_fifo_as_the_write_target_or_a_changed_file_hangs_nothing(sandbox: Any) -> None:
    loop, model = guided(sandbox, [calls(call("bash", {"cmd": "mkfifo pipe"})), write("pipe"),
                                   calls(call("stop")), calls(call("stop"))])
    run(loop)  # it ends: nothing opened the FIFO


def test_a_huge_file_is_shown_only_in_part(sandbox: Any) -> None:
    big = calls(call("bash", {"cmd": "truncate -s 3G big.txt"}))
    loop, model = guided(sandbox, [big, write("big.txt"), calls(call("stop")),
                                   calls(call("stop"))])
    run(loop)
    assert all(len(str(m.get("content"))) < 20_000 for r in model.requests
               for m in r["messages"])
