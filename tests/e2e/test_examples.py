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
}


def test_every_example_has_an_expectation() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_example_runs_and_prints_what_it_did(name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    for expected in EXPECTED[name]:
        assert expected in done.stdout, done.stdout
