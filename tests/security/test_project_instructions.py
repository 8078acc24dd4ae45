"""AGENTS.md is the sandbox's file: whatever it makes of it, no host file reaches the model.

Every sandbox kind's commands can make ``AGENTS.md`` a link to a host secret (a private key,
``/etc/shadow``), a FIFO, a huge file, or swap it for a link while the host reads; the next
conversation's system prompt must never carry a byte of anything outside the workspace, and
the start of a conversation must not hang. ``/init --force`` must not write through a link.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pygent.adapters.project_instructions import LIMIT, read_project_instructions
from pygent.app.agent import AgentLoop
from pygent.app.commands import Session, run_command
from pygent.app.settings import Settings
from pygent.container import make_instructions_reader
from pygent.runtime import Runtime
from tests.fakes import FakeModel, say
from tests.security.conftest import SECRET
from tests.security.test_workspace_race import SWAPPER, WRITES

WAIT = 20.0  # seconds before a conversation that never starts fails (not a speed assertion)


def agent_on(sandbox: Any, model: FakeModel) -> AgentLoop:
    """An agent loop reading AGENTS.md as a session does (the container's reader)."""
    reader = make_instructions_reader(Settings())
    return AgentLoop(model, Runtime(sandbox=sandbox), read_instructions=reader)


def sent(model: FakeModel) -> str:
    return "\n".join(str(m.get("content")) for r in model.requests for m in r["messages"])


def shadow_lines() -> list[str]:
    """The host's /etc/shadow entries with a password field, if this user can read them."""
    try:
        text = Path("/etc/shadow").read_text()
    except OSError:
        return []
    return [line for line in text.splitlines() if line.count(":") >= 2]


@pytest.mark.parametrize("target", ["secret", "/etc/shadow"])
def test_a_link_the_sandbox_makes_to_a_host_file_never_reaches_the_model(
    sandbox: Any, host_secret_dir: Path, target: str
) -> None:
    model = FakeModel(default=say("ok"))
    agent = agent_on(sandbox, model)
    path = host_secret_dir / "secret.txt" if target == "secret" else Path(target)
    made = sandbox.run(f"ln -s {path} AGENTS.md && ls -l AGENTS.md")
    assert made.exit_code == 0, made.to_text()
    agent.new_conversation()
    agent.step("hello")
    assert agent.instructions is not None
    assert agent.instructions.files == ()
    assert agent.instructions.problems == ("AGENTS.md is a symbolic link: not read",)
    text = sent(model)
    assert SECRET not in text
    assert not any(line in text for line in shadow_lines())


def test_a_fifo_the_sandbox_makes_does_not_hang_the_next_conversation(sandbox: Any) -> None:
    agent = agent_on(sandbox, FakeModel(default=say("ok")))
    assert sandbox.run("mkfifo AGENTS.md").exit_code == 0
    started = threading.Thread(target=agent.new_conversation, daemon=True)
    started.start()
    started.join(WAIT)
    if started.is_alive():
        sandbox.run("echo unblock > AGENTS.md &")
        pytest.fail("a FIFO named AGENTS.md hung the start of a conversation")
    assert agent.instructions is not None
    assert agent.instructions.problems == ("AGENTS.md not read: it is a FIFO, not a file",)


def test_a_huge_file_costs_no_more_than_the_limit(sandbox: Any) -> None:
    made = sandbox.run("yes 'Always answer in French.' | head -c 50000000 > AGENTS.md")
    assert made.exit_code == 0, made.to_text()
    agent = agent_on(sandbox, FakeModel(default=say("ok")))
    assert agent.instructions is not None
    (only,) = agent.instructions.files
    assert only.size == LIMIT and only.cut
    assert len(agent.system_message()["content"].encode("utf-8")) < LIMIT + 4096


def test_an_agents_file_swapped_for_a_link_while_the_host_reads_never_reads_outside(
    sandbox: Any, host_secret_dir: Path
) -> None:
    sandbox.write_file("AGENTS.md", "inside")
    swapper = SWAPPER.replace('("d", "evil")', '("AGENTS.md", "evil")')
    assert swapper != SWAPPER
    setup = sandbox.run(f"ln -s {host_secret_dir / 'secret.txt'} evil && "
                        f"({swapper} > swap.log 2>&1 &) ; sleep 1; cat swap.log")
    assert "swapping" in setup.output, setup.to_text()
    seen: set[str] = set()
    for number in range(3 * WRITES):  # more only when a busy machine saw one side alone
        if number >= WRITES and {"inside", "refused"} <= seen:
            break
        found = read_project_instructions(sandbox.workspace)
        seen.update(each.text for each in found.files)
        if found.problems:
            seen.add("refused")
    alive = sandbox.run("pgrep -c perl || true").output.strip()
    sandbox.run("pkill -f renameat2 || pkill perl || true")
    assert not any(SECRET in text for text in seen), seen
    assert {"inside", "refused"} <= seen, (seen, f"swappers alive: {alive}")  # it raced


def test_init_force_does_not_write_through_a_link_the_sandbox_made(
    sandbox: Any, host_secret_dir: Path
) -> None:
    target = host_secret_dir / "secret.txt"
    assert sandbox.run(f"ln -s {target} AGENTS.md").exit_code == 0
    session = Session(agent_on(sandbox, FakeModel()))
    refused = run_command(session, "/init")
    assert refused.is_error and "already in the workspace" in refused.text
    forced = run_command(session, "/init --force")
    assert forced.is_error and "symbolic link" in forced.text, forced.text
    assert target.read_text() == SECRET
