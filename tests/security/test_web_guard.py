"""pygent-ui refuses strangers: the real server, raw HTTP and WebSocket handshakes, and Chromium.

Issue 11: a page reached as ``attacker.example`` (DNS rebinding), from another site, or by a
local process without the launch token must run nothing; an image in a model's reply must not
be fetched; a command shown for approval must show its control characters.
"""

from __future__ import annotations

import http.client
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import pytest

from pygent.entrypoints.web.guard import POLICY, Guard, make_token, page_url
from pygent.entrypoints.web.server import self_check
from tests.chat_server import ChatServer, text, tool_call
from tests.e2e.test_web_browser import Server, browser_page, running_server, workspace_of

FOREIGN = "attacker.example"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # the WebSocket RFC's sample key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("web-guard")) as running:
        yield running


def fetch(server: Server, path: str, method: str = "GET", host: Optional[str] = None,
          **headers: str) -> http.client.HTTPResponse:
    """One raw request with exactly the Host (and other headers) given."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host or f"127.0.0.1:{server.port}")
    for name, value in headers.items():
        conn.putheader(name.replace("_", "-"), value)
    conn.endheaders()
    reply = conn.getresponse()
    reply.read()
    conn.close()
    return reply


def handshake(server: Server, host: Optional[str] = None, **headers: str) -> str:
    """The status line a raw WebSocket handshake on ``/_stcore/stream`` gets."""
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host or f'127.0.0.1:{server.port}'}",
             "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}",
             "Sec-WebSocket-Version: 13",
             *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items())]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def cookie(server: Server, token: Optional[str] = None) -> str:
    return f"pygent_ui_{server.port}={token or server.token}"


def a_static_file(server: Server) -> str:
    """The path of one script the page loads."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/", headers={"Cookie": cookie(server)})
    page = conn.getresponse().read().decode()
    conn.close()
    found = re.search(r'src="\.?(/static/[^"]+\.js)"', page)
    assert found, page[:500]
    return found.group(1)


# -- the rules ------------------------------------------------------------------------------------
def test_a_foreign_host_is_refused_even_with_the_right_token(server: Server) -> None:
    host = f"{FOREIGN}:{server.port}"
    login = fetch(server, f"/?token={server.token}", host=host)
    assert login.status == 403
    assert login.getheader("Set-Cookie") is None
    assert fetch(server, "/", host=host, Cookie=cookie(server)).status == 403
    assert fetch(server, "/_stcore/health", host=host).status == 403
    assert handshake(server, host=host, Cookie=cookie(server)).split()[1] == "403"


def test_a_foreign_origin_is_refused_even_with_the_right_cookie(server: Server) -> None:
    origin = f"http://{FOREIGN}:{server.port}"
    assert fetch(server, "/", Cookie=cookie(server), Origin=origin).status == 403
    assert handshake(server, Cookie=cookie(server), Origin=origin).split()[1] == "403"
    same = f"http://127.0.0.1:{server.port}"
    assert handshake(server, Cookie=cookie(server), Origin=same).split()[1] == "101"


def test_without_the_token_the_page_its_files_and_its_stream_are_refused(server: Server) -> None:
    static = a_static_file(server)
    for path in ("/", static, "/_stcore/host-config", "/media/x.png", "/healthz"):
        reply = fetch(server, path)
        assert reply.status == 403, path
        assert reply.getheader("Content-Type", "").startswith("text/plain")
    upload = fetch(server, "/_stcore/upload_file/s/f", method="PUT", Content_Length="0")
    assert upload.status == 403
    assert handshake(server).split()[1] == "403"
    assert fetch(server, static, Cookie=cookie(server)).status == 200


def test_a_wrong_token_is_refused_in_the_address_and_in_the_cookie(server: Server) -> None:
    wrong = "x" * len(server.token)
    reply = fetch(server, f"/?token={wrong}")
    assert reply.status == 403
    assert reply.getheader("Set-Cookie") is None
    assert fetch(server, "/", Cookie=cookie(server, wrong)).status == 403
    assert fetch(server, f"/?token={wrong}", Cookie=cookie(server)).status == 403
    assert handshake(server, Cookie=cookie(server, wrong)).split()[1] == "403"


def test_the_right_token_sets_a_strict_cookie_and_leaves_the_address(server: Server) -> None:
    reply = fetch(server, f"/?token={server.token}&embed=true")
    assert reply.status == 303
    assert reply.getheader("Location") == "/?embed=true"
    attributes = [a.strip() for a in reply.getheader("Set-Cookie", "").split(";")]
    assert attributes[0] == cookie(server)
    assert {"Path=/", "HttpOnly", "SameSite=Strict"} <= set(attributes)
    page = fetch(server, "/", Cookie=cookie(server))
    assert page.status == 200
    assert handshake(server, Cookie=cookie(server)).split()[1] == "101"


