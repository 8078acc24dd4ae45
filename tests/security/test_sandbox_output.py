"""Attacks on the way command output reaches the host (issue 11, items 1 and 3).

Every command's output file lives in a folder the sandbox can write, so a command can swap
it for a link, a FIFO or a device while it runs; the host must read none of those.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from tests.security.conftest import SECRET

OWN_OUTPUT = 'f=$(readlink /proc/$$/fd/1); rm -f "$f"; '


def test_an_output_file_swapped_for_a_link_to_the_host_environment_is_not_read(
    sandbox: Any,
) -> None:
    result = sandbox.run(OWN_OUTPUT + 'ln -s /proc/self/environ "$f"')
    assert SECRET not in result.to_text()
    assert "OPENAI_API_KEY" not in result.output
    assert "symbolic link" in result.notice
    assert sandbox.run("echo next").output == "next\n"


def test_an_output_file_swapped_for_a_link_to_a_host_only_file_is_not_read(
    sandbox: Any, host_secret_dir: Path,
) -> None:
    target = host_secret_dir / "secret.txt"
    result = sandbox.run(OWN_OUTPUT + f'ln -s {target} "$f"')
    assert SECRET not in result.to_text()


def test_an_output_file_swapped_for_a_fifo_does_not_hang_the_host(sandbox: Any) -> None:
    started = time.monotonic()
    result = sandbox.run(OWN_OUTPUT + 'mkfifo "$f"', timeout=5)
    assert time.monotonic() - started < 5
    assert "not a file" in result.notice
    assert sandbox.run("echo next").output == "next\n"


def test_an_output_file_swapped_for_a_link_to_dev_zero_does_not_fill_host_memory(
    sandbox: Any,
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = sandbox.run(OWN_OUTPUT + 'ln -s /dev/zero "$f"', timeout=10)
    assert time.monotonic() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    assert "\x00" not in result.output


def test_a_flood_written_straight_to_the_shells_status_channel_keeps_memory_flat(
    sandbox: Any,
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # while a command runs, bash keeps its own stdout and stderr (the pipes the status line
    # travels on) on saved descriptors 11 and 12: write there directly
    flood = ("for fd in 11 12; do "
             "head -c 200000000 /dev/zero > /proc/$$/fd/$fd 2>/dev/null; done; echo done")
    result = sandbox.run(flood, timeout=60)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    assert not result.timed_out, result.to_text()[:300]
    assert sandbox.run("echo next").output == "next\n"


def test_a_file_replaced_by_a_fifo_cannot_hang_write_file_or_read_file(sandbox: Any) -> None:
    sandbox.run("mkfifo pipe")
    for action in (lambda: sandbox.write_file("pipe", "x"), lambda: sandbox.read_file("pipe")):
        started = time.monotonic()
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - any clear refusal will do
            assert "FIFO" in str(exc) or "not a" in str(exc), exc
        else:
            raise AssertionError("a FIFO was treated as a file")
        assert time.monotonic() - started < 2
