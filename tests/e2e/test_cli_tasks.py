"""Delegated tasks in the ``pygent`` REPL: announced when they end, listed by /tasks, and stopped,
with nothing left running, however the REPL ends (/exit, Ctrl-D, SIGTERM, SIGHUP)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e import test_cli
from tests.e2e.test_cli import Launch, Terminal, cli_env
from tests.processes import eventually, long_sleep, processes_running

home, start = test_cli.home, test_cli.start  # the REPL's fixtures: a fresh HOME, a pygent in a pty

WRITE = 'delegate_task prompt="write_file path=\\"b.txt\\" content=\\"hi\\""'


def task_workspace(listing: str, task_id: str) -> Path:
    """The workspace /tasks names for ``task_id``."""
    lines = listing.splitlines()
    start_at = next(i for i, line in enumerate(lines) if line.startswith(f"{task_id}  "))
    found = next(line for line in lines[start_at:] if line.startswith("  workspace: "))
    return Path(found.split(": ", 1)[1].split(" (")[0])


def delegate_sleep(term: Terminal) -> tuple[str, Path]:
    """Delegate a five-minute sleep as task-1 and wait until it runs; the command, the workspace."""
    command = long_sleep()
    assert "Started task-1 " in term.run(f'delegate_task prompt="{command}"')
    assert eventually(lambda: bool(processes_running(command))), "the task's sleep never started"
    listing = term.run("/tasks")
    assert "task-1  running  " in listing
    return command, task_workspace(listing, "task-1")


def test_a_delegated_task_is_announced_when_it_ends_and_tasks_shows_where_its_files_are(
    start: Launch,
) -> None:
    term = start()
    shown = term.run(WRITE)
    if "task-1 finished (Pygent, " not in shown:  # it ended during the step, or after it
        term.expect("task-1 finished (Pygent, ")
        term.prompt()
    listing = term.run("/tasks")
    assert "Delegated tasks (0 running, 1 ended):\ntask-1  finished  " in listing
    assert '  prompt: write_file path="b.txt" content="hi"\n' in listing
    workspace = task_workspace(listing, "task-1")
    assert (workspace / "b.txt").read_text() == "hi"
    term.child.sendline("/exit")
    assert term.wait_exit() == 0
    assert not workspace.exists()


def test_the_line_for_a_task_that_ends_at_the_prompt_keeps_what_was_being_typed(
    start: Launch,
) -> None:
    term = start()
    term.run('delegate_task prompt="sleep 2"')
    term.child.send("echo typed-while-waiting")
    term.expect("typed-while-waiting")
    term.expect("task-1 finished (Pygent, ")  # printed while the prompt waits
    term.expect("vc> echo typed-while-waiting")  # the prompt is drawn again, line and all
    term.child.send("\r")
    assert "\ntyped-while-waiting\n" in term.prompt()


def test_tasks_stop_ends_a_running_task_and_its_process(start: Launch) -> None:
    term = start()
    command, workspace = delegate_sleep(term)
    assert "task-1 cancelled: stopped with /tasks stop" in term.run("/tasks stop task-1")
    assert processes_running(command) == []
    assert not workspace.exists()
    assert "task-1  cancelled: stopped with /tasks stop  " in term.run("/tasks")


def end_repl(term: Terminal, how: str) -> int:
    """End the REPL the way a person or the system would; its exit status."""
    if how == "/exit":
        term.child.sendline("/exit")
    elif how == "ctrl-d":
        term.child.sendeof()
    else:
        term.child.kill({"sigterm": signal.SIGTERM, "sighup": signal.SIGHUP}[how])
    term.child.expect(pexpect.EOF, timeout=30)
    term.raw += term.child.before or ""
    term.child.close()
    if term.child.exitstatus is None:  # killed by the signal: it had no chance to clean up
        return 128 + int(term.child.signalstatus)
    return int(term.child.exitstatus)


@pytest.mark.parametrize("how, status", [("/exit", 0), ("ctrl-d", 0), ("sigterm", 143),
                                         ("sighup", 129)])
def test_however_the_repl_ends_its_running_tasks_are_stopped_and_leave_nothing(
    start: Launch, how: str, status: int
) -> None:
    term = start()
    command, workspace = delegate_sleep(term)
    assert end_repl(term, how) == status
    assert "Stopping 1 running task: task-1" in term.transcript
    assert processes_running(command) == []
    assert not workspace.exists()
    assert "Traceback" not in term.transcript


def test_ctrl_c_interrupts_the_step_but_not_the_tasks_and_exit_still_stops_them(
    start: Launch,
) -> None:
    term = start()
    command, _ = delegate_sleep(term)
    term.child.sendline("sleep 30")
    term.expect("$ sleep 30")
    term.child.sendintr()
    term.expect("Interrupted; the conversation is kept.")
    term.prompt()
    assert "task-1  running  " in term.run("/tasks")
    assert processes_running(command)
    term.child.sendline("/exit")
    assert term.wait_exit() == 0
    assert processes_running(command) == []


def test_with_piped_input_the_line_for_an_ended_task_comes_between_input_lines(
    home: Path,
) -> None:
    done = subprocess.run([sys.executable, "-m", "pygent", "--no-docker"], env=cli_env(home),
                          input='delegate_task prompt="echo x"\nsleep 1\n/tasks\n/exit\n',
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\n\$ sleep 1\ntask-1 finished \(Pygent, \d+ s\)\nvc> /tasks\n",
                     done.stdout), done.stdout
    assert re.search(r"\ntask-1  finished  \d+ s  Pygent\n  prompt: echo x\n", done.stdout)


def test_a_one_shot_run_stops_its_tasks_when_it_ends_or_is_interrupted(home: Path) -> None:
    finished, interrupted = long_sleep(), long_sleep()
    done = subprocess.run(
        [sys.executable, "-m", "pygent", "--no-docker", "-p", f'delegate_task prompt="{finished}"'],
        env=cli_env(home), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert processes_running(finished) == []
    run = subprocess.Popen(
        [sys.executable, "-m", "pygent", "--no-docker", "-p",
         f'delegate_task prompt="{interrupted}"\nsleep 60'],
        env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    try:
        assert eventually(lambda: bool(processes_running(interrupted)))
        time.sleep(0.5)  # the parent's own sleep 60 is under way
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert processes_running(interrupted) == []


# -- Docker: no container of a task outlives the REPL -----------------------------------------
def containers_of(pid: int) -> list[str]:
    """Ids of the containers (running or not) a pygent process with this pid owns."""
    done = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=pygent.owner_pid={pid}"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


@pytest.mark.docker
@pytest.mark.parametrize("how, status", [("/exit", 0), ("sigterm", 143)])
def test_with_docker_a_task_s_container_is_removed_however_the_repl_ends(
    start: Launch, docker_image: str, how: str, status: int
) -> None:
    term = start("--docker", PYGENT_IMAGE=docker_image)
    assert "Pygent - Docker - model: direct" in term.transcript
    pid = term.child.pid
    assert pid is not None
    term.run(f'delegate_task prompt="{long_sleep()}"')
    assert eventually(lambda: len(containers_of(pid)) == 2), containers_of(pid)  # parent + task
    assert "task-1  running  " in term.run("/tasks")
    assert end_repl(term, how) == status
    assert containers_of(pid) == []


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_while_the_prompt_loads_a_long_history_still_ends_the_session_cleanly(
    home: Path, start: Launch, sig: int, status: int
) -> None:
    history = home / ".local" / "share" / "pygent" / "history"
    history.parent.mkdir(parents=True)
    history.write_text("".join(f"\n# 2026-12-04\n+echo line {n}\n" for n in range(200_000)))
    term = start()  # the prompt is drawn while prompt_toolkit loads the history behind it
    term.child.kill(sig)
    term.child.expect(pexpect.EOF, timeout=60)
    term.raw += term.child.before or ""
    term.child.close()
    assert term.child.exitstatus == status, term.transcript
    assert "Traceback" not in term.transcript and "Unhandled exception" not in term.transcript