def test_the_health_check_needs_no_token_and_says_nothing_more(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/_stcore/health")
    reply = conn.getresponse()
    assert (reply.status, reply.read()) == (200, b"ok")
    conn.close()


def test_every_answer_carries_the_image_policy(server: Server) -> None:
    for reply in (fetch(server, "/"), fetch(server, "/", Cookie=cookie(server)),
                  fetch(server, "/_stcore/health")):
        assert reply.getheader("Content-Security-Policy") == POLICY


def test_the_token_is_not_on_the_server_s_command_line(server: Server) -> None:
    cmdline = Path(f"/proc/{server.process.pid}/cmdline")
    if not cmdline.exists():
        pytest.skip("needs /proc")
    argv = cmdline.read_bytes().split(b"\0")
    assert b"pygent.entrypoints.web.server" in argv
    assert not any(server.token.encode() in part for part in argv)


def test_the_guard_accepts_only_loopback_names_the_chosen_host_and_the_socket_s_own_ip() -> None:
    guard = Guard("t" * 20, 8501, "192.168.1.5")
    cookie_header = [("Cookie", "pygent_ui_8501=" + "t" * 20)]

    def status(host: str, address: Optional[str] = None) -> int:
        return guard.check("GET", "/", "", [("Host", host), *cookie_header], address).status

    for host in ("127.0.0.1:8501", "localhost:8501", "[::1]:8501", "192.168.1.5:8501"):
        assert status(host) == 0, host
    assert status("10.0.0.7:8501", "10.0.0.7") == 0  # the address the browser connected to
    for host in ("attacker.example:8501", "127.0.0.1:8502", "127.0.0.1", "127.0.0.1.:8501",
                 "localhost.attacker.example:8501", "10.0.0.7:8501", "user@127.0.0.1:8501"):
        assert status(host) == 403, host
    wildcard = Guard("t" * 20, 8501, "0.0.0.0")
    assert wildcard.check("GET", "/", "", [("Host", "0.0.0.0:8501"), *cookie_header]).status \
        == 403
    assert page_url("0.0.0.0", 8501, "abc") == "http://127.0.0.1:8501/?token=abc"
    assert page_url("::1", 8501, "abc") == "http://[::1]:8501/?token=abc"


def test_a_user_set_token_must_be_long_and_url_safe() -> None:
    assert make_token({"PYGENT_UI_TOKEN": "a-long-enough-token"}) == "a-long-enough-token"
    assert len(make_token({})) >= 40
    for bad in ("short", "has space in the token", "semi;colon-in-the-token"):
        with pytest.raises(ValueError):
            make_token({"PYGENT_UI_TOKEN": bad})


def test_the_login_redirect_never_leaves_the_server() -> None:
    guard = Guard("t" * 20, 8501)
    for path in ("//evil.example/", "/\\evil.example/"):
        verdict = guard.check("GET", path, "token=" + "t" * 20, [("Host", "127.0.0.1:8501")])
        assert verdict.status == 303
        assert dict(verdict.headers)["Location"] == "/evil.example/"


def test_without_headless_the_server_opens_the_address_with_the_token(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text("import pathlib, sys; pathlib.Path(sys.argv[2]).write_text(sys.argv[1])")
    with running_server(tmp_path, "--no-headless",
                        BROWSER=f"{sys.executable} {browser} %s {opened}") as server:
        for _ in range(600):
            if opened.exists():
                break
            time.sleep(0.1)
        assert opened.read_text() == server.login_url


# -- in a browser -------------------------------------------------------------------------------
class Recorder(ThreadingHTTPServer):
    """A loopback HTTP server that counts every request, as an attacker's image host would."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), RecordingHandler)


class RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        assert isinstance(self.server, Recorder)
        self.server.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def image_host() -> Iterator[Recorder]:
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    yield recorder
    recorder.shutdown()
    recorder.server_close()


def test_a_server_that_answers_without_the_guard_fails_the_start_up_check(
    image_host: Recorder,
) -> None:
    problem = self_check("127.0.0.1", image_host.server_address[1])
    assert problem is not None and "answered 200" in problem


def test_an_image_in_a_model_reply_is_never_fetched(tmp_path: Path, image_host: Recorder) -> None:
    leak = f"http://127.0.0.1:{image_host.server_address[1]}"
    with running_server(tmp_path, backend="echo") as server, browser_page() as page:
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(server.login_url)
        workspace_of(page)
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("/help")  # a slash command's block has an icon avatar: drawn from a font
        box.press("Enter")
        page.get_by_text("/cmd").first.wait_for(timeout=60_000)
        box.fill(f"![chart]({leak}/inline.png?secret=sandbox-data) and ![ref][r]\n\n"
                 f"[r]: {leak}/reference.png?secret=more")
        box.press("Enter")
        page.get_by_role("link", name="image: chart (127.0.0.1)").last.wait_for(timeout=60_000)
        assert page.get_by_role("link", name="image: ref (127.0.0.1)").count() >= 1
        assert violations == [], "the page itself broke the policy"
        page.evaluate("""(url) => { const img = document.createElement('img');
                          img.src = url; document.body.appendChild(img); }""",
                      f"{leak}/injected.png")  # past the Markdown rewrite: the policy holds
        page.wait_for_timeout(1500)
    assert image_host.seen == []
    assert violations and all("injected.png" in v for v in violations), violations


def test_a_command_with_a_carriage_return_and_an_escape_is_shown_escaped(tmp_path: Path) -> None:
    command = "echo safe\r\x1b[2Kecho hidden > gotcha.txt"
    shown = r"echo safe\r\x1b[2Kecho hidden > gotcha.txt"
    with ChatServer([tool_call("bash", {"cmd": command}), text("stopped")]) as model, \
            running_server(tmp_path, "--confirm", backend="openai", OPENAI_API_KEY="test",
                           OPENAI_BASE_URL=model.url) as server, browser_page() as page:
        page.goto(server.login_url)
        workspace = workspace_of(page)
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("clean up")
        box.press("Enter")
        page.get_by_text("Run this command?").wait_for(timeout=60_000)
        codes = page.locator("[data-testid='stCode'] code, [data-testid='stCodeBlock'] code")
        codes.filter(has_text=shown).first.wait_for(timeout=60_000)
        assert page.get_by_text(f"bash · {shown}").count() >= 1  # the tool block's title
        assert "\x1b" not in page.inner_text("body")
        page.get_by_role("button", name="Deny").click()
        page.get_by_text("stopped").wait_for(timeout=60_000)
    assert not (workspace / "gotcha.txt").exists()
