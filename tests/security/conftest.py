"""Sandboxes for the attack suite: confined local, unconfined local, and Docker.

A kind that cannot run here skips with the reason, unless CI asks for it
(``PYGENT_REQUIRE_DOCKER=1``, ``PYGENT_REQUIRE_BWRAP=1``), where it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SANDBOX_KINDS = ["confined", "unconfined", "docker"]
SECRET = "sk-pygent-canary-" + "0123456789abcdef"


def bwrap_or_skip() -> None:
    """Skip (or fail under PYGENT_REQUIRE_BWRAP=1) when bubblewrap cannot confine here."""
    from pygent.adapters.sandbox.confinement import find_bwrap

    problem = None if find_bwrap() else "bubblewrap (bwrap) is not installed"
    if problem is None:
        from pygent.adapters.sandbox.local import LocalSandbox

        probe = LocalSandbox(confine=None)
        problem = probe.unconfined_reason or None
        probe.close()
    if problem:
        if os.environ.get("PYGENT_REQUIRE_BWRAP") == "1":
            pytest.fail(f"PYGENT_REQUIRE_BWRAP=1 but {problem}")
        pytest.skip(problem)


def open_sandbox(kind: str, workspace: Path, **options: Any) -> Any:
    """A sandbox of ``kind`` on ``workspace``."""
    options.setdefault("timeout", 30.0)
    options.setdefault("output_limit", 4096)
    if kind == "docker":
        from pygent.adapters.sandbox.docker import DockerSandbox
        from tests.docker_image import docker_image_or_skip

        return DockerSandbox(workspace, image=docker_image_or_skip(), **options)
    from pygent.adapters.sandbox.local import LocalSandbox

    if kind == "confined":
        bwrap_or_skip()
    return LocalSandbox(workspace, confine=kind == "confined", **options)


@pytest.fixture(params=SANDBOX_KINDS)
def sandbox(request: pytest.FixtureRequest, workspace: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Each kind of sandbox, opened while the host holds an API key in its environment."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    box = open_sandbox(request.param, workspace)
    yield box
    box.close()


@pytest.fixture
def host_secret_dir(tmp_path: Path) -> Path:
    """A host folder no sandbox can see or write: root-only, outside every workspace."""
    folder = tmp_path / "host-only"
    folder.mkdir(mode=0o700)
    (folder / "secret.txt").write_text(SECRET)
    (folder / "secret.txt").chmod(0o600)
    return folder
