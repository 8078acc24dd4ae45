"""``local_model``: a file llama.cpp cannot use is a clear error before anything starts."""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pygent.adapters.llama_server import (
    INSTALL_HINT,
    LlamaCppServer,
    check_model_file,
    import_xllamacpp,
    server_params,
    server_threads,
)
from pygent.app.settings import Settings
from pygent.container import Container
from pygent.domain.errors import ConfigError


@pytest.fixture
def gguf_garbage(tmp_path: Path) -> Path:
    """Starts like a GGUF file, then nothing llama.cpp can read."""
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    return path


@pytest.fixture
def no_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import xllamacpp`` fails, as where the ``local`` extra is not installed."""
    monkeypatch.setitem(sys.modules, "xllamacpp", None)


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="local_model: .*absent.gguf does not exist"):
        check_model_file(str(tmp_path / "absent.gguf"))


def test_a_folder_is_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder; give the .gguf file in it"):
        check_model_file(str(tmp_path))


def test_a_file_that_is_not_gguf_is_refused_before_llama_cpp_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK\x03\x04 a zip, say")
    with pytest.raises(ConfigError, match="is not a GGUF model file"):
        check_model_file(str(path))


def test_an_empty_file_is_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.touch()
    with pytest.raises(ConfigError, match="is not a GGUF model file"):
        check_model_file(str(path))


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "pipe.gguf"
    os.mkfifo(path)
    with pytest.raises(ConfigError, match="is not a regular file"):
        check_model_file(str(path))


def xllamacpp_module() -> Any:
    """The llama.cpp wheel, installed like the real-model tests install it; never a skip."""
    from tests.llama_server import SERVER_PACKAGE, ensure_packages

    problem = ensure_packages([SERVER_PACKAGE])
    if problem is not None:
        pytest.fail(problem)
    return importlib.import_module("xllamacpp")


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "locked.gguf"
    path.write_bytes(b"GGUF")
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(ConfigError, match="cannot read .*locked.gguf"):
            check_model_file(str(path))
        return
    read, write = os.pipe()  # root reads any file: ask again from a child that is nobody
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            check_model_file(str(path))
            os.write(write, b"no error")
        except BaseException as exc:
            os.write(write, str(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as said:
        message = said.read().decode()
    assert re.search("cannot read .*locked.gguf", message), message


def test_a_good_header_gives_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    monkeypatch.chdir(tmp_path)
    assert check_model_file("m.gguf") == tmp_path / "m.gguf"


def test_without_xllamacpp_the_error_says_how_to_install_it(no_xllamacpp: None) -> None:
    with pytest.raises(ConfigError) as caught:
        import_xllamacpp()
    assert str(caught.value) == f"local_model needs llama.cpp's Python wheel: {INSTALL_HINT}"
    assert INSTALL_HINT == "pip install 'pygent[local]'"


def test_the_file_is_checked_before_the_missing_wheel_is_reported(
    tmp_path: Path, no_xllamacpp: None
) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LlamaCppServer(str(tmp_path / "absent.gguf")).start()


def test_a_gguf_file_llama_cpp_cannot_load_fails_fast_and_clearly(gguf_garbage: Path) -> None:
    xllamacpp_module()
    started = time.monotonic()
    server = LlamaCppServer(str(gguf_garbage))
    with pytest.raises(ConfigError, match="llama.cpp could not load .*broken.gguf"):
        server.start()
    assert time.monotonic() - started < 30
    assert not server.running


def test_the_server_listens_on_loopback_only_with_the_sessions_key_and_quietly() -> None:
    xllamacpp = xllamacpp_module()
    params = server_params(xllamacpp, "/m/q.gguf", api_key="per-session")
    assert (params.hostnames, params.port, params.api_keys) == (["127.0.0.1"], 0, ["per-session"])
    assert (params.n_ctx, params.n_parallel, params.verbosity, params.ui) == (8192, 1, 0, False)
    assert params.use_jinja and params.cpuparams.n_threads == server_threads()
    assert params.sampling.temp == xllamacpp.CommonParams().sampling.temp  # left to requests


def test_server_threads_stay_between_one_and_eight() -> None:
    assert 1 <= server_threads() <= 8


def test_the_container_reports_a_bad_local_model_when_the_model_is_asked_for(
    tmp_path: Path,
) -> None:
    container = Container(settings=Settings(local_model=str(tmp_path / "x.gguf")))
    with pytest.raises(ConfigError, match="x.gguf does not exist"):
        container.model()
    container.shutdown_resources()


def test_the_container_reports_the_missing_wheel_for_a_good_looking_file(
    tmp_path: Path, no_xllamacpp: None
) -> None:
    path = tmp_path / "q.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00")
    container = Container(settings=Settings(local_model=str(path)))
    with pytest.raises(ConfigError, match=r"pip install 'pygent\[local\]'"):
        container.model()
    container.shutdown_resources()
