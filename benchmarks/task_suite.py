"""How often small local models finish small coding tasks through ``pygent run``.

Run by hand (it takes hours on two cores for the full matrix):

    python benchmarks/task_suite.py                      # both models, both harnesses, 3 runs
    python benchmarks/task_suite.py --models 0.5b --harness pygent --protocols text --runs 1
    python benchmarks/task_suite.py --tasks 01 csv       # tasks whose folder name contains these
    python benchmarks/task_suite.py --self-check         # the checks: solution passes, start fails

Each task in benchmarks/tasks/NN-name/ is an instruction (task.txt), the starting files
(start/) and a check (check.sh, exit 0 = solved) run in the finished workspace. For every model
(Qwen2.5-Coder 1.5B and 0.5B, Q4_K_M, on one llama.cpp server per model) each task runs
``--runs`` times per harness in a fresh workspace: ``pygent run`` once per tool protocol
(``--protocols``), and mini-swe-agent's text-based agent as the reference (installed in its own
venv, ``--mini-venv``). Every run appends a JSON line to ``--results``: solved, steps (model
calls), wall seconds, exit code and the stderr tail. The end prints solved/total, median steps
and wall time per (model, harness), then per task the solved counts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.models import QWEN_1_5B_PACKAGES, qwen_coder_1_5b_model  # noqa: E402
from tests import llama_server  # noqa: E402
from tests.llama_server import (  # noqa: E402
    QWEN_PACKAGES,
    SERVER_PACKAGE,
    LlamaServer,
    ensure_packages,
    qwen_coder_model,
)

TASKS_DIR = Path(__file__).resolve().parent / "tasks"
DRIVER = Path(__file__).resolve().parent / "mini_swe_driver.py"
BENCH_CACHE = Path.home() / ".cache" / "pygent-bench"
CTX, PREDICT = 8192, 1024
CHECK_TIMEOUT = 60
STDERR_TAIL = 20
TRANSCRIPT = "history.jsonl"  # pygent's conversation, kept next to the results
MINI_TRAJECTORY = "trajectory.json"
MINI_PACKAGES = ["mini-swe-agent", "litellm[mcp]"]
#: pygent's stderr summary, from ``Totals.describe()`` in pygent/domain/stats.py.
TOTAL_LINE = re.compile(
    r"^Total: (?P<steps>\d+) steps?, (?:tokens not reported by the server|"
    r"(?P<prompt>[\d,]+) prompt \+ (?P<completion>[\d,]+) completion tokens[^,]*), "
    r"(?P<seconds>[\d.]+) s\s*$"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Task:
    """One folder of benchmarks/tasks: what to ask, where to start, how to check."""

    folder: Path

    @property
    def name(self) -> str:
        """The folder name, e.g. ``01-csv-total``."""
        return self.folder.name

    @property
    def text(self) -> str:
        """The instruction, as a user would type it."""
        return (self.folder / "task.txt").read_text().strip()


@dataclass(frozen=True)
class ModelSpec:
    """A benchmark model: how to get its packages and its file."""

    key: str
    label: str
    packages: tuple[str, ...]

    def path(self) -> Path:
        """The GGUF file, joined from its packages on first use."""
        return qwen_coder_1_5b_model() if self.key == "1.5b" else qwen_coder_model()


MODELS = {
    "1.5b": ModelSpec("1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
                      (SERVER_PACKAGE, *QWEN_1_5B_PACKAGES)),
    "0.5b": ModelSpec("0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
                      (SERVER_PACKAGE, *QWEN_PACKAGES)),
}


def load_tasks(filters: Optional[list[str]] = None) -> list[Task]:
    """The task folders in order, those whose name starts with or contains a filter if given."""
    tasks = [Task(p) for p in sorted(TASKS_DIR.iterdir()) if (p / "task.txt").is_file()]
    if filters:
        tasks = [t for t in tasks if any(t.name.startswith(f) or f in t.name for f in filters)]
    return tasks


def prepare_workspace(task: Task, parent: Path) -> Path:
    """A fresh copy of start/ (without the .keep placeholder an empty folder needs in git)."""
    workspace = Path(tempfile.mkdtemp(prefix=f"{task.name}-", dir=parent))
    shutil.copytree(task.folder / "start", workspace, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".keep"))
    return workspace


def run_script(script: Path, workspace: Path, timeout: float = CHECK_TIMEOUT) -> tuple[int, str]:
    """Run a task's bash script in the workspace; a timeout counts as failure (-9)."""
    done = run_killable(["bash", str(script)], cwd=workspace, env=dict(os.environ),
                        timeout=timeout)
    return done.code, done.output


