"""The ``pygent-ui`` server process: Streamlit with the request guard in front of every route.

``pygent-ui`` execs ``python -m pygent.entrypoints.web.server [--open-browser] -- run PAGE
--server.address ... --server.port ...``. This module reads the token from the environment,
hooks the guard into whichever web server this Streamlit uses (Tornado in older releases such
as 1.37, a Starlette app served by uvicorn in newer ones such as 1.67: only those two public
entry points are touched, no Streamlit internals), hands over to Streamlit's own command line,
and once the server answers checks that a request without the token really is refused, or
stops the server.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import os
import runpy
import sys
import threading
import time
import webbrowser
from typing import Any, Callable, Optional
from urllib.parse import quote

from .guard import RESPONSE_HEADERS, TOKEN_VAR, Guard, Verdict, page_url

STARTUP_SECONDS = 120.0
GUARD_FAILED = 70  # exit status when the guard could not be checked in place

ASGIApp = Callable[..., Any]


# -- ASGI (Streamlit on Starlette, served by uvicorn) ---------------------------------------------
class GuardedApp:
    """ASGI middleware: refuse what the guard refuses, add the security headers to the rest."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: dict[str, Any], receive: ASGIApp, send: ASGIApp) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):  # lifespan: start and stop Streamlit's runtime
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path", "/"))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        server = scope.get("server") or (None, None)
        verdict = self.guard.check(scope.get("method", "GET"), path,
                                   scope.get("query_string", b"").decode("latin-1"),
                                   headers, server[0])
        if kind == "websocket":
            if verdict.allowed:
                await self.app(scope, receive, send)
            else:  # closing before accepting: the server answers the handshake with a 403
                await receive()
                await send({"type": "websocket.close", "code": 1008})
            return
        if verdict.allowed:
            await self.app(scope, receive, functools.partial(_with_headers, send))
        else:
            await _answer(send, verdict)


async def _with_headers(send: ASGIApp, message: dict[str, Any]) -> None:
    if message.get("type") == "http.response.start":
        ours = {name.lower().encode("latin-1") for name, _ in RESPONSE_HEADERS}
        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
        message = dict(message, headers=kept + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in RESPONSE_HEADERS])
    await send(message)


async def _answer(send: ASGIApp, verdict: Verdict) -> None:
    body = verdict.message.encode("utf-8")
    headers = [*verdict.headers, *RESPONSE_HEADERS, ("Content-Length", str(len(body)))]
    await send({"type": "http.response.start", "status": verdict.status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in headers]})
    await send({"type": "http.response.body", "body": body})


def install_asgi_guard(guard: Guard) -> bool:
    """Wrap every app given to ``uvicorn.Config`` (how Streamlit starts its ASGI server)."""
    try:
        import uvicorn
    except ImportError:
        return False
    original = uvicorn.Config.__init__

    @functools.wraps(original)
    def guarded_init(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(app, (str, GuardedApp)):
            app = GuardedApp(app, guard)
        original(self, app, *args, **kwargs)

    setattr(uvicorn.Config, "__init__", guarded_init)  # noqa: B010 - mypy: no method assignment
    return True


# -- Tornado (older Streamlit releases, 1.37 among them) ------------------------------------------
def install_tornado_guard(guard: Guard) -> bool:
    """Check each request in ``Application.find_handler``, which routes every Tornado request."""
    try:
        import tornado.web
    except ImportError:
        return False

    class Refusal(tornado.web.RequestHandler):
        """Answers a refused request (a WebSocket handshake too) without reaching Streamlit."""

        def initialize(self, verdict: Verdict) -> None:
            self.verdict = verdict

        def check_xsrf_cookie(self) -> None:
            """The refusal is the answer, whatever the method."""

        def prepare(self) -> None:
            self.set_status(self.verdict.status)
            for name, value in self.verdict.headers:
                self.set_header(name, value)
            self.finish(self.verdict.message)

    class SecurityHeaders(tornado.web.OutputTransform):
        """Adds the security headers to every response."""

        def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes,
                                  finishing: bool) -> tuple[int, Any, bytes]:
            for name, value in RESPONSE_HEADERS:
                headers[name] = value
            return status_code, headers, chunk

    original = tornado.web.Application.find_handler

    @functools.wraps(original)
    def guarded_find_handler(self: Any, request: Any, **kwargs: Any) -> Any:
        if SecurityHeaders not in self.transforms:
            self.transforms.append(SecurityHeaders)
        verdict = guard.check(request.method or "GET", request.path, request.query,
                              list(request.headers.get_all()), _tornado_local_address(request))
        if verdict.allowed:
            return original(self, request, **kwargs)
        return self.get_handler_delegate(request, Refusal, {"verdict": verdict})

    setattr(tornado.web.Application, "find_handler", guarded_find_handler)  # noqa: B010
    return True


