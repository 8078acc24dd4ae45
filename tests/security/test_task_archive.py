"""A task that ran elsewhere sends its files back as an archive: whatever the archive holds,
unpacking writes only plain files and folders, and only under the destination."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from pygent.app.workspace_archive import extract, names, pack
from pygent.domain.errors import TaskError


def hostile_archive() -> bytes:
    """Members a tampered archive could hold: escapes, links, devices, a file through a link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def add(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x",
                link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o4777  # setuid asked for: never granted
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("/tmp/pygent-absolute-escape")
        add("../pygent-parent-escape")
        add("ok/../../pygent-dotdot-escape")
        add("up", tarfile.SYMTYPE, link="..")
        add("up/pygent-through-link")
        add("hard", tarfile.LNKTYPE, link="/etc/passwd")
        add("dev", tarfile.CHRTYPE)
        add("fifo", tarfile.FIFOTYPE)
        add("good/file.txt", data=b"fine")
    return buffer.getvalue()


def test_unpacking_a_hostile_archive_writes_plain_files_inside_only(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    extract(hostile_archive(), ".", dest)
    written = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert written == ["good", "good/file.txt", "up", "up/pygent-through-link"]
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    assert (dest / "up").is_dir()  # a folder of its own, not the link to ..
    assert not list(tmp_path.glob("pygent-*")) and not Path("/tmp/pygent-absolute-escape").exists()
    assert (dest / "good/file.txt").stat().st_mode & 0o7777 == 0o755  # no setuid
    assert names(hostile_archive()) == ["good/", "up/"]


def test_a_path_asked_for_must_stay_inside(tmp_path: Path) -> None:
    archive = hostile_archive()
    for path in ("../pygent-parent-escape", "/tmp/pygent-absolute-escape", "good/../../x"):
        with pytest.raises(TaskError, match="not a path inside"):
            extract(archive, path, tmp_path / "item")
    for path in ("hard", "dev", "fifo", "nothing"):
        with pytest.raises(TaskError, match="does not exist"):
            extract(archive, path, tmp_path / "item")
    assert extract(archive, "good/file.txt", tmp_path / "item").read_bytes() == b"fine"


def test_packing_keeps_plain_files_and_folders_and_no_link(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    (folder / "link").symlink_to("/etc/passwd")
    (folder / "dirlink").symlink_to(tmp_path)
    os.mkfifo(folder / "fifo")
    archive = pack(folder)
    assert names(archive) == ["run.sh", "sub/"]
    out = extract(archive, ".", tmp_path / "out")
    assert (out / "sub" / "a.txt").read_text() == "a" and os.access(out / "run.sh", os.X_OK)


def test_a_workspace_past_the_limit_is_not_packed(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 2048)
    with pytest.raises(TaskError, match="not sent back"):
        pack(tmp_path, limit=1024)