def check(task: Task, workspace: Path) -> bool:
    """Whether check.sh accepts the workspace."""
    return run_script(task.folder / "check.sh", workspace)[0] == 0


@dataclass
class Finished:
    """A child process's end: exit code (-9 when killed at the timeout) and its output."""

    code: int
    output: str
    stderr: str
    seconds: float
    timed_out: bool


def run_killable(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float,
                 split_stderr: bool = False) -> Finished:
    """Run in its own process group so a timeout kills everything it started."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if split_stderr else subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(process)
        out, err = process.communicate()
    except BaseException:  # the suite itself is stopped: the run in its own group goes too
        kill_group(process)
        raise
    return Finished(-9 if timed_out else process.returncode,
                    out.decode(errors="replace"), (err or b"").decode(errors="replace"),
                    time.monotonic() - started, timed_out)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it is the group leader)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def parse_totals(stderr: str) -> dict[str, Any]:
    """Steps, tokens and loop seconds from pygent's last ``Total:`` line, if it printed one."""
    for raw in reversed(ANSI.sub("", stderr).replace("\r", "\n").splitlines()):
        match = TOTAL_LINE.match(raw.strip())
        if match:
            return {
                "steps": int(match["steps"]),
                "prompt_tokens": int(match["prompt"].replace(",", "")) if match["prompt"] else None,
                "completion_tokens": (int(match["completion"].replace(",", ""))
                                      if match["completion"] else None),
                "agent_seconds": float(match["seconds"]),
            }
    return {"steps": None}


def tail(text: str, lines: int = STDERR_TAIL) -> list[str]:
    """The last lines of a child's output, spinner frames and colours removed."""
    clean = ANSI.sub("", text).replace("\r", "\n")
    return [line for line in clean.splitlines() if line.strip()][-lines:]


class PygentHarness:
    """``python -m pygent run TASK`` in a workspace, talking to the benchmark's server."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        help_text = subprocess.run(
            [sys.executable, "-m", "pygent", "run", "--help"], cwd=ROOT, capture_output=True,
            text=True, timeout=60).stdout
        self.supports = {flag: flag in help_text
                         for flag in ("--tool-protocol", "--temperature", "--seed")}

    def protocols(self) -> list[str]:
        """The protocols this pygent can run: without the flag, native only (its default)."""
        if self.supports["--tool-protocol"]:
            return list(self.args.protocols)
        return [p for p in self.args.protocols if p == "native"]

    def command(self, task: Task, workspace: Path, protocol: str, run: int = 1) -> list[str]:
        """The exact command line of one run."""
        command = [sys.executable, "-m", "pygent", "run", task.text, "--backend", "openai",
                   "--no-docker", "--workspace", str(workspace),
                   "--max-steps", str(self.args.max_steps)]
        if self.supports["--tool-protocol"]:
            command += ["--tool-protocol", protocol]
        if self.args.temperature is not None:
            command += ["--temperature", str(self.args.temperature)]
        if self.args.seed is not None:
            command += ["--seed", str(run_seed(self.args.seed, run))]
        return command

    def run(self, task: Task, workspace: Path, home: Path, base_url: str,
            protocol: str, run: int = 1, model_file: Optional[Path] = None) -> dict[str, Any]:
        """One run; the result without the check."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYGENT_", "OPENAI_"))}  # only what the benchmark sets
        env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="local", HOME=str(home),
                   PYTHONPATH=str(ROOT), PYGENT_HISTORY_FILE=str(home / TRANSCRIPT))
        if model_file is not None:  # what --local-model with this file would choose
            env["PYGENT_EXAMPLE_TASK"] = "1" if example_task_for(model_file) else "0"
        done = run_killable(self.command(task, workspace, protocol, run), cwd=workspace, env=env,
                            timeout=self.args.timeout, split_stderr=True)
        return {**parse_totals(done.stderr), "exit_code": done.code,
                "timed_out": done.timed_out, "seconds": round(done.seconds, 1),
                "stderr_tail": tail(done.stderr)}


