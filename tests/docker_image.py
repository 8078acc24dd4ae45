"""Build the Docker test image from Debian's packages (no registry): debootstrap + docker import.

Run it as ``python tests/docker_image.py``; the test fixture calls :func:`ensure_test_image`.
The image is reused when the tag is present.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

TEST_IMAGE = "pygent-test:bookworm"
SUITE = "bookworm"
PACKAGES = "python3-minimal,procps"
SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


def debian_mirror(sources: tuple[Path, ...] = SOURCES) -> str:
    """The machine's Debian mirror for the suite, read from its apt sources."""
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = _from_deb822(text) if path.suffix == ".sources" else _from_one_line(text)
        if found:
            return found
    raise RuntimeError(f"no Debian {SUITE} mirror found in {', '.join(map(str, sources))}")


def _from_deb822(text: str) -> Optional[str]:
    for stanza in re.split(r"\n\s*\n", text):
        entries = dict(
            (key.strip().lower(), value.strip())
            for key, _, value in (line.partition(":") for line in stanza.splitlines())
            if not key.startswith("#") and value
        )
        if SUITE in entries.get("suites", "").split() and entries.get("uris"):
            return entries["uris"].split()[0]
    return None


def _from_one_line(text: str) -> Optional[str]:
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
            return words[1]
    return None


def image_present(tag: str = TEST_IMAGE) -> bool:
    """True when the engine already has ``tag``."""
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    return done.returncode == 0


def build_test_image(tag: str = TEST_IMAGE) -> None:
    """debootstrap a minimal Debian with bash and python3, then ``docker import`` it."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is missing: apt-get install -y debootstrap")
    root = Path(tempfile.mkdtemp(prefix="pygent-rootfs-"))
    try:
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root),
             debian_mirror()],
            check=True, stdout=subprocess.DEVNULL,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*.deb"):
                item.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-c", 'CMD ["bash"]', "-", tag],
                       stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the root file system failed")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def engine_problem() -> Optional[str]:
    """Why no Docker engine can be used for tests, or None when one answers."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        client.close()
    except Exception as exc:  # the SDK missing, no socket, a dead engine
        return f"no Docker engine answers: {exc}"
    return None


def docker_image_or_skip() -> str:
    """The test image's tag; skips the test without an engine (fails under REQUIRE_DOCKER)."""
    import os

    import pytest

    problem = engine_problem()
    if problem is not None:
        if os.environ.get("PYGENT_REQUIRE_DOCKER") == "1":
            pytest.fail(f"PYGENT_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    return ensure_test_image()


def ensure_test_image(tag: str = TEST_IMAGE) -> str:
    """Build the test image unless the engine has it; return its tag."""
    if not image_present(tag):
        build_test_image(tag)
    return tag


if __name__ == "__main__":
    print(ensure_test_image(sys.argv[1] if len(sys.argv) > 1 else TEST_IMAGE))
