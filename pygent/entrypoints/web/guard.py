"""Who may use the ``pygent-ui`` page: a loopback Host and Origin, and this launch's token.

Plain rules with no web framework in them: ``server`` applies them to every request the
Streamlit server receives (Tornado or ASGI), so a page reached through DNS rebinding, another
site's script or another local process without the token is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl, urlencode

TOKEN_VAR = "PYGENT_UI_TOKEN"  # the launcher hands the token to the server here, never in argv
TOKEN_PARAM = "token"
HEALTH_PATH = "/_stcore/health"  # open without the token: it answers "ok" and nothing else
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
POLICY = ("img-src 'self' data: blob:; media-src 'self' data: blob:; object-src 'none'; "
          "base-uri 'self'; frame-ancestors 'self'")
#: Added to every response: the browser fetches no image or media from another host.
RESPONSE_HEADERS = (("Content-Security-Policy", POLICY), ("Referrer-Policy", "no-referrer"))
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_~.-]{16,256}")
_NAME_SHAPE = re.compile(r"[a-z0-9._~-]+|\[[0-9a-f:.]+\]")
HINT = "Open the address pygent-ui printed when it started (the one with ?token=)."


@dataclass(frozen=True)
class Verdict:
    """What to do with one request: let it through (status 0), or answer it here."""

    status: int = 0
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def allowed(self) -> bool:
        """True when the request goes on to Streamlit."""
        return self.status == 0


ALLOW = Verdict()


def refuse(reason: str) -> Verdict:
    """A 403 with a short plain-text reason."""
    return Verdict(403, f"pygent-ui: forbidden: {reason}. {HINT}\n",
                   (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")))


def make_token(environ: Mapping[str, str]) -> str:
    """The user's ``PYGENT_UI_TOKEN`` when set (scripts, tests), else a fresh random one."""
    chosen = environ.get(TOKEN_VAR, "")
    if not chosen:
        return secrets.token_urlsafe(32)
    if not _TOKEN_SHAPE.fullmatch(chosen):
        raise ValueError(f"{TOKEN_VAR} must be 16 to 256 characters from A-Z a-z 0-9 - _ . ~")
    return chosen


def cookie_name(port: int) -> str:
    """One cookie per port: two pages on one machine do not overwrite each other's token."""
    return f"pygent_ui_{port}"


def url_host(host: str) -> str:
    """``host`` as it appears in a URL: brackets around IPv6, loopback for a wildcard."""
    if host in WILDCARD_HOSTS:
        return "[::1]" if host == "::" else "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def page_url(host: str, port: int, token: str) -> str:
    """The address to open: the token in it logs the browser in once."""
    return f"http://{url_host(host)}:{port}/?{TOKEN_PARAM}={token}"


def split_authority(value: str) -> Optional[tuple[str, Optional[int]]]:
    """``("127.0.0.1", 8501)`` from ``"127.0.0.1:8501"``; None for anything malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
    elif value.count(":") > 1:
        return None  # an IPv6 address without brackets
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if not _NAME_SHAPE.fullmatch(name):
        return None
    if not rest:
        return name, None
    if not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6:
        return None
    return name, int(rest[1:])


def same_address(name: str, address: Optional[str]) -> bool:
    """True when ``name`` is an IP literal for ``address`` (the socket the request came in on)."""
    if not address:
        return False
    try:
        left = ipaddress.ip_address(name.strip("[]"))
        right = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(right, ipaddress.IPv6Address) and right.ipv4_mapped is not None:
        right = right.ipv4_mapped
    return left == right


class Guard:
    """Checks each request's Host, Origin and token; decides once per request, before Streamlit."""

    def __init__(self, token: str, port: int, host: str = "127.0.0.1") -> None:
        self.token = token
        self.port = port
        self.cookie = cookie_name(port)
        names = set(LOOPBACK_NAMES)
        if host not in WILDCARD_HOSTS:
            names.add(url_host(host).lower())  # the --host the person chose
        self.names = frozenset(names)

    def allowed_authority(self, value: str, local_address: Optional[str]) -> bool:
        """A Host (or Origin's host) naming this server: loopback, --host, or the socket's IP."""
        parsed = split_authority(value)
        if parsed is None:
            return False
        name, port = parsed
        if (port if port is not None else 80) != self.port:
            return False
        return name in self.names or same_address(name, local_address)

    def check(
        self,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        local_address: Optional[str] = None,
    ) -> Verdict:
        """The verdict for one request (``path`` as sent, ``query`` without the ``?``)."""
        named: dict[str, list[str]] = {}
        for key, value in headers:
            named.setdefault(key.lower(), []).append(value)
        hosts = named.get("host", [])
        if len(hosts) != 1 or not self.allowed_authority(hosts[0], local_address):
            return refuse("this page answers only on its own address (Host header)")
        origins = named.get("origin", [])
        if origins and not all(self._allowed_origin(o, local_address) for o in origins):
            return refuse("requests from other sites are not accepted (Origin header)")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return ALLOW
        given = [value for key, value in parse_qsl(query, keep_blank_values=True)
                 if key == TOKEN_PARAM]
        if given:
            if not all(self._matches(value) for value in given):
                return refuse("wrong token")
            upgrade = any(v.strip().lower() == "websocket" for v in named.get("upgrade", []))
            if method in ("GET", "HEAD") and not upgrade:
                return self._log_in(path, query)
            return ALLOW
        if any(self._matches(value) for value in self._cookie_values(named.get("cookie", []))):
            return ALLOW
        return refuse("missing token")

    def _allowed_origin(self, origin: str, local_address: Optional[str]) -> bool:
        scheme, sep, authority = origin.strip().partition("://")
        return bool(sep) and scheme.lower() == "http" and "/" not in authority \
            and self.allowed_authority(authority, local_address)

    def _matches(self, value: str) -> bool:
        return hmac.compare_digest(value.encode("utf-8", "replace"),
                                   self.token.encode("utf-8"))

    def _cookie_values(self, headers: list[str]) -> list[str]:
        found = []
        for header in headers:
            for part in header.split(";"):
                name, sep, value = part.strip().partition("=")
                if sep and name == self.cookie:
                    found.append(value.strip().strip('"'))
        return found

    def _log_in(self, path: str, query: str) -> Verdict:
        """Set the token cookie and send the browser to the same page without the token."""
        rest = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != TOKEN_PARAM]
        location = "/" + path.lstrip("/\\")  # never "//host" or "/\\host": another server
        if rest:
            location += "?" + urlencode(rest)
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        return Verdict(303, "", (("Location", location), ("Set-Cookie", cookie),
                                 ("Cache-Control", "no-store")))
