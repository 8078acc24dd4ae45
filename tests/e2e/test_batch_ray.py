"""``pygent batch --executor ray`` against a real Ray cluster on this machine (conftest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pygent.app.batch_files import read_results


def test_a_batch_on_the_cluster_writes_every_result_and_trajectory_on_the_driver(
        tmp_path: Path, ray_cluster: Any) -> None:
    (tmp_path / "start").mkdir()
    (tmp_path / "start" / "a.txt").write_text("old\n")
    tasks = [{"id": f"r{n}", "prompt": f'write_file path="n.txt" content="{n}"'}
             for n in range(4)]
    tasks.append({"id": "edit", "prompt": "echo new >> a.txt", "folder": "start"})
    tasks.append({"id": "slow", "prompt": "sleep 60", "settings": {"task_timeout": 1}})
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    env = {**os.environ, "PYGENT_USE_DOCKER": "0", "PYGENT_CONFINE": "0",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    run = subprocess.run(
        [sys.executable, "-m", "pygent", "batch", "tasks.jsonl", "--executor", "ray",
         "--address", ray_cluster.address, "--workers", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr  # the slow one timed out
    results = read_results(tmp_path / "pygent-batch" / "results.jsonl")
    assert {r["reason"] for k, r in results.items() if k != "slow"} == {"stop"}
    assert results["slow"]["reason"] == "timeout"
    assert "+new" in results["edit"]["diff"] and "+3" in results["r3"]["diff"]
    assert "trajectory" not in results["r0"]
    for task in tasks:
        trajectory = tmp_path / "pygent-batch" / "trajectories" / f"{task['id']}.jsonl"
        assert '"role": "user"' in trajectory.read_text()
    assert "6 task(s) run, 1 failed" in run.stderr
