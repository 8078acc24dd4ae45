"""Timeouts hold whatever a command does to its shell (issue 11, item 7).

``exec`` replaces the shell, ``setsid`` and double forks leave its session, ``disown`` and
``nohup`` detach jobs, closed descriptors cut the status channel: after each, the command
still ends at its timeout, nothing it started lives on, the next command runs, and the
result says when the shell's state (cwd, exports) was reset.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from typing import Any

import pytest

TIMEOUT = 3
SLACK = 8  # seconds on top of the timeout: the kill, the grace period, a restart


def unique(seconds: int) -> str:
    """A sleep duration no other test run uses at the same time (``501.48213``)."""
    return f"{seconds}.{random.randrange(10**5):05d}"


def sandbox_sleepers(sandbox: Any, mark: str) -> int:
    """How many ``sleep <mark>`` processes the sandbox can see (its own /proc)."""
    found = sandbox.run(f"ps -eo args | grep -c '^sleep {mark}$' || true")
    return int(found.output.strip() or 0)


@pytest.mark.parametrize("command", [
    "exec sleep 20",
    "exec sleep infinity",
    "exec 1>&- 2>&-; exec sleep 20",
    "exec 11>&- 12>&-; sleep 20",
    "exec 0<&-; exec 10<&-; sleep 20",
    "trap '' INT TERM; exec sleep 20",
    "exec bash -c 'trap \"\" INT; while :; do :; done'",
])
def test_a_command_that_replaces_or_cuts_off_the_shell_ends_at_its_timeout(
    sandbox: Any, command: str,
) -> None:
    sandbox.run("mkdir -p keep && cd keep && export KEPT=yes")
    started = time.monotonic()
    result = sandbox.run(command, timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert result.timed_out or "ended" in result.notice, result
    after = sandbox.run('echo "next:$KEPT"; pwd')
    assert after.output.startswith("next:"), after
    if not after.output.startswith("next:yes"):  # the shell was replaced: the user is told
        assert "reset" in result.notice, result.notice


@pytest.mark.parametrize("command", [
    "setsid sleep {t} & sleep 30",
    "(setsid sleep {t} &); sleep 30",
    "sleep {t} & disown; sleep 30",
    "nohup sleep {t} >/dev/null 2>&1 & sleep 30",
    "setsid bash -c '(sleep {t} &); sleep 30'",
])
def test_what_a_timed_out_command_started_does_not_survive_it(
    sandbox: Any, command: str,
) -> None:
    mark = unique(501)
    result = sandbox.run(command.format(t=mark), timeout=TIMEOUT)
    assert result.timed_out
    assert sandbox_sleepers(sandbox, mark) == 0


def test_background_jobs_of_earlier_commands_survive_a_later_timeout(sandbox: Any) -> None:
    mark = unique(502)
    sandbox.run(f"sleep {mark} >/dev/null 2>&1 &")
    assert sandbox.run("sleep 30", timeout=TIMEOUT).timed_out
    assert sandbox_sleepers(sandbox, mark) == 1


def test_close_ends_every_process_the_sandbox_started(sandbox: Any) -> None:
    mark = unique(503)
    sandbox.run(f"setsid sleep {mark} & (setsid sleep {mark} &); sleep {mark} & disown; "
                f"nohup sleep {mark} >/dev/null 2>&1 &")
    deadline = time.monotonic() + 10  # under load a background job may not have exec'd yet
    while sandbox_sleepers(sandbox, mark) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_sleepers(sandbox, mark) == 4
    if sandbox.kind == "local":
        from pygent.adapters.sandbox.processes import process_table

        sandbox.close()
        left = [pid for pid in process_table() if _args(pid) == f"sleep\x00{mark}\x00"]
        assert left == []
    else:  # the container itself is removed
        container = sandbox.container_id
        sandbox.close()
        import docker

        client = docker.from_env()
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container)
        client.close()


def _args(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


_IGNORING = """
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from pygent.runtime import Runtime
with Runtime(use_docker=False, workspace=sys.argv[1]) as runtime:
    result = runtime.run("sleep 30; echo removed", timeout=1)
    print(result.timed_out, "removed" in result.output)
"""


def test_a_pygent_started_with_sigint_ignored_still_cuts_off_the_rest_of_the_line(
        tmp_path: Any) -> None:
    # Started in the background (``nohup pygent run ... &``), Pygent has SIGINT ignored, and a
    # shell cannot trap a signal ignored when it started: the timeout killed the sleep and the
    # rest of the line ran on (seen when a CI rehearsal was started that way).
    done = subprocess.run([sys.executable, "-c", _IGNORING, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["True", "False"], done.stderr
