"""Every script in examples/ runs with no API key and no network, and prints what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = {
    "api_example.py": ["Commands run", "Wrote 17 bytes to hello.txt", "Hello from Pygent"],
    "runtime_example.py": ["python says: 45", "state carries over: hi from sub", "[exit status 2]"],
    "write_file_demo.py": ["ToolOutput", "1. write tests",
                           "finished after 3 steps (stop): The list has two items."],
    "custom_model.py": ["Echo: test"],
    "custom_model_with_tool.py": ["the bash tool returned: hi"],
    "custom_tool.py": ["word_count", "8 words in poem.txt", "the system prompt lists it: True"],
    "delegate_task_example.py": [
        "Started task-1", "wait: finished", "task-1 ran locally, in its own workspace",
        "task_status: finished\nFiles in its own workspace (collect_file copies them into "
        "yours): out/, square.py",
        "Copied out/report.txt from task-1 to report.txt in your workspace.",
        "report.txt: 144 | checked: 144", "your workspace: report.txt\n"],
    "config_example.py": [
        "max_tasks: 2", "personas: ['tester', 'writer']",
        'list_personas: [{"name": "tester", "description": "Writes and runs tests; reports what '
        'failed."}, {"name": "writer", "description": "Writes clear documentation."}]',
        "Started task-1 (writer)", "wait: finished",
        "task-1 was writer: Writes clear documentation.", "its system prompt names it: True",
        "README.txt: Run tests with: pytest -q",
        "an unknown persona: Error: no task persona named 'poet'",
        "a third task: Error: 2 tasks are running",
        "after the session: {'task-1': 'finished', 'task-2': 'cancelled: the parent session "
        "ended', 'task-3': 'cancelled: the parent session ended'}"],
    "delegate_custom_tool_example.py": [
        "Started task-1", "wait: finished", "the sub-agent called: ['word_count', 'stop']",
        "Files in its own workspace (collect_file copies them into yours): count.txt, poem.txt",
        "Copied count.txt from task-1 to count.txt in your workspace.",
        "count.txt: 8 words in poem.txt"],
}

#: The examples that delegate, run once more in Docker: a task's sandbox is of its parent's kind.
DELEGATING = {
    "delegate_task_example.py": ["Commands run in Docker.", "task-1 ran in Docker",
                                 "report.txt: 144 | checked: 144"],
    "config_example.py": ["README.txt: Run tests with: pytest -q",
                          "'task-3': 'cancelled: the parent session ended'"],
    "delegate_custom_tool_example.py": ["count.txt: 8 words in poem.txt"],
}


def test_every_example_has_an_expectation() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


def run_example(name: str, cwd: Path, **env: str) -> str:
    """Run one script as a user would, with no API key; its output (it must succeed)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_example_runs_and_prints_what_it_did(name: str, tmp_path: Path) -> None:
    out = run_example(name, tmp_path)
    for expected in EXPECTED[name]:
        assert expected in out, out


@pytest.mark.parametrize("name", sorted(DELEGATING))
def test_a_delegating_example_runs_its_tasks_in_docker_too(
    name: str, tmp_path: Path, docker_image: str
) -> None:
    out = run_example(name, tmp_path, PYGENT_USE_DOCKER="1", PYGENT_IMAGE=docker_image)
    for expected in DELEGATING[name]:
        assert expected in out, out
