"""``pygent batch`` on the thread executor, offline: results as tasks end, resume, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from pygent.adapters.executors.threads import ThreadExecutor
from pygent.app.batch_files import read_results, read_tasks
from pygent.app.settings import Settings
from pygent.batch import run_batch
from pygent.domain.errors import ConfigError
from pygent.models import set_custom_model
from tests.fakes import CrowdModel, call, calls
from tests.processes import eventually, long_sleep, processes_running

LOCAL = Settings(backend="direct", use_docker=False, confine=False)


def write_tasks(folder: Path, *tasks: dict[str, Any]) -> Path:
    path = folder / "tasks.jsonl"
    path.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    return path


def batch(folder: Path, *tasks: dict[str, Any], workers: int = 2,
          settings: Settings = LOCAL, **options: Any) -> dict[str, dict[str, Any]]:
    executor = ThreadExecutor(workers)
    try:
        run_batch(read_tasks(write_tasks(folder, *tasks)), folder / "out", settings, executor,
                  **options)
    finally:
        executor.shutdown()
    return read_results(folder / "out" / "results.jsonl")


def test_each_task_gets_a_result_line_a_trajectory_and_the_diff_of_its_workspace(
        tmp_path: Path) -> None:
    (tmp_path / "start").mkdir()
    (tmp_path / "start" / "a.txt").write_text("old\n")
    (tmp_path / "note.md").write_text("a note\n")
    results = batch(
        tmp_path,
        {"id": "write", "prompt": 'write_file path="hello.txt" content="hi\n"'},
        {"id": "edit", "prompt": "echo new >> a.txt\nrm note.md", "folder": "start",
         "files": ["note.md"]},
        {"id": "binary", "prompt": "printf '\\x00\\x01' > b.bin"})
    assert set(results) == {"write", "edit", "binary"}
    assert results["write"]["reason"] == "stop" and results["write"]["steps"] == 2
    assert results["write"]["diff"] == "--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hi\n"
    assert "+new" in results["edit"]["diff"] and "--- a/note.md\n+++ /dev/null" in (
        results["edit"]["diff"])
    assert results["binary"]["diff"] == "Binary files /dev/null and b/b.bin differ\n"
    trajectory = (tmp_path / "out" / "trajectories" / "write.jsonl").read_text()
    assert "hello.txt" in trajectory and '"role": "tool"' in trajectory


def test_a_task_may_keep_its_workspace_and_use_settings_of_its_own(tmp_path: Path) -> None:
    results = batch(tmp_path, {"id": "k", "prompt": "echo $PROBE > probe.txt",
                               "settings": {"env": {"PROBE": "per-task"}, "max_steps": 5}},
                    keep=True)
    kept = Path(results["k"]["workspace"])
    assert kept == (tmp_path / "out" / "workspaces" / "k").resolve()
    assert (kept / "probe.txt").read_text() == "per-task\n"


def test_a_rerun_skips_finished_ids_and_retry_errors_reruns_only_infrastructure_failures(
        tmp_path: Path) -> None:
    tasks = [{"id": f"t{n}", "prompt": f"echo {n} >> runs.txt"} for n in range(4)]
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text(
        json.dumps({"id": "t0", "reason": "stop"}) + "\n"
        + json.dumps({"id": "t1", "reason": "error", "infrastructure": True}) + "\n"
        + json.dumps({"id": "t2", "reason": "error", "infrastructure": False}) + "\n"
        + '{"id": "t3", "reas')  # torn by a crash: t3 has no result
    results = batch(tmp_path, *tasks)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines[4:]] == ["t3"]
    batch(tmp_path, *tasks, retry_errors=True)
    rerun = [json.loads(line)["id"] for line in (out / "results.jsonl").read_text()
             .splitlines()[5:]]
    assert rerun == ["t1"]
    assert read_results(out / "results.jsonl")["t1"]["reason"] == "stop"
    assert results["t2"]["infrastructure"] is False  # a task's own failure is not retried


def test_a_task_past_its_time_limit_is_a_timeout_line_and_its_command_is_killed(
        tmp_path: Path) -> None:
    sleep = long_sleep()
    results = batch(tmp_path, {"id": "slow", "prompt": sleep, "settings": {"task_timeout": 1}},
                    {"id": "quick", "prompt": "true"})
    assert results["slow"]["reason"] == "timeout"
    assert results["slow"]["error"] == "the task ran longer than 1 s"
    assert results["quick"]["reason"] == "stop"
    assert eventually(lambda: not processes_running(sleep), 10)


def test_a_step_past_its_limit_is_a_timeout_line_that_says_so(tmp_path: Path) -> None:
    sleep = long_sleep()
    results = batch(tmp_path, {"id": "stuck", "prompt": f"echo quick\n{sleep}",
                               "settings": {"step_timeout": 1.5}})
    assert results["stuck"]["reason"] == "timeout"
    assert results["stuck"]["error"] == "a step ran longer than 1.5 s"
    assert eventually(lambda: not processes_running(sleep), 10)


def test_a_sandbox_that_cannot_start_is_an_infrastructure_error_line(
        tmp_path: Path, docker_image: str) -> None:
    results = batch(tmp_path, {"id": "ok", "prompt": "true"},
                    {"id": "bad", "prompt": "true",
                     "settings": {"image": "pygent-no-such-image:none"}},
                    settings=replace(LOCAL, use_docker=True, image=docker_image))
    assert results["ok"]["reason"] == "stop"
    assert results["bad"]["reason"] == "error"
    assert results["bad"]["error"].startswith("DockerUnavailable: the image pygent-no-such-image")
    assert results["bad"]["infrastructure"] is True


def test_a_job_that_raises_is_a_result_line_not_the_end_of_the_batch(tmp_path: Path) -> None:
    class Exploding(ThreadExecutor):
        def submit(self, job: Any, *args: Any) -> Any:
            if args[0]["id"] == "boom":
                return super().submit(_raise, RuntimeError("the worker died"))
            return super().submit(job, *args)

    executor = Exploding(2)
    tasks = read_tasks(write_tasks(tmp_path, {"id": "boom", "prompt": "true"},
                                   {"id": "fine", "prompt": "true"}))
    summary = run_batch(tasks, tmp_path / "out", LOCAL, executor)
    executor.shutdown()
    results = read_results(tmp_path / "out" / "results.jsonl")
    assert results["boom"]["error"] == "RuntimeError: the worker died"
    assert results["boom"]["infrastructure"] is True and results["fine"]["reason"] == "stop"
    assert summary.done == 2 and summary.failed == 1


def _raise(exc: Exception) -> None:
    raise exc


@pytest.mark.parametrize("limit", [1, None])
def test_max_requests_bounds_the_model_requests_of_all_the_workers_at_once(
        tmp_path: Path, limit: Optional[int]) -> None:
    crowd = CrowdModel(seconds=0.4, reply=calls(call("stop", {"result": "ok"})))
    set_custom_model(crowd)  # every task's agent talks to it (conftest unsets it)
    tasks = [{"id": f"t{n}", "prompt": "finish"} for n in range(6)]
    results = batch(tmp_path, *tasks, workers=3, settings=replace(LOCAL, max_requests=limit))
    assert [results[f"t{n}"]["reason"] for n in range(6)] == ["stop"] * 6
    assert crowd.calls == 6
    if limit is None:
        assert crowd.peak > 1  # unlimited, the workers do ask at once
    else:
        assert crowd.peak == limit


@pytest.mark.parametrize("line, complaint", [
    ('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}', "the id 'a' is used twice"),
    ('{"id": "../escape", "prompt": "x"}', "must be 1-100 letters"),
    ('{"id": "a", "prompt": "x", "shell": "rm"}', "unknown key(s) ['shell']"),
    ('{"id": "a", "prompt": "x", "settings": {"workspace": "/"}}', "workspace is set by the batch"),
    ('{"id": "a", "prompt": "x", "settings": {"max_requests": 9}}',
     "max_requests is set by the batch"),
    ('{"id": "a", "prompt": "x", "settings": {"max_steps": "many"}}', "setting max_steps"),
    ('{"id": "a", "prompt": "x", "settings": {"nope": 1}}', "unknown setting 'nope'"),
    ('{"id": "a"}', "needs a prompt"),
    ('{"id": "a", "prompt": "x"}\nnot json', "tasks.jsonl:2: not a JSON object"),
    ("", "holds no tasks"),
])
def test_a_bad_tasks_file_is_refused_before_anything_runs(tmp_path: Path, line: str,
                                                          complaint: str) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(line)
    with pytest.raises(ConfigError) as caught:
        read_tasks(path)
    assert complaint in str(caught.value)


# -- the command --------------------------------------------------------------------------------
def pygent(*args: str, cwd: Path, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYGENT_USE_DOCKER": "0", "PYGENT_CONFINE": "0"}
    return subprocess.Popen([sys.executable, "-m", "pygent", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_the_command_prints_a_line_per_task_and_exits_1_when_one_failed(tmp_path: Path) -> None:
    write_tasks(tmp_path, {"id": "ok", "prompt": "true"},
                {"id": "slow", "prompt": "sleep 5", "settings": {"task_timeout": 0.5}})
    run = pygent("batch", "tasks.jsonl", "--workers", "2", cwd=tmp_path)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert "ok: stop [" in err and "slow: timeout (the task ran longer than 0.5 s)" in err
    assert "2 task(s) run, 1 failed" in err and "pygent-batch/results.jsonl" in err
    again = pygent("batch", "tasks.jsonl", cwd=tmp_path)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 1 and "0 task(s) run, 0 failed, 2 skipped" in err


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_a_batch_stopped_midway_loses_only_the_tasks_in_flight_and_a_rerun_finishes(
        tmp_path: Path, how: int) -> None:
    sleeps = [long_sleep() for _ in range(2)]
    tasks = [{"id": f"quick{n}", "prompt": "true"} for n in range(3)]
    tasks += [{"id": f"slow{n}", "prompt": sleep} for n, sleep in enumerate(sleeps)]
    write_tasks(tmp_path, *tasks)
    run = pygent("batch", "tasks.jsonl", "--workers", "2", cwd=tmp_path,
                 start_new_session=True)
    assert eventually(lambda: all(processes_running(sleep) for sleep in sleeps), 60)
    os.kill(run.pid, how)
    run.communicate(timeout=60)
    assert run.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL)
    if how == signal.SIGKILL:  # nobody was left to stop them: the test does
        for sleep in sleeps:
            for pid in processes_running(sleep):
                os.kill(pid, signal.SIGKILL)
    assert eventually(lambda: not any(processes_running(s) for s in sleeps), 20)
    results = read_results(tmp_path / "pygent-batch" / "results.jsonl")
    assert set(results) == {"quick0", "quick1", "quick2"}
    for task in tasks[3:]:
        task["prompt"] = "true"  # the rerun's slow tasks are quick
    write_tasks(tmp_path, *tasks)
    rerun = pygent("batch", "tasks.jsonl", cwd=tmp_path)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert "2 task(s) run, 0 failed, 3 skipped" in err
    lines = (tmp_path / "pygent-batch" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(t["id"] for t in tasks)


def test_a_docker_batch_runs_each_task_in_its_own_container_and_leaves_none(
        tmp_path: Path, docker_image: str) -> None:
    import docker

    write_tasks(tmp_path, *({"id": f"d{n}", "prompt": "hostname > host.txt"} for n in range(3)))
    env = {**os.environ, "PYGENT_IMAGE": docker_image}
    run = subprocess.Popen([sys.executable, "-m", "pygent", "batch", "tasks.jsonl", "--docker",
                            "--keep-workspaces", "--workers", "2"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    results = read_results(tmp_path / "pygent-batch" / "results.jsonl")
    hosts = {(Path(r["workspace"]) / "host.txt").read_text() for r in results.values()}
    assert len(hosts) == 3  # three containers, one per task
    client = docker.from_env()
    try:
        left = client.containers.list(all=True,
                                      filters={"label": f"pygent.owner_pid={run.pid}"})
    finally:
        client.close()
    assert left == []


def test_a_missing_start_file_or_folder_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks.jsonl:1: .*missing.txt does not exist"):
        read_tasks(write_tasks(tmp_path, {"id": "a", "prompt": "x", "files": ["missing.txt"]}))
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a folder"):
        read_tasks(write_tasks(tmp_path, {"id": "a", "prompt": "x", "folder": "file"}))


def test_the_tasks_file_on_the_batch_page_reads(tmp_path: Path) -> None:
    page = (Path(__file__).parents[2] / "docs" / "batch.md").read_text()
    block = page.split("```json\n", 1)[1].split("```", 1)[0]
    (tmp_path / "bugs" / "calc").mkdir(parents=True)
    (tmp_path / "tasks.jsonl").write_text(block)
    tasks = read_tasks(tmp_path / "tasks.jsonl")
    assert [task.id for task in tasks] == ["hello", "fix-1", "slow"]
    assert tasks[2].settings == {"task_timeout": 600}


def test_a_remote_tasks_trajectory_is_written_by_the_driver_with_secrets_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pygent.batch import _write_trajectory

    monkeypatch.setenv("MY_API_KEY", "sk-very-secret-value")
    _write_trajectory(tmp_path, "t1", [
        {"role": "user", "content": "use sk-very-secret-value"},
        {"role": "assistant", "content": "ok"}])
    text = (tmp_path / "trajectories" / "t1.jsonl").read_text()
    assert "sk-very-secret-value" not in text and "ok" in text


def test_progress_counts_the_tasks_still_running_when_each_result_arrives(
        tmp_path: Path) -> None:
    seen: list[int] = []  # how many were said to run as each result arrived
    executor = ThreadExecutor(3)
    tasks = [{"id": "slow", "prompt": "sleep 2"}, {"id": "a", "prompt": "true"},
             {"id": "b", "prompt": "true"}]
    try:
        run_batch(read_tasks(write_tasks(tmp_path, *tasks)), tmp_path / "out", LOCAL, executor,
                  on_result=lambda line, summary: seen.append(summary.running))
    finally:
        executor.shutdown()
    assert len(seen) == 3 and seen[-1] == 0
    assert all(running <= 2 - index for index, running in enumerate(seen))  # never the done
