"""Shared fixtures: a clean default tool registry, fresh container overrides, sandboxes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pygent
from pygent.app.registry import default_registry
from tests.chat_fixtures import chat_server  # noqa: F401  (the loopback chat-completions server)

REQUIRE_DOCKER = os.environ.get("PYGENT_REQUIRE_DOCKER") == "1"


@pytest.fixture(autouse=True)
def _default_tools() -> Iterator[None]:
    """Every test starts and ends with only the built-in tools and no custom model."""
    from pygent.models import set_custom_model

    default_registry.reset()
    yield
    default_registry.reset()
    set_custom_model(None)


@pytest.fixture(autouse=True)
def _no_host_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never read the developer's ~/.pygent.toml or their API key."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYGENT_MODEL_BACKEND", "PYGENT_MODEL",
                "PYGENT_USE_DOCKER", "PYGENT_WORKSPACE", "PYGENT_HISTORY_FILE",
                "PYGENT_LOCAL_MODEL", "PYGENT_TEMPERATURE", "PYGENT_SEED",
                "PYGENT_TOOL_PROTOCOL", "PYGENT_CONFIG", "PYGENT_INIT_FILES", "PYGENT_TASK_TOOLS",
                "PYGENT_TASK_PERSONAS", "PYGENT_TASK_PERSONAS_JSON", "PYGENT_MAX_TASKS",
                "PYGENT_STEP_TIMEOUT", "PYGENT_TASK_TIMEOUT", "PYGENT_MAX_REQUESTS",
                "PYGENT_CHECKPOINTS",
                "PYGENT_WORKSPACE_MODE", "PYGENT_KEEP_WORKSPACE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYGENT_USE_DOCKER", "0")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The registry-free test image, built once; skips without an engine unless REQUIRE_DOCKER."""
    from tests.docker_image import docker_image_or_skip

    tag = docker_image_or_skip()
    os.environ["PYGENT_IMAGE"] = tag  # what a Runtime or the CLI asks for in tests
    return tag


@pytest.fixture(scope="session")
def ray_auth() -> Iterator[None]:
    """One Ray token for the session in this process's environment, so every node and driver
    agrees (not ~/.ray, which changes with each test's HOME). Ray reads it when imported."""
    from tests.ray_cluster import ray_or_skip, refresh_ray_config

    ray_or_skip()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_AUTH_MODE", "token")
        patch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
        patch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
        patch.delenv("RAY_ADDRESS", raising=False)
        refresh_ray_config()
        yield
    refresh_ray_config()


@pytest.fixture(scope="session")
def ray_cluster(ray_auth: None) -> Iterator[Any]:
    """A real Ray cluster on this machine, once per session: a head node (2 CPUs) and a
    second node (1 CPU, ``{"docker": 1}``). Skips without ``ray`` unless PYGENT_REQUIRE_RAY=1."""
    from tests.ray_cluster import RayCluster

    cluster = RayCluster()
    try:
        cluster.start_node(num_cpus=2, head=True)
        cluster.start_node(num_cpus=1, resources={"docker": 1})
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def local_runtime() -> Iterator[pygent.Runtime]:
    """A Runtime on the local sandbox, cleaned up afterwards."""
    runtime = pygent.Runtime(use_docker=False)
    yield runtime
    runtime.cleanup()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the artifacts tests saved (the web app's screenshot) in the log."""
    folder = Path(__file__).resolve().parents[1] / "test-artifacts"
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        terminalreporter.write_line(f"artifact: {path} ({path.stat().st_size} bytes)")