class MiniHarness:
    """mini-swe-agent's text-based agent (mini_textbased.yaml), run by mini_swe_driver.py."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.venv = Path(args.mini_venv).expanduser()
        self.python = self.venv / "bin" / "python"
        self.probe_home = BENCH_CACHE / "mini-home"  # HOME for the import probes, not for runs

    def ensure_venv(self) -> None:
        """Make the venv and install mini-swe-agent into it unless it imports already."""
        probe = [str(self.python), "-c", "import minisweagent, litellm"]
        if self.python.exists() and subprocess.run(
                probe, capture_output=True, env=self.env(self.probe_home)).returncode == 0:
            return
        print(f"installing {' '.join(MINI_PACKAGES)} into {self.venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run([str(self.python), "-m", "pip", "install", "-q", *MINI_PACKAGES],
                       check=True, timeout=1800)
        subprocess.run(probe, check=True, env=self.env(self.probe_home))

    def version(self) -> str:
        """The installed mini-swe-agent version."""
        done = subprocess.run(
            [str(self.python), "-c", "import minisweagent; print(minisweagent.__version__)"],
            capture_output=True, text=True, env=self.env(self.probe_home))
        return done.stdout.strip() or "?"

    @staticmethod
    def env(home: Path) -> dict[str, str]:
        """No user config or banner, cost errors ignored, litellm's bundled price map (no fetch)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MSWEA_", "OPENAI_", "LITELLM_"))}
        env.update(HOME=str(home), MSWEA_SILENT_STARTUP="1",
                   MSWEA_GLOBAL_CONFIG_DIR=str(home / "mini-swe-agent"),
                   MSWEA_COST_TRACKING="ignore_errors", LITELLM_LOCAL_MODEL_COST_MAP="True")
        return env

    def command(self, task_file: Path, workspace: Path, base_url: str,
                trajectory: Path, run: int = 1) -> list[str]:
        """The exact command line of one run."""
        command = [str(self.python), str(DRIVER), "--task-file", str(task_file),
                   "--workspace", str(workspace), "--base-url", base_url,
                   "--step-limit", str(self.args.max_steps), "--trajectory", str(trajectory)]
        if self.args.temperature is not None:
            command += ["--temperature", str(self.args.temperature)]
        if self.args.seed is not None:
            command += ["--seed", str(run_seed(self.args.seed, run))]
        return command

    def run(self, task: Task, workspace: Path, home: Path, base_url: str,
            run: int = 1) -> dict[str, Any]:
        """One run; steps are the agent's model calls, read from the driver's last line."""
        trajectory = home / MINI_TRAJECTORY
        command = self.command(task.folder / "task.txt", workspace, base_url, trajectory, run)
        done = run_killable(command, cwd=workspace, env=self.env(home),
                            timeout=self.args.timeout, split_stderr=True)
        summary: dict[str, Any] = {}
        for line in reversed(done.output.splitlines()):
            if line.startswith("{"):
                try:
                    summary = json.loads(line)
                    break
                except ValueError:
                    continue
        if not summary and trajectory.is_file():  # killed at the timeout: the last saved state
            try:
                info = json.loads(trajectory.read_text())["info"]
                summary = {"steps": info["model_stats"]["api_calls"],
                           "exit_status": info.get("exit_status", "")}
            except (ValueError, KeyError):
                pass
        return {"steps": summary.get("steps"), "exit_status": summary.get("exit_status"),
                "exit_code": done.code, "timed_out": done.timed_out,
                "seconds": round(done.seconds, 1),
                "stderr_tail": tail(done.stderr + done.output)}


def example_task_for(model_file: Path) -> bool:
    """Whether pygent shows the example task to this model when it serves the file itself;
    over a server it cannot tell the model's size, so the benchmark says it."""
    try:
        from pygent.app.settings import Settings
        from pygent.container import resolve_example_task
    except ImportError:  # an older pygent, without the setting
        return False
    return resolve_example_task(Settings(local_model=str(model_file)))


def run_seed(seed: int, run: int) -> int:
    """Run N's seed: ``--seed`` for the first run, one more for each next, so that with a
    temperature above 0 the runs are independent draws, and the same in both harnesses."""
    return seed + run - 1


def harness_configs(args: argparse.Namespace, pygent: Optional[PygentHarness]) -> list[str]:
    """The labels of what runs per task: ``pygent/<protocol>`` and ``mini/text``."""
    labels = []
    if pygent is not None:
        labels += [f"pygent/{p}" for p in pygent.protocols()]
    if "mini" in args.harness:
        labels.append("mini/text")
    return labels


