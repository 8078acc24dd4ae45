"""A real Ray cluster on this machine for tests: a head node and more node processes.

Each node is one ``ray start`` in a session of its own, so the node is exactly the processes
of that session (its raylet, its agents, its workers and what they started). Stopping a node
kills that session, which is what a machine that leaves looks like to the rest of the cluster,
and it touches no other Ray on the machine (``ray stop`` would stop them all).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


def session_members(session: int) -> list[int]:
    """The live processes in the session whose id is ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # it ended while we looked
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RayNode:
    """One ``ray start``: its session id and its own temp folder."""

    session: int
    temp_dir: str
    resources: dict[str, float]

    def alive(self) -> bool:
        return bool(session_members(self.session))

    def kill(self, within: float = 20.0) -> None:
        """SIGKILL every process of the node until none is left."""
        deadline = time.monotonic() + within
        while True:
            members = session_members(self.session)
            if not members:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Ray node processes {members} outlived SIGKILL")
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)


@dataclass
class RayCluster:
    """A head node on a free port, and the nodes added to it; ``stop()`` ends them all."""

    address: str = ""
    nodes: list[RayNode] = field(default_factory=list)

    def start_node(self, num_cpus: int, resources: Optional[dict[str, float]] = None,
                   head: bool = False) -> RayNode:
        """Start one node (the head first) and wait until ``ray start`` says it is up."""
        temp_dir = tempfile.mkdtemp(prefix="pgray")  # short: Ray's socket paths must fit
        args = [sys.executable, "-m", "ray.scripts.scripts", "start",
                "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}",
                f"--temp-dir={temp_dir}", "--disable-usage-stats"]
        if head:
            port = _free_port()
            args += ["--head", f"--port={port}", "--include-dashboard=false"]
            self.address = f"127.0.0.1:{port}"
        else:
            args += [f"--address={self.address}"]
        if resources:
            args.append(f"--resources={json.dumps(resources)}")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, start_new_session=True)
        node = RayNode(session=proc.pid, temp_dir=temp_dir, resources=dict(resources or {}))
        self.nodes.append(node)  # stop() cleans up even when the start fails
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed ({proc.returncode}):\n{out[-3000:]}")
        return node

    def stop(self) -> None:
        """Kill every node, the head last, and remove their temp folders."""
        for node in reversed(self.nodes):
            node.kill()
            shutil.rmtree(node.temp_dir, ignore_errors=True)
        self.nodes.clear()


def ray_or_skip() -> None:
    """Skip the test when ``ray`` is not installed; fail instead under PYGENT_REQUIRE_RAY=1.

    It does not import ``ray``: Ray reads its settings from the environment when imported."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("ray") is None:
        if os.environ.get("PYGENT_REQUIRE_RAY") == "1":
            pytest.fail("PYGENT_REQUIRE_RAY=1 but ray is not installed")
        pytest.skip("ray is not installed (pip install 'pygent[ray]')")


def refresh_ray_config() -> None:
    """Make an already imported ``ray`` read the environment again (its auth settings)."""
    if "ray" not in sys.modules:
        return
    try:  # what Ray's own tests do after changing RAY_AUTH_*
        from ray._private.authentication_test_utils import reset_auth_token_state
    except ImportError:  # a Ray without token authentication
        return
    reset_auth_token_state()
