"""A short soak in CI: 100 run_until_stop steps, then 2 agents at once, with nothing left behind.

The full soak (1,000 steps, 8 agents x 200) is ``python benchmarks/soak.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def run_soak(kind: str, *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            "--sandbox",
            kind,
            "--steps",
            "100",
            "--agents",
            "2",
            "--agent-steps",
            "30",
            "--check",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[0])


def test_a_short_local_soak_leaves_nothing_behind() -> None:
    report = run_soak("local")
    assert report["children_left"] == 0 and report["fds_end"] == report["fds_start"]


@pytest.mark.docker
def test_a_short_docker_soak_leaves_no_container_behind(docker_image: str) -> None:
    report = run_soak("docker", "--image", docker_image)
    assert report["containers_left"] == 0 and report["children_left"] == 0