def run_model(args: argparse.Namespace, spec: ModelSpec, tasks: list[Task], labels: list[str],
              pygent: Optional[PygentHarness], mini: Optional[MiniHarness],
              results: Path) -> list[dict[str, Any]]:
    """Start the model's server once, run every (run, task, harness), stop the server."""
    records = []
    path = spec.path()
    started = time.monotonic()
    with LlamaServer(path, ctx=CTX, predict=PREDICT, startup_timeout=300) as server:
        print(f"\n== {spec.label}: server ready in {time.monotonic() - started:.1f} s "
              f"at {server.base_url}", flush=True)
        for run in range(1, args.runs + 1):
            for task in tasks:
                for label in labels:
                    record = run_one(args, spec, task, label, run, server.base_url, pygent, mini,
                                     results)
                    records.append(record)
                    with results.open("a") as out:
                        out.write(json.dumps(record) + "\n")
                    steps = record["steps"] if record["steps"] is not None else "?"
                    print(f"{spec.key} {label:13} run {run} {task.name:22} "
                          f"{'SOLVED' if record['solved'] else 'failed':6} steps {steps:>2} "
                          f"{record['seconds']:6.1f} s exit {record['exit_code']}"
                          f"{' (timeout)' if record['timed_out'] else ''}", flush=True)
    return records


def run_one(args: argparse.Namespace, spec: ModelSpec, task: Task, label: str, run: int,
            base_url: str, pygent: Optional[PygentHarness],
            mini: Optional[MiniHarness], results: Path) -> dict[str, Any]:
    """One task in one fresh workspace (and HOME), then its check."""
    scratch = Path(tempfile.mkdtemp(prefix="pygent-suite-"))
    try:
        workspace = prepare_workspace(task, scratch)
        home = scratch / "home"
        home.mkdir()
        harness, _, protocol = label.partition("/")
        if harness == "pygent" and pygent is not None:
            result = pygent.run(task, workspace, home, base_url, protocol, run, spec.path())
        elif mini is not None:
            result = mini.run(task, workspace, home, base_url, run)
        else:
            raise ValueError(label)
        solved = check(task, workspace)
        save_transcript(home, results.parent / "transcripts" / results.stem
                        / f"{spec.key}-{label.replace('/', '-')}-{task.name}-run{run}.json")
        if args.keep:
            print(f"   workspace kept: {workspace}")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"model": spec.key, "harness": label, "task": task.name, "run": run,
            "solved": solved, "max_steps": args.max_steps, **result}


