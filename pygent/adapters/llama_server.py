"""Serve a GGUF model file with llama.cpp (the ``xllamacpp`` wheel) in this process, on 127.0.0.1.

``pygent --local-model FILE.gguf`` starts one for the session and talks to it through the
OpenAI adapter. The server listens on a free loopback port and wants a random per-session API
key, so other users and processes on the machine (the sandbox included) cannot use it.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import stat
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ..domain.errors import ConfigError

GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file
INSTALL_HINT = "pip install 'pygent[local]'"
#: Context size in tokens: the system prompt, the tools and several steps of a small model fit,
#: and the KV cache of a 1.5B model stays well under 1 GB.
CONTEXT_TOKENS = 8192
#: A reply's token cap when the request sets none, so a small model that loops still stops.
REPLY_TOKENS = 4096
#: More threads rarely help: generating on a CPU is bound by memory bandwidth.
MAX_THREADS = 8
HEALTH_TIMEOUT = 60.0  # seconds the server may take to say it is ready once it has loaded


def check_model_file(path: str) -> Path:
    """The model file, absolute, when it is a readable regular file starting with ``GGUF``.

    Raises ConfigError naming the problem, before llama.cpp is asked to load anything.
    """
    where = Path(path).expanduser().absolute()
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise ConfigError(f"local_model: {where} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"local_model: cannot read {where}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"local_model: {where} is a folder; give the .gguf file in it")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"local_model: {where} is not a regular file")
    try:  # non-blocking: a FIFO swapped in after the check above cannot hang the start
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ConfigError(f"local_model: cannot read {where}: {exc.strerror or exc}") from None
    if head != GGUF_MAGIC:
        raise ConfigError(
            f"local_model: {where} is not a GGUF model file (it does not start with 'GGUF'); "
            "llama.cpp needs a .gguf file, e.g. one of the GGUF downloads on Hugging Face")
    return where


def import_xllamacpp() -> Any:
    """The ``xllamacpp`` module, or a ConfigError that says how to install it."""
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(
            f"local_model needs llama.cpp's Python wheel: {INSTALL_HINT}") from None
    return xllamacpp


def server_threads() -> int:
    """The CPUs this process may use, at most ``MAX_THREADS``."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_THREADS))


def server_params(
    xllamacpp: Any,
    model: str,
    *,
    port: int = 0,
    ctx: int = CONTEXT_TOKENS,
    predict: int = REPLY_TOKENS,
    threads: Optional[int] = None,
    api_key: Optional[str] = None,
) -> Any:
    """llama.cpp's server parameters: one slot on 127.0.0.1, tool calls on, no web page, quiet.

    Port 0 picks a free port. Sampling is left at llama.cpp's defaults: requests carry the
    temperature and seed they want.
    """
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = ctx
    params.n_predict = predict
    params.n_parallel = 1
    params.use_jinja = True  # the model's chat template renders the tools
    params.ui = False
    params.verbosity = 0  # llama.cpp's log would land in the terminal the REPL draws
    count = threads or server_threads()
    params.cpuparams.n_threads = count
    params.cpuparams_batch.n_threads = count
    if api_key:
        params.api_keys = [api_key]
    return params


class LlamaCppServer:
    """One GGUF model behind llama.cpp's OpenAI-compatible HTTP API, in this process.

    ``start()`` checks the file, loads it and waits until ``/health`` says ok; ``close()``
    (also run at exit) stops it. ``api_key`` is what a client must send.
    """

    def __init__(self, model: str, *, ctx: int = CONTEXT_TOKENS, predict: int = REPLY_TOKENS,
                 health_timeout: float = HEALTH_TIMEOUT,
                 progress: Optional[Callable[[str], None]] = None) -> None:
        self.model = model
        self.progress = progress or (lambda line: None)
        self.ctx = ctx
        self.predict = predict
        self.health_timeout = health_timeout
        self.api_key = secrets.token_urlsafe(32)
        self.address = ""  # http://127.0.0.1:PORT once started
        self._server: Any = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what OPENAI_BASE_URL would be)."""
        return f"{self.address}/v1"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, for the banner."""
        return urlsplit(self.address).netloc

    @property
    def running(self) -> bool:
        """True from a successful ``start()`` until ``close()``."""
        return self._server is not None

    def start(self) -> LlamaCppServer:
        """Load the model and serve it; a bad file or a failed load is a ConfigError."""
        path = check_model_file(self.model)
        xllamacpp = import_xllamacpp()
        params = server_params(xllamacpp, str(path), ctx=self.ctx, predict=self.predict,
                               api_key=self.api_key)
        size = path.stat().st_size / 1e6
        self.progress(f"loading {path.name} ({size:,.0f} MB) into llama.cpp ...")
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError:
            raise ConfigError(
                f"local_model: llama.cpp could not load {path}: the file starts like a GGUF "
                "model but is damaged or cut short, of an architecture this llama.cpp does not "
                "know (pip install -U xllamacpp), or too large for memory") from None
        atexit.register(self.close)
        self.address = str(self._server.listening_address).rstrip("/")
        try:
            self._wait_until_healthy()
        except BaseException:
            self.close()
            raise
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.health_timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise ConfigError(f"local_model: llama.cpp did not get ready at {self.address} "
                                  f"within {self.health_timeout:g} s")
            time.sleep(0.1)

    def healthy(self) -> bool:
        """True when ``/health`` answers ``{"status": "ok"}`` (it needs no key)."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no HTTP_PROXY
        try:
            with direct.open(f"{self.address}/health", timeout=2) as reply:
                return bool(json.loads(reply.read()).get("status") == "ok")
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Stop serving and free the model; safe to call twice."""
        server, self._server = self._server, None
        atexit.unregister(self.close)
        if server is not None:
            del server  # xllamacpp stops its HTTP server when the object goes

    def __enter__(self) -> LlamaCppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
