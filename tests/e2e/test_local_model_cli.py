"""``pygent --local-model``: a file llama.cpp cannot use ends the start with one error line.

The runs with a real model are in ``test_real_model.py`` (marker ``realmodel``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import cli_env

ROOT = Path(__file__).resolve().parents[2]


def pygent(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pygent", *args], env=cli_env(home),
                          cwd=home, input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_pygent_run_with_a_missing_model_file_says_so_in_one_line(home: Path) -> None:
    missing = home / "absent.gguf"
    done = pygent(home, "run", "say hi", "--local-model", str(missing), "--no-docker")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: local_model: {missing} does not exist"]
    assert done.stdout == ""


def test_the_repl_stops_before_its_prompt_on_a_file_that_is_not_gguf(home: Path) -> None:
    model = home / "model.bin"
    model.write_bytes(b"\x89PNG not a model")
    done = pygent(home, "--local-model", str(model), "--no-docker", stdin="hello\n")
    assert done.returncode == 1
    assert "is not a GGUF model file" in done.stderr
    assert "vc>" not in done.stdout + done.stderr


def test_a_gguf_file_llama_cpp_cannot_load_is_one_error_line_not_its_log(home: Path) -> None:
    from tests.llama_server import SERVER_PACKAGE, ensure_packages

    problem = ensure_packages([SERVER_PACKAGE])  # installed as the real-model tests do
    assert problem is None, problem
    model = home / "broken.gguf"
    model.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    done = pygent(home, "run", "say hi", "--local-model", str(model), "--no-docker")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("pygent: loading broken.gguf")
    assert len(lines) == 2, done.stderr  # llama.cpp's own log stays out of the terminal
    assert lines[1].startswith(f"Error: local_model: llama.cpp could not load {model}")


def test_a_bad_local_model_never_falls_back_to_the_openai_server(home: Path) -> None:
    """With OPENAI_API_KEY and OPENAI_BASE_URL set too, the bad file is still the error."""
    done = subprocess.run(
        [sys.executable, "-m", "pygent", "run", "hi", "--local-model", str(home / "no.gguf")],
        env=cli_env(home, OPENAI_API_KEY="sk-should-not-matter",
                    OPENAI_BASE_URL="http://127.0.0.1:9/v1"),
        cwd=home, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no.gguf does not exist" in done.stderr
    assert "sk-should-not-matter" not in done.stderr


def test_pygent_ui_refuses_a_bad_model_file_before_it_serves_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pygent.entrypoints.web import main as pygent_ui

    assert pygent_ui(["--local-model", str(tmp_path / "absent.gguf")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"pygent-ui: local_model: {tmp_path / 'absent.gguf'} does not exist")


def test_pygent_ui_hands_the_model_file_to_the_page_as_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pygent.entrypoints.web import build_parser, page_environment

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["--local-model", "q.gguf"])
    assert page_environment(args, {})["PYGENT_LOCAL_MODEL"] == str(tmp_path / "q.gguf")
