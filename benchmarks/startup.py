"""Start-up time of ``pygent --help`` / ``--version`` against ``python -c pass``, in one run.

    python benchmarks/startup.py [RUNS]

Runs each command RUNS times (default 20), interleaved, and prints the median wall time and
its ratio to the bare interpreter. The target is under 150 ms median for --help and --version.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "import sys; from pygent.entrypoints.cli import main; sys.exit(main())"  # = console script
TARGET_MS = 150.0


def commands() -> dict[str, list[str]]:
    """What to time; the installed ``pygent`` script too when it is on PATH."""
    runs = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "pygent --help": [sys.executable, "-c", SCRIPT, "--help"],
        "pygent --version": [sys.executable, "-c", SCRIPT, "--version"],
        "python -m pygent --help": [sys.executable, "-m", "pygent", "--help"],
    }
    installed = shutil.which("pygent")
    if installed:
        runs["(installed) pygent --help"] = [installed, "--help"]
    return runs


def time_once(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds for one run; a failing command is an error, not a number."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    """Print the medians and ratios; exit 1 when --help or --version misses the target."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    table = commands()
    samples: dict[str, list[float]] = {name: [] for name in table}
    for argv in table.values():  # warm the file cache and the bytecode
        time_once(argv, env)
    for _ in range(runs):
        for name, argv in table.items():
            samples[name].append(time_once(argv, env))
    base = statistics.median(samples["python -c pass"])
    print(f"{runs} runs each, interleaved; Python {sys.version.split()[0]}")
    print(f"{'command':<28}{'median ms':>10}{'min ms':>9}{'ratio':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<28}{median * 1000:>10.1f}{min(values) * 1000:>9.1f}{median / base:>7.2f}x")
    worst = max(statistics.median(samples[n]) for n in ("pygent --help", "pygent --version"))
    verdict = "meets" if worst * 1000 < TARGET_MS else "misses"
    print(f"slowest of --help/--version: {worst * 1000:.1f} ms median, "
          f"{verdict} the {TARGET_MS:.0f} ms target ({(worst - base) * 1000:.1f} ms over python)")
    return 0 if worst * 1000 < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
