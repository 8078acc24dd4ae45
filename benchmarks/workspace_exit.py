"""What deciding the fate of a temporary workspace costs at exit, against removing it.

Leaving a session now counts what a temporary workspace holds (to keep it, or to ask) before
the sandbox closes; it used to remove it. This times that count on trees of 1,000 to 200,000
files (100 per folder) against ``shutil.rmtree`` of the same tree, the old exit's cost, and
shows the count stops at ``MOST_COUNTED`` entries, so a huge tree cannot hold up the exit.

Run: python benchmarks/workspace_exit.py [--sizes 1000,10000,100000,200000]
Targets: counting costs under 0.5x of removing at every size; 200,000 files cost no more
than 1.3x of 100,000 (the cap).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable

from pygent.app.workspace_exit import MOST_COUNTED, count_contents


def make_tree(root: Path, files: int, per_folder: int = 100) -> None:
    """``files`` empty files, ``per_folder`` to a folder."""
    for start in range(0, files, per_folder):
        folder = root / f"d{start // per_folder}"
        folder.mkdir()
        for n in range(min(per_folder, files - start)):
            (folder / f"f{n}.txt").touch()


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,200000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"{'files':>8} {'count ms':>9} {'rmtree ms':>10} {'ratio':>6}  counted")
    counted_ms: dict[int, float] = {}
    for size in sizes:
        root = Path(tempfile.mkdtemp(prefix="pygent-bench-"))
        try:
            make_tree(root, size)
            os.sync()
            count = best_of(5, partial(count_contents, root))
            found = count_contents(root)
            start = time.perf_counter()
            shutil.rmtree(root)
            remove = time.perf_counter() - start
        finally:
            shutil.rmtree(root, ignore_errors=True)
        counted_ms[size] = count * 1000
        print(f"{size:>8} {count * 1000:>9.1f} {remove * 1000:>10.1f} "
              f"{count / remove:>6.2f}  {found.describe()}")
    if MOST_COUNTED in counted_ms and 2 * MOST_COUNTED in counted_ms:
        ratio = counted_ms[2 * MOST_COUNTED] / counted_ms[MOST_COUNTED]
        print(f"count of {2 * MOST_COUNTED} files / count of {MOST_COUNTED}: {ratio:.2f} "
              "(the cap)")


if __name__ == "__main__":
    main()
