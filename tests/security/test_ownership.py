"""What a session leaves of the workspace on the host (issue 11, item 12).

Run as root, the Docker sandbox used to chown the whole workspace to uid 1000 and leave it
so, and a command could plant a set-user-id binary there. Now nothing of the host's is
chowned, what the commands made belongs to the invoking user when the session ends, and
no set-id bit survives it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pygent.adapters.sandbox.owner import ACCESS, DEFAULT
from tests.security.conftest import open_sandbox

PLANT = ("cp /bin/true suid && chmod 4755 suid && cp /bin/true sgid && chmod 2755 sgid && "
         "mkdir -p made/deeper && echo made > made/deeper/file && ln -s made link && "
         "mkfifo pipe && echo edited >> host-owned.txt && ls -ln suid")


def _xattrs(path: Path) -> list[str]:
    return [name for name in os.listxattr(path, follow_symlinks=False)
            if name in (ACCESS, DEFAULT)]


@pytest.mark.parametrize("kind", ["docker", "confined", "unconfined"])
def test_a_session_leaves_the_workspace_owned_by_the_invoking_user_without_set_id_bits(
    kind: str, workspace: Path,
) -> None:
    (workspace / "host-owned.txt").write_text("mine\n")
    (workspace / "host-dir").mkdir()
    before = {p.name: os.stat(p) for p in workspace.iterdir()}
    box = open_sandbox(kind, workspace)
    try:
        result = box.run(PLANT)
        assert result.exit_code == 0, result.to_text()
        for name, info in before.items():  # nothing of the host's was chowned
            now = os.stat(workspace / name)
            assert (now.st_uid, now.st_gid) == (info.st_uid, info.st_gid), name
    finally:
        box.close()
    me = (os.getuid(), os.getgid())
    for path in [workspace, *workspace.rglob("*")]:
        info = os.lstat(path)
        assert (info.st_uid, info.st_gid) == me, (path, info.st_uid, info.st_gid)
        assert not info.st_mode & (stat.S_ISUID | stat.S_ISGID) or stat.S_ISDIR(info.st_mode), path
        if not stat.S_ISLNK(info.st_mode):
            assert _xattrs(path) == [], path
    assert (workspace / "host-owned.txt").read_text() == "mine\nedited\n"
    assert stat.S_IMODE(os.stat(workspace / "host-owned.txt").st_mode) == stat.S_IMODE(
        before["host-owned.txt"].st_mode)


@pytest.mark.skipif(os.getuid() != 0, reason="the stand-in user exists only when run as root")
def test_as_root_the_container_user_is_no_host_account_and_the_host_keeps_its_owners(
    workspace: Path,
) -> None:
    import pwd

    (workspace / "root-file").write_text("x")
    box = open_sandbox("docker", workspace)
    try:
        uid = int(box.run("id -u").output)
        assert uid != 0
        with pytest.raises(KeyError):
            pwd.getpwuid(uid)
        assert os.stat(workspace / "root-file").st_uid == 0
        assert box.run("echo more >> root-file").exit_code == 0
        assert "safe.directory" in box.run("env").output  # git accepts the root's repos
        box.write_file("from-host.txt", "host")
        assert box.run("echo edit >> from-host.txt").exit_code == 0
    finally:
        box.close()
    assert os.stat(workspace / "from-host.txt").st_uid == 0


@pytest.mark.skipif(os.getuid() != 0, reason="the stand-in user exists only when run as root")
def test_a_root_session_killed_before_close_is_handed_back_by_the_next_start(
    workspace: Path, tmp_path: Path, docker_image: str,
) -> None:
    import signal
    import subprocess
    import sys

    script = (
        "import time\nfrom pygent.adapters.sandbox.docker import DockerSandbox\n"
        f"s = DockerSandbox({str(workspace)!r}, image={docker_image!r})\n"
        "print(s.run('echo made > made.txt && cp /bin/true suid && chmod 4755 suid').exit_code,"
        " flush=True)\ntime.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "0"
    child.send_signal(signal.SIGKILL)  # no close(): the container and the ACLs stay behind
    child.wait(timeout=30)
    assert os.stat(workspace / "made.txt").st_uid != 0
    open_sandbox("docker", tmp_path / "next").close()  # its start reaps the dead session's
    for path in [workspace, *workspace.rglob("*")]:
        info = os.lstat(path)
        assert info.st_uid == 0 and not info.st_mode & stat.S_ISUID, path
        assert _xattrs(path) == [], path


@pytest.mark.skipif(os.getuid() != 0, reason="only root can make a folder another user owns")
def test_in_a_folder_another_user_owns_what_docker_made_belongs_to_the_invoking_user(
    workspace: Path,
) -> None:
    """``sudo pygent --workspace .`` in someone's project: the owner is whoever ran Pygent,
    never the container's stand-in, and the folder's own owner and mode stay as they were."""
    (workspace / "theirs.txt").write_text("theirs\n")
    for path in (workspace, workspace / "theirs.txt"):
        os.chown(path, 1234, 1234)
    before = os.stat(workspace)
    box = open_sandbox("docker", workspace)
    try:
        assert box.run("pwd").output == "/workspace\n"  # commands start in the folder
        made = box.run("mkdir -p src && echo made > src/new.py && echo more >> theirs.txt")
        assert made.exit_code == 0, made.to_text()
    finally:
        box.close()
    after = os.stat(workspace)
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid, before.st_gid, before.st_mode)
    assert os.stat(workspace / "theirs.txt").st_uid == 1234
    assert (workspace / "theirs.txt").read_text() == "theirs\nmore\n"
    for path in (workspace / "src", workspace / "src" / "new.py"):
        info = os.lstat(path)
        assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid()), path
    for path in [workspace, *workspace.rglob("*")]:
        assert _xattrs(path) == [], path


@pytest.mark.parametrize("kind", ["docker", "confined", "unconfined"])
def test_a_kept_temporary_workspace_is_handed_back_like_a_named_one(kind: str) -> None:
    """Leaving ``pygent`` keeps a temporary workspace that holds files: it must come back
    owned by the invoking user, without ACL entries or set-id bits, as a named one does."""
    import shutil

    box = open_sandbox(kind, None)
    kept = box.workspace
    try:
        box.keep = True
        assert box.run(PLANT.replace(" && echo edited >> host-owned.txt", "")).exit_code == 0
    finally:
        box.close()
    try:
        me = (os.getuid(), os.getgid())
        for path in [kept, *kept.rglob("*")]:
            info = os.lstat(path)
            assert (info.st_uid, info.st_gid) == me, path
            assert not info.st_mode & (stat.S_ISUID | stat.S_ISGID) or stat.S_ISDIR(
                info.st_mode), path
            if not stat.S_ISLNK(info.st_mode):
                assert _xattrs(path) == [], path
        assert (kept / "made" / "deeper" / "file").read_text() == "made\n"
    finally:
        shutil.rmtree(kept, ignore_errors=True)