def _tornado_local_address(request: Any) -> Optional[str]:
    try:
        return str(request.connection.stream.socket.getsockname()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return None


# -- start-up -----------------------------------------------------------------------------------
def connect_host(host: str) -> str:
    """Where this process reaches its own server: loopback when it listens on every address."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def self_check(host: str, port: int) -> Optional[str]:
    """None when the running server refuses a tokenless request and sends the headers."""
    connect = connect_host(host)
    try:
        for path, wanted in (("/_stcore/health", 200), ("/", 403)):
            conn = http.client.HTTPConnection(connect, port, timeout=10)
            try:
                conn.request("GET", path)
                reply = conn.getresponse()
                reply.read()
            finally:
                conn.close()
            if reply.status != wanted or reply.getheader("Content-Security-Policy") is None:
                return (f"GET {path} answered {reply.status}; the guard answers {wanted} "
                        "with its headers")
    except OSError as exc:
        return f"cannot reach the server: {exc}"
    return None


def wait_until_serving(host: str, port: int, deadline: float) -> bool:
    """Poll the health endpoint until the server answers."""
    connect = connect_host(host)
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(connect, port, timeout=2)
            try:
                conn.request("GET", "/_stcore/health")
                if conn.getresponse().status == 200:
                    return True
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    return False


def watch_start(host: str, port: int, open_url: Optional[str]) -> None:
    """Once the server answers: stop it if the guard is not in place, else open the browser."""
    if not wait_until_serving(host, port, time.monotonic() + STARTUP_SECONDS):
        return  # Streamlit said why it could not start
    problem = self_check(host, port)
    if problem is not None:
        print(f"pygent-ui: the request guard is not active ({problem}); stopping so the page "
              "is not served without it. Please report this with your Streamlit version.",
              file=sys.stderr, flush=True)
        os._exit(GUARD_FAILED)
    if open_url is not None:
        webbrowser.open(open_url)


def build_parser() -> argparse.ArgumentParser:
    """Our own flags; Streamlit's ``run`` arguments follow a ``--``."""
    parser = argparse.ArgumentParser(prog="pygent-ui-server",
                                     usage="%(prog)s [--open-browser] -- run PAGE [options]")
    parser.add_argument("--open-browser", action="store_true",
                        help="open the page once it answers (Streamlit runs headless)")
    return parser


def streamlit_option(args: list[str], name: str, default: str) -> str:
    """The value of ``--name value`` in Streamlit's arguments."""
    found = argparse.ArgumentParser(add_help=False)
    found.add_argument(f"--{name}", dest="value", default=default)
    return str(found.parse_known_args(args)[0].value)


def main(argv: Optional[list[str]] = None) -> int:
    """Install the guard, then run Streamlit in this process."""
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    streamlit_args = argv[cut + 1:]
    token = os.environ.pop(TOKEN_VAR, "")  # not inherited by the sandbox's commands
    if not token:
        print(f"pygent-ui: no {TOKEN_VAR} in the environment; start the page with pygent-ui.",
              file=sys.stderr)
        return 2
    host = streamlit_option(streamlit_args, "server.address", "127.0.0.1")
    port = int(streamlit_option(streamlit_args, "server.port", "8501"))
    guard = Guard(token, port, host)
    if not (install_asgi_guard(guard) | install_tornado_guard(guard)):
        print("pygent-ui: neither uvicorn nor tornado is installed: cannot guard the page.",
              file=sys.stderr)
        return 1
    open_url = page_url(host, port, token) if args.open_browser else None
    threading.Thread(target=watch_start, args=(host, port, open_url), daemon=True,
                     name="pygent-ui-start").start()
    os.environ.setdefault("STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE", "true")  # its URL lacks ours
    sys.argv = ["streamlit", *streamlit_args]
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
