"""The wheel and sdist build, install into a fresh virtual environment, and run."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def version_in_pyproject() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in pyproject.toml")


@pytest.mark.timeout(600)
def test_the_wheel_installs_in_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheels[0])],
                           capture_output=True, text=True, check=True).stdout
    assert "pygent/py.typed" in names and "tests/" not in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheels[0])],
                   check=True, capture_output=True, timeout=300)
    version = subprocess.run([str(env_dir / "bin" / "pygent"), "--version"],
                             capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout.strip() == f"pygent {version_in_pyproject()}"
    example = subprocess.run([str(python), str(ROOT / "examples" / "custom_model.py")],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert example.returncode == 0, example.stderr
    assert example.stdout.strip() == "Echo: test"
    assert "running commands locally" in example.stderr  # no docker extra: it says why
