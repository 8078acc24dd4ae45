"""Per-command round trip: local shell vs Docker persistent shell vs one ``docker exec`` each.

Run: python benchmarks/sandbox_roundtrip.py [--runs N] [--image TAG]
Measures the median time of ``true`` and of ``cat`` of a 1 MB file on each path, and the
Docker sandbox's start-to-ready time, all in one run. Targets: the Docker persistent shell
within 2x of local for ``true``, and at least 10x faster than one ``docker exec`` per command.
The image defaults to the registry-free test image (built from Debian packages when missing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pygent.adapters.sandbox.docker import DockerSandbox  # noqa: E402
from pygent.adapters.sandbox.local import LocalSandbox  # noqa: E402
from tests.docker_image import TEST_IMAGE, ensure_test_image  # noqa: E402

BIG = 1024 * 1024


def median_ms(action: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``action`` in milliseconds, after a few warm-up calls."""
    for _ in range(3):
        action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def checked(sandbox: Any, command: str, size: int) -> Callable[[], None]:
    """A call that runs ``command`` and insists on its whole output coming back."""
    def call() -> None:
        result = sandbox.run(command)
        assert result.exit_code == 0 and len(result.output) == size, result.notice
    return call


def exec_per_command(sandbox: DockerSandbox, command: list[str], size: int) -> Callable[[], None]:
    """One fresh ``docker exec`` (SDK ``exec_run``) per command, in the sandbox's container."""
    container = sandbox._client.containers.get(sandbox.container_id)
    user = sandbox._user or ""  # the user the sandbox's own commands run as

    def call() -> None:
        code, out = container.exec_run(command, user=user, workdir="/workspace")
        assert code == 0 and len(out) == size
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--image", default=os.environ.get("PYGENT_IMAGE") or TEST_IMAGE)
    args = parser.parse_args()
    image = ensure_test_image(args.image) if args.image == TEST_IMAGE else args.image
    workspace = Path(tempfile.mkdtemp(prefix="pygent-bench-"))
    (workspace / "big.txt").write_bytes(b"x" * (BIG - 1) + b"\n")
    limit = 2 * BIG

    starts = []
    for _ in range(5):
        started = time.perf_counter()
        fresh = DockerSandbox(workspace, image=image)
        starts.append(time.perf_counter() - started)
        fresh.close()

    local = LocalSandbox(workspace, output_limit=limit)
    docker = DockerSandbox(workspace, image=image, output_limit=limit)
    try:
        rows = {
            "true": (
                median_ms(checked(local, "true", 0), args.runs),
                median_ms(checked(docker, "true", 0), args.runs),
                median_ms(exec_per_command(docker, ["true"], 0), max(args.runs // 4, 10)),
            ),
            "cat 1 MB": (
                median_ms(checked(local, "cat big.txt", BIG), args.runs // 2),
                median_ms(checked(docker, "cat big.txt", BIG), args.runs // 2),
                median_ms(exec_per_command(docker, ["cat", "big.txt"], BIG),
                          max(args.runs // 8, 10)),
            ),
        }
    finally:
        local.close()
        docker.close()
    print(f"image {image}, {args.runs} runs of true, median per command (ms)")
    print(f"{'command':<10} {'local':>8} {'docker':>8} {'exec/cmd':>9} "
          f"{'docker/local':>13} {'exec/docker':>12}")
    for name, (loc, dock, per) in rows.items():
        print(f"{name:<10} {loc:8.3f} {dock:8.3f} {per:9.3f} "
              f"{dock / loc:12.2f}x {per / dock:11.1f}x")
    print(f"docker start-to-ready: median {statistics.median(starts) * 1000:.0f} ms "
          f"(min {min(starts) * 1000:.0f}, max {max(starts) * 1000:.0f}, of 5)")
    true_local, true_docker, true_exec = rows["true"]
    print(f"targets: docker within 2x of local for true: {true_docker / true_local <= 2.0}; "
          f"persistent >= 10x faster than exec per command: {true_exec / true_docker >= 10.0}")


if __name__ == "__main__":
    main()
