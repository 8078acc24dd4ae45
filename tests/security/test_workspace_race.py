"""The write_file race (issue 11, item 2): a folder swapped for a link while the host writes.

A command inside the sandbox exchanges a real folder with a link to a host folder, as fast
as ``renameat2(RENAME_EXCHANGE)`` allows, while the host writes files into that folder. On
the old code 3 to 143 of 300-800 writes landed in the host folder; none may now.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from pygent.domain.errors import PathEscapeError, SandboxError

WRITES = 800
RENAMEAT2 = {"x86_64": 316, "aarch64": 276}[platform.machine()]
# perl-base is in every Debian image, python's ctypes is not: the syscall by its number
SWAPPER = (f'perl -e \'$|=1; ($a, $b) = ("d", "evil"); print "swapping\\n"; '
           f'syscall({RENAMEAT2}, -100, $a, -100, $b, 2) while 1\'')


def test_writes_racing_a_folder_swapped_for_a_link_never_land_outside(
    sandbox: Any, host_secret_dir: Path,
) -> None:
    before = os.stat(host_secret_dir)
    setup = sandbox.run(f"mkdir -p d && ln -s {host_secret_dir} evil && "
                        f"({SWAPPER} > swap.log 2>&1 &) ; sleep 1; cat swap.log")
    assert "swapping" in setup.output, setup.to_text()
    refused = landed = 0
    for number in range(3 * WRITES):  # more only when a busy machine saw one side alone
        if number >= WRITES and refused and landed:
            break
        try:
            sandbox.write_file(f"d/sub/x{number}.txt", "pwned")
            landed += 1
        except PathEscapeError:
            refused += 1
        except SandboxError:  # the folder vanished mid-walk: also not outside
            refused += 1
    alive = sandbox.run("pgrep -c perl || true").output.strip()
    sandbox.run("pkill -f renameat2 || pkill perl || true")
    assert sorted(os.listdir(host_secret_dir)) == ["secret.txt"]
    after = os.stat(host_secret_dir)
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid, before.st_gid, before.st_mode)
    assert not os.listxattr(host_secret_dir)  # no ACL was granted through the link
    assert refused > 0 and landed > 0, (refused, landed, f"swappers alive: {alive}")  # it ran


def test_reads_racing_a_folder_swapped_for_a_link_never_read_outside(
    sandbox: Any, host_secret_dir: Path,
) -> None:
    sandbox.write_file("d/secret.txt", "inside")
    setup = sandbox.run(f"ln -s {host_secret_dir} evil && "
                        f"({SWAPPER} > swap.log 2>&1 &) ; sleep 1; cat swap.log")
    assert "swapping" in setup.output, setup.to_text()
    seen = set()
    for number in range(3 * WRITES):  # more only when a busy machine saw one side alone
        if number >= WRITES and {"inside", "refused"} <= seen:
            break
        try:
            seen.add(sandbox.read_file("d/secret.txt"))
        except SandboxError:
            seen.add("refused")
    alive = sandbox.run("pgrep -c perl || true").output.strip()
    sandbox.run("pkill -f renameat2 || pkill perl || true")
    assert not any("sk-" in text for text in seen), seen
    assert "inside" in seen, (seen, f"swappers alive: {alive}")
