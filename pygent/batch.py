"""Batch runs: many tasks, one agent and one sandbox each, on an executor (threads or Ray).

:func:`run_batch_task` is the job: a module-level function of plain data, so a Ray worker on
another machine can run it. :func:`run_batch` is the driver: it skips finished ids, submits
the rest, and appends each result to ``results.jsonl`` the moment it arrives.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

from .app.batch_files import BatchTask, ResultsFile, read_results, task_settings, to_run
from .app.request_gate import GatedModel
from .app.settings import Settings
from .app.tasks import runs_elsewhere
from .app.watchdog import start_watchdog
from .app.workspace_archive import extract, pack
from .app.workspace_diff import snapshot, unified_diff
from .domain.errors import (
    ConfigError,
    ModelError,
    PygentError,
    SandboxError,
    StepCancelled,
    said,
)
from .domain.ports import Executor

__all__ = ["BatchSummary", "run_batch", "run_batch_task"]

RESULTS = "results.jsonl"
TRAJECTORIES = "trajectories"
WORKSPACES = "workspaces"
#: Seconds past a task's own time limit before the driver gives up on its job (a lost node).
DRIVER_GRACE = 60.0

_running: dict[str, Any] = {}  # task id -> its agent, in this process (threads can cancel)
_running_lock = threading.Lock()


def run_batch_task(task: dict[str, Any], settings: Settings, options: dict[str, Any]) -> dict:
    """Run one task with its own agent and sandbox; return its result line (never raise).

    ``task``: ``id``, ``prompt``, ``folder``/``files`` (host paths where the job runs) or
    ``inputs``/``paths`` (an archive whose member ``"N"`` goes to ``paths[N]``), ``settings``.
    ``options``: ``out`` (the batch folder, where the trajectory is written as it goes unless
    ``return_trajectory``), ``keep`` (keep the workspace under ``out/workspaces``),
    ``return_workspace`` (send the workspace's files back as ``workspace_archive``).
    """
    from .agent import Agent

    started = time.monotonic()
    result: dict[str, Any] = {"id": task["id"], "host": socket.gethostname()}
    out = Path(options["out"]) if options.get("out") else None
    finished = threading.Event()
    timed_out: list[str] = []  # why the watchdog cancelled the run
    agent: Any = None
    try:
        chosen = task_settings(settings, task.get("settings") or {})
        chosen = replace(
            chosen, ask_user=False, initial_files=[], checkpoints=False,
            workspace=str(out / WORKSPACES / task["id"]) if out and options.get("keep") else None,
            history_file=None if options.get("return_trajectory") or out is None else str(
                out / TRAJECTORIES / f"{task['id']}.jsonl"))
        if chosen.history_file:
            Path(chosen.history_file).unlink(missing_ok=True)  # a rerun starts afresh
        agent = Agent(settings=chosen)
        if options.get("gate") is not None:  # max_requests: one limit for the whole run
            agent.model = GatedModel(agent.model, options["gate"])
        if task.get("folder"):
            for item in sorted(Path(task["folder"]).iterdir()):
                agent.runtime.upload_file(item)
        for path in task.get("files") or []:
            agent.runtime.upload_file(path)
        if task.get("inputs"):
            _put_inputs(agent.runtime, task["inputs"], task.get("paths") or [])
        before = snapshot(agent.runtime.workspace)
        with _running_lock:
            _running[task["id"]] = agent
        start_watchdog(agent, finished, chosen.step_timeout, chosen.task_timeout,
                       partial(_time_out, agent, timed_out))
        try:
            outcome = agent.run_until_stop(task["prompt"])
            result.update(reason=outcome.reason, answer=outcome.result or outcome.text)
        except StepCancelled:
            result.update(reason="timeout" if timed_out else "cancelled", answer="")
            if timed_out:
                result["error"] = timed_out[0].split(": ", 1)[-1]
        finished.set()
        if options.get("return_workspace"):
            _send_back(agent.runtime, result)
        elif options.get("keep"):
            result["workspace"] = str(agent.runtime.workspace)
        else:
            result["diff"] = unified_diff(before, snapshot(agent.runtime.workspace))
    except Exception as exc:  # whatever failed is this task's result, not the batch's end
        result.update(reason="error", answer="", error=said(exc, whole=True),
                      infrastructure=is_infrastructure(exc))
    finally:
        finished.set()
        with _running_lock:
            _running.pop(task["id"], None)
        if agent is not None:
            totals = agent.totals()
            result.update(steps=totals.steps, prompt_tokens=totals.prompt_tokens,
                          completion_tokens=totals.completion_tokens,
                          tokens=totals.tokens)
            if options.get("return_trajectory"):
                result["trajectory"] = agent.conversation.to_openai()
            _close(agent, result)
        result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _time_out(agent: Any, said: list[str], why: str) -> None:
    said.append(why)
    agent.cancel()


def _put_inputs(runtime: Any, inputs: bytes, paths: list[str]) -> None:
    """Unpack the files a parent sent (member ``"N"`` to ``paths[N]``) into the workspace."""
    staging = Path(tempfile.mkdtemp(prefix="pygent-inputs-"))
    try:
        for number, path in enumerate(paths):
            runtime.upload_file(extract(inputs, str(number), staging / str(number)), path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _send_back(runtime: Any, result: dict[str, Any]) -> None:
    """The workspace's plain files as ``workspace_archive``, or ``workspace_error``: why not."""
    staging = Path(tempfile.mkdtemp(prefix="pygent-outputs-"))
    try:
        result["workspace_archive"] = pack(runtime.export_file(".", staging / "workspace"))
    except (PygentError, OSError) as exc:
        result["workspace_error"] = said(exc, whole=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _close(agent: Any, result: dict[str, Any]) -> None:
    try:
        agent.close()
    except Exception as exc:  # noted on the result; the batch goes on
        result.setdefault("error", f"cleanup failed: {said(exc, whole=True)}")


def cancel_running() -> None:
    """Cancel every batch task running in this process (Ctrl-C on a thread executor)."""
    with _running_lock:
        agents = list(_running.values())
    for agent in agents:
        agent.cancel()


def is_infrastructure(exc: BaseException) -> bool:
    """True for a failure of the machinery (sandbox, model server, disk), not of the task."""
    if isinstance(exc, ConfigError):
        return False
    return isinstance(exc, (SandboxError, ModelError, OSError))  # DockerUnavailable included


@dataclass
class BatchSummary:
    """How a batch run went: counts, tokens and time, for the last line a person reads."""

    total: int
    skipped: int
    done: int = 0
    failed: int = 0
    running: int = 0
    tokens: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    started: float = field(default_factory=time.monotonic)


def run_batch(
    tasks: list[BatchTask],
    out: Path,
    settings: Settings,
    executor: Executor,
    *,
    retry_errors: bool = False,
    keep: bool = False,
    on_result: Optional[Callable[[dict[str, Any], BatchSummary], None]] = None,
    infrastructure: Callable[[BaseException], bool] = lambda exc: True,
    stop: Optional[threading.Event] = None,
) -> BatchSummary:
    """Run the tasks not finished yet; append each result to ``out/results.jsonl`` at once.

    A job's exception (a worker that died, a node that left) becomes that task's result line
    with reason ``error``; ``infrastructure(exc)`` says whether a rerun with ``retry_errors``
    tries it again. Setting ``stop`` (Ctrl-C) cancels what is pending and running; tasks in
    flight then have no line, so the next run does them.
    """
    out.mkdir(parents=True, exist_ok=True)
    pending = to_run(tasks, read_results(out / RESULTS), retry_errors)
    summary = BatchSummary(total=len(tasks), skipped=len(tasks) - len(pending))
    remote = runs_elsewhere(executor)
    options = {"out": str(out), "keep": keep, "return_trajectory": remote}
    if settings.max_requests is not None:
        options["gate"] = executor.gate(settings.max_requests)
    results = ResultsFile(out / RESULTS)
    started = time.monotonic()
    futures: dict[Future[Any], BatchTask] = {}
    running_since: dict[Future[Any], float] = {}  # when the driver first saw a job running
    stop = stop or threading.Event()
    try:
        for task in pending:
            futures[executor.submit(run_batch_task, task.to_dict(), settings, options)] = task
        limit = (settings.task_timeout or 0) + DRIVER_GRACE if settings.task_timeout else None
        while futures and not stop.is_set():
            done, _ = wait(list(futures), timeout=0.2, return_when=FIRST_COMPLETED)
            finished = [(futures.pop(future), future) for future in done]
            summary.running = sum(future.running() for future in futures)
            for task, future in finished:
                running_since.pop(future, None)
                line = _result_of(future, task, infrastructure)
                if remote:
                    _write_trajectory(out, task.id, line.pop("trajectory", None))
                results.append(line)
                _count(summary, line)
                if on_result is not None:
                    on_result(line, summary)
            if limit is not None:
                now = time.monotonic()
                for future in futures:
                    if future.running():
                        running_since.setdefault(future, now)
                _give_up_on_lost_jobs(futures, running_since, limit, executor, results,
                                      summary, on_result)
        summary.interrupted = bool(futures) and stop.is_set()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if futures:
            for future in futures:
                executor.cancel(future)
            cancel_running()
        results.close()
        summary.running = 0
        summary.seconds = time.monotonic() - started
    return summary


def _result_of(future: Future[Any], task: BatchTask,
               infrastructure: Callable[[BaseException], bool]) -> dict[str, Any]:
    """The job's result line, or one that says why the job itself failed."""
    try:
        line = future.result()
        if isinstance(line, dict):
            return line
        raise TypeError(f"the job returned {type(line).__name__}, not a result")
    except Exception as exc:
        return {"id": task.id, "reason": "error", "answer": "", "error": said(exc, whole=True),
                "infrastructure": infrastructure(exc), "steps": 0, "tokens": 0}


def _give_up_on_lost_jobs(futures: dict[Future[Any], BatchTask],
                          running_since: dict[Future[Any], float], limit: float,
                          executor: Executor, results: ResultsFile, summary: BatchSummary,
                          on_result: Optional[Callable[[dict[str, Any], BatchSummary], None]],
                          ) -> None:
    """A job far past its task's time limit is lost (its node left): cancel it, say so."""
    now = time.monotonic()
    for future, task in list(futures.items()):
        since = running_since.get(future)
        if since is not None and now - since > limit and not future.done():
            executor.cancel(future)
            del futures[future]
            running_since.pop(future, None)
            line = {"id": task.id, "reason": "timeout", "answer": "", "infrastructure": True,
                    "error": f"no result {limit:g} s after the task started; its job was "
                             "cancelled", "steps": 0, "tokens": 0}
            results.append(line)
            _count(summary, line)
            if on_result is not None:
                on_result(line, summary)


def _count(summary: BatchSummary, line: dict[str, Any]) -> None:
    summary.done += 1
    summary.tokens += int(line.get("tokens") or 0)
    if line.get("reason") not in ("stop", "answer"):
        summary.failed += 1


def _write_trajectory(out: Path, task_id: str, messages: Any) -> None:
    """A remote task's trajectory, written on the driver when its result arrives, with the
    values of the driver's secret variables redacted as every history is."""
    if not isinstance(messages, list):
        return
    from .adapters.history_store import JsonlHistory
    from .container import host_secrets
    from .domain.messages import Message

    path = out / TRAJECTORIES / f"{task_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    log = JsonlHistory(str(path), secrets=host_secrets())
    try:
        for message in messages:
            log.append(Message.from_dict(message))
    finally:
        log.close()