def save_transcript(home: Path, target: Path) -> None:
    """Keep the run's conversation (pygent's history file, or mini-swe-agent's trajectory)."""
    for name in (TRANSCRIPT, MINI_TRAJECTORY):
        if (home / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(home / name, target.with_suffix(Path(name).suffix))


def median(values: list[float]) -> Optional[float]:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def fmt(value: Optional[float], digits: int = 1) -> str:
    """A number for the table; a dash when unknown."""
    return "-" if value is None else f"{value:.{digits}f}"


def groups(records: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Records by ``model harness`` in first-seen order."""
    keys: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        keys.setdefault(f"{record['model']} {record['harness']}", []).append(record)
    yield from keys.items()


def print_table(records: list[dict[str, Any]]) -> None:
    """Solved rate, steps and wall time per (model, harness); then solved counts per task."""
    grouped = list(groups(records))
    print(f"\n{'model / harness':24} {'solved':>8} {'rate':>5} {'med steps':>9} "
          f"{'med wall s':>10} {'total wall s':>12}")
    for key, rows in grouped:
        solved = sum(r["solved"] for r in rows)
        steps = [r["steps"] for r in rows if r["steps"] is not None]
        walls = [r["seconds"] for r in rows]
        print(f"{key:24} {f'{solved}/{len(rows)}':>8} {100 * solved / len(rows):4.0f}% "
              f"{fmt(median(steps)):>9} {fmt(median(walls)):>10} {sum(walls):12.1f}")
    names = sorted({r["task"] for r in records})
    width = max(len(k) for k, _ in grouped)
    print(f"\n{'task':22} " + " ".join(f"{k:>{width}}" for k, _ in grouped))
    for name in names:
        cells = []
        for _, rows in grouped:
            mine = [r for r in rows if r["task"] == name]
            cells.append(f"{sum(r['solved'] for r in mine)}/{len(mine)}")
        print(f"{name:22} " + " ".join(f"{c:>{width}}" for c in cells))


def self_check(tasks: list[Task]) -> int:
    """Each check fails on the untouched start/ and passes after the reference solution."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="pygent-suite-self-") as scratch:
        for task in tasks:
            problems = []
            for name in ("task.txt", "check.sh", "solution.sh"):
                if not (task.folder / name).is_file():
                    problems.append(f"no {name}")
            if not (task.folder / "start").is_dir():
                problems.append("no start/")
            if not problems:
                untouched = prepare_workspace(task, Path(scratch))
                if check(task, untouched):
                    problems.append("check.sh passes on the untouched start/")
                solved = prepare_workspace(task, Path(scratch))
                code, output = run_script(task.folder / "solution.sh", solved)
                if code != 0:
                    problems.append(f"solution.sh exited {code}: {output.strip()[-200:]}")
                code, output = run_script(task.folder / "check.sh", solved)
                if code != 0:
                    problems.append(f"check.sh fails after solution.sh: {output.strip()[-200:]}")
            failures += bool(problems)
            print(f"{task.name:22} {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    print(f"\n{len(tasks) - failures}/{len(tasks)} tasks pass the self-check")
    return 1 if failures else 0


def print_facts(args: argparse.Namespace, specs: list[ModelSpec],
                pygent: Optional[PygentHarness], mini: Optional[MiniHarness],
                results: Path) -> None:
    """What does not change from task to task, printed once."""
    for spec in specs:
        path = spec.path()
        print(f"model {spec.key}: {spec.label}, {path.stat().st_size:,} bytes ({path})")
    print(f"server: llama.cpp ({SERVER_PACKAGE}), ctx {CTX}, predict {PREDICT}, "
          f"threads {getattr(llama_server, 'THREADS', '?')}, one server per model; "
          f"cores here: {os.cpu_count()}")
    print(f"runs {args.runs}, max steps {args.max_steps}, timeout {args.timeout:g} s per run, "
          f"temperature {args.temperature if args.temperature is not None else 'server default'}"
          f", seed {f'{args.seed} + run - 1' if args.seed is not None else 'server default'}")
    if pygent is not None:
        note = "" if pygent.supports["--tool-protocol"] else (
            " (this pygent has no --tool-protocol flag: native runs use its default, "
            "text runs are skipped)")
        print(f"pygent protocols: {' '.join(pygent.protocols()) or 'none'}{note}; example "
              "task: " + ", ".join(f"{spec.key} {'on' if example_task_for(spec.path()) else 'off'}"
                                   for spec in specs) + " (as --local-model would choose)")
    if mini is not None:
        print(f"mini-swe-agent {mini.version()} (mini_textbased.yaml) from {mini.venv}")
    print(f"results: {results}", flush=True)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--harness", nargs="+", choices=["pygent", "mini"],
                        default=["pygent", "mini"])
    parser.add_argument("--protocols", nargs="+", choices=["text", "native"],
                        default=["text", "native"], help="pygent's --tool-protocol values")
    parser.add_argument("--runs", type=int, default=3, help="runs per task and harness")
    parser.add_argument("--tasks", nargs="+", metavar="FILTER",
                        help="only tasks whose folder name starts with or contains one of these")
    parser.add_argument("--max-steps", type=int, default=15, help="model calls per run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--temperature", type=float, help="sent by both harnesses if given")
    parser.add_argument("--seed", type=int, help="sent by both harnesses if given, plus the "
                        "run's number minus one (runs are greedy repeats at temperature 0: "
                        "give --temperature too for independent runs)")
    parser.add_argument("--results", type=Path, help="JSON lines file to append to "
                        "(default: ~/.cache/pygent-bench/task_suite-DATE.jsonl)")
    parser.add_argument("--mini-venv", default=str(BENCH_CACHE / "mini-venv"),
                        help="venv for mini-swe-agent, made when missing")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces")
    parser.add_argument("--self-check", action="store_true",
                        help="only check the checks: start/ fails, solution.sh passes")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    """Self-check, or run the matrix and print the tables."""
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # unwind, so the servers are stopped too
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))
    tasks = load_tasks(args.tasks)
    if not tasks:
        sys.exit(f"no task matches {args.tasks}")
    if args.self_check:
        return self_check(tasks)
    specs = [MODELS[key] for key in args.models]
    for spec in specs:
        problem = ensure_packages(list(spec.packages))
        if problem:
            sys.exit(problem)
    pygent = PygentHarness(args) if "pygent" in args.harness else None
    if pygent is not None:
        for flag, given in (("--temperature", args.temperature), ("--seed", args.seed)):
            if given is not None and not pygent.supports[flag]:
                sys.exit(f"this pygent run has no {flag} flag")
    mini = MiniHarness(args) if "mini" in args.harness else None
    if mini is not None:
        mini.ensure_venv()
    labels = harness_configs(args, pygent)
    if not labels:
        sys.exit("nothing to run: this pygent has no --tool-protocol flag for 'text'")
    results = args.results or BENCH_CACHE / f"task_suite-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    print_facts(args, specs, pygent, mini, results)
    records = []
    for spec in specs:
        records += run_model(args, spec, tasks, labels, pygent, mini, results)
    print_table(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
