"""How the local shell is started: inside bubblewrap (confined) or as a bare subreaper.

Confined, the shell gets its own user, PID, network, IPC and mount namespaces: the
workspace is writable (read-only with ``read_only``), the rest of the machine read-only,
homes, ``/tmp`` and ``/run`` hidden, ``/proc`` its own (the parent's environment is not
readable), no capabilities, no network unless allowed. Unconfined, the shell is the host
user's own process: it protects nothing, but it is still made a child subreaper so no
process it starts escapes a timeout or ``close()``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SHELL = ["bash", "--noprofile", "--norc"]
SANDBOX_OUTPUT = "/run/pygent/output"  # where the confined shell sees the output folder
HIDDEN = ("/var/tmp", "/run", "/home", "/root")  # /tmp and the home get private folders
ROOT_ONLY_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-")
ROOT_ONLY_FOLDERS = ("/etc/ssh",)
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow "
                "unprivileged user namespaces, or set PYGENT_CONFINE=0 to run unconfined")

# Make the shell a child subreaper (prctl PR_SET_CHILD_SUBREAPER, kept across exec), so
# processes that leave its session or double-fork stay below it, then become bash.
SUBREAPER = (
    "import os\n"
    "try:\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)\n"
    "except Exception:\n"
    "    pass\n"
    f"os.execvp('bash', {SHELL!r})\n"
)


def find_bwrap() -> Optional[str]:
    """The bubblewrap executable, when installed."""
    return shutil.which("bwrap") if sys.platform.startswith("linux") else None


def unconfined_argv() -> list[str]:
    """The shell as a plain host process (a subreaper when Python can make it one)."""
    if not sys.executable or not sys.platform.startswith("linux"):
        return list(SHELL)
    return [sys.executable, "-S", "-c", SUBREAPER]


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class BwrapLayout:
    """The folders a confined shell is built from; ``state`` holds its private /tmp and home."""

    workspace: Path
    state: Path
    output: Path
    network: bool = False
    environ: dict[str, str] = field(default_factory=dict)
    read_only: bool = False  # the workspace mounted read-only (workspace_mode)

    def home(self) -> str:
        """The sandbox's home folder (the host's path, backed by a private folder)."""
        return self.environ.get("HOME") or os.path.expanduser("~")

    def hidden(self) -> list[str]:
        """Host folders replaced by empty ones in the sandbox."""
        found = [p for p in (*HIDDEN, self.home()) if p and p != "/" and os.path.isdir(p)]
        return list(dict.fromkeys(found))

    def exposed(self) -> list[str]:
        """Read-only folders under hidden ones that commands need: PATH and Python's prefix."""
        homes = ["/tmp", *(h for h in self.hidden() if h not in ("/var/tmp", "/run"))]
        wanted = [p for p in self.environ.get("PATH", "").split(":") if p]
        wanted += [sys.prefix, sys.base_prefix, sys.exec_prefix]
        exposed: list[str] = []
        for path in map(os.path.abspath, wanted):
            under = [h for h in homes if _under(path, h) and path != h]
            if not under:
                continue
            top = self._tool_root(max(under, key=len), path)  # the innermost hidden folder
            if top and os.path.isdir(top) and top not in exposed:
                exposed.append(top)
        return exposed

    @staticmethod
    def _tool_root(home: str, path: str) -> Optional[str]:
        """The folder to expose for ``path`` under ``home``: its first part (or ~/.local/bin)."""
        parts = Path(path).relative_to(home).parts
        if home in ("/home",):  # /home/USER/...: the user's folder is the home
            if len(parts) < 2:
                return None
            home, parts = os.path.join(home, parts[0]), parts[1:]
        if parts[0] == ".local":
            return os.path.join(home, *parts[:2]) if len(parts) > 1 else None
        return os.path.join(home, parts[0])

    def argv(self, cwd: Path) -> list[str]:
        """The bwrap command line that runs the shell in ``cwd``."""
        args = ["--new-session", "--unshare-all", "--cap-drop", "ALL"]
        if self.network:
            args.append("--share-net")
        args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for folder in self.hidden():
            args += ["--tmpfs", folder]
        if os.geteuid() == 0:  # root reads root-only files even without capabilities
            args += [a for f in ROOT_ONLY_FILES if os.path.exists(f)
                     for a in ("--ro-bind", "/dev/null", f)]
            args += [a for d in ROOT_ONLY_FOLDERS if os.path.isdir(d) for a in ("--tmpfs", d)]
        mounts = [("--bind", str(self.state / "tmp"), "/tmp"),
                  ("--bind", str(self.state / "home"), self.home()),
                  *(("--ro-bind", folder, folder) for folder in self.exposed()),
                  ("--bind", str(self.output), SANDBOX_OUTPUT),
                  ("--ro-bind" if self.read_only else "--bind", str(self.workspace),
                   str(self.workspace))]
        # outer folders first, or a later mount would cover an inner one; at equal depth the
        # later entry (the workspace last) wins
        for kind, source, target in sorted(mounts, key=lambda m: len(Path(m[2]).parts)):
            args += [kind, source, target]
        return args + ["--chdir", str(cwd), "--", *SHELL]

    def prepare(self) -> None:
        """Make the private folders the sandbox's /tmp and home are backed by."""
        for name in ("tmp", "home"):
            (self.state / name).mkdir(mode=0o700, parents=True, exist_ok=True)
