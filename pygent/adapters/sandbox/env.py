"""The environment sandboxed commands see: an allow-list, never the host's secrets."""

from __future__ import annotations

import os
from typing import Optional

PASSED_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "USER",
    "LOGNAME",
    "TZ",
    "TMPDIR",
    "SHELL",
)

NON_INTERACTIVE = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "EDITOR": "true",
    "DEBIAN_FRONTEND": "noninteractive",
    "PIP_NO_INPUT": "1",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
    "TERM": "dumb",
}


def sandbox_env(
    extra: Optional[dict[str, str]] = None,
    host: Optional[dict[str, str]] = None,
    passed: tuple[str, ...] = PASSED_THROUGH,
) -> dict[str, str]:
    """Allow-listed host variables, then the non-interactive defaults, then the user's own."""
    host = dict(os.environ) if host is None else host
    env = {name: host[name] for name in passed if name in host}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(NON_INTERACTIVE)
    env.update(extra or {})
    return env
