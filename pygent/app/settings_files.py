"""Reading settings files without trusting them: which are project files, and how to open one.

A project file (``./pygent.toml``, or any settings file inside the workspace) can be written
by the agent; every settings file is read so that a FIFO cannot hang the start and a huge file
or a device cannot fill memory.
"""

from __future__ import annotations

import importlib
import os
import stat
import sys
from pathlib import Path
from typing import Any, Optional

from ..domain.errors import ConfigError

USER_FILE = ".pygent.toml"  # in the home folder: the person's own settings
PROJECT_FILE = "pygent.toml"  # in the current folder: a project file, which the agent can write
#: The largest settings file read: far above any real one, small enough that a hostile file
#: (huge, or /dev/zero behind a name) cannot stall the start or fill memory.
MAX_CONFIG_BYTES = 1024 * 1024


def is_project_file(path: Path, workspace: Optional[str], cwd: Path) -> bool:
    """True for ``./pygent.toml`` and for a file inside the workspace: the agent can write it.

    Both the path as written and the path with symlinks resolved are checked, on both sides.
    """
    if _inside(path, cwd / PROJECT_FILE, cwd):
        return True
    return workspace is not None and _inside(path, Path(workspace).expanduser(), cwd)


def _inside(path: Path, folder: Path, cwd: Path) -> bool:
    here, there = cwd / path, cwd / folder  # an absolute right-hand side stays as it is
    for inner in {os.path.abspath(here), os.path.realpath(here)}:
        for outer in {os.path.abspath(there), os.path.realpath(there)}:
            if inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep):
                return True
    return False


def read_settings_file(path: Path, follow_symlinks: bool = True) -> dict[str, Any]:
    """Parse one TOML file that must be a regular file of at most ``MAX_CONFIG_BYTES``.

    Opened non-blocking, so a FIFO cannot hang the start, and without following a symlink
    when ``follow_symlinks`` is false. Raises FileNotFoundError when absent, else ConfigError.
    """
    before = os.stat(path, follow_symlinks=follow_symlinks)  # FileNotFoundError when absent
    if stat.S_ISLNK(before.st_mode):
        raise ConfigError(f"{path} is a symbolic link, which a project file may not be")
    if not stat.S_ISREG(before.st_mode):
        raise ConfigError(f"{path} is not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:  # e.g. swapped for a symlink since the check just above
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path} is not a regular file")
        raw = b"" if info.st_size > MAX_CONFIG_BYTES else handle.read(MAX_CONFIG_BYTES + 1)
    if info.st_size > MAX_CONFIG_BYTES or len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes, the most a "
                          "settings file may have")
    # imported here, so ``pygent --help`` never loads a TOML parser; tomli before Python 3.11
    tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"cannot read {path}: values are nested too deeply") from None
