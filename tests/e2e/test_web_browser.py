"""pygent-ui as a person uses it: the real server on a free localhost port, a real Chromium.

Each server gets a known ``PYGENT_UI_TOKEN``; the browser opens ``login_url`` (the address
pygent-ui prints), which sets the page's cookie, as a person opening that address would.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "test-artifacts" / "web-e2e.png"
REQUIRE_BROWSER = os.environ.get("PYGENT_REQUIRE_BROWSER") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip without the tools, or fail when CI says they must be there."""
    if not condition:
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason} (PYGENT_REQUIRE_BROWSER=1)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, server: subprocess.Popen[str], attempts: int = 600) -> None:
    """Poll Streamlit's health endpoint until it answers (or the server dies)."""
    for _ in range(attempts):
        if server.poll() is not None:
            raise AssertionError(f"pygent-ui exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        try:
            server.wait(0.1)
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError("pygent-ui did not answer on its health endpoint")


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[str]
    token: str

    @property
    def login_url(self) -> str:
        """The address pygent-ui prints: the token logs the browser in once."""
        return f"{self.url}/?token={self.token}"

    def stop(self) -> str:
        """SIGTERM, as a service manager would; return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out


@contextmanager
def running_server(cwd: Path, *flags: str, backend: str = "direct",
                   **extra_env: str) -> Iterator[Server]:
    """``pygent-ui --no-docker --headless`` on a free port, with an offline model by default."""
    need(sys.platform.startswith("linux"), "the browser test runs on Linux")
    pytest.importorskip("streamlit")
    port = free_port()
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYGENT_UI_TOKEN": token, **extra_env}
    env.pop("DISPLAY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "pygent.entrypoints.web", "--no-docker", "--backend", backend,
         "--headless", "--port", str(port), *flags],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    running = Server(f"http://127.0.0.1:{port}", port, process, token)
    try:
        wait_healthy(running.url, process)
        yield running
    finally:
        running.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    scratch = tmp_path / "tmp"  # temporary workspaces, kept ones too, stay in the test's folder
    scratch.mkdir()
    with running_server(tmp_path, TMPDIR=str(scratch)) as running:
        yield running


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page in Debian's Chromium, driven by Playwright; never a downloaded browser."""
    sync_api = pytest.importorskip("playwright.sync_api")
    need(os.path.exists(CHROMIUM), f"needs Debian's chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1200})
        finally:
            browser.close()


def workspace_of(page: Any) -> Path:
    """The workspace the page names in its header."""
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
    found = re.search(r"workspace (/\S+)", page.inner_text("body"))
    assert found is not None
    return Path(found.group(1))


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].rsplit(":", 1)
                if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_server_listens_on_127_0_0_1_only_by_default(server: Server) -> None:
    need(os.path.exists("/proc/net/tcp"), "needs /proc/net/tcp")
    assert listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, little-endian hex


def test_a_person_writes_a_file_and_reads_it_back_in_a_real_browser(server: Server) -> None:
    with browser_page() as page:
        page.goto(server.login_url)
        assert page.url == f"{server.url}/", "the token stays out of the address bar"
        workspace = workspace_of(page)
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill('write_file path="a.txt" content="hi"')
        box.press("Enter")
        page.get_by_text("Wrote 2 bytes to a.txt").wait_for(timeout=60_000)
        box.fill('bash cmd="cat a.txt"')
        box.press("Enter")
        code = "[data-testid='stCode'] code, [data-testid='stCodeBlock'] code"  # new, old names
        output = page.locator(code).filter(
            has_text=re.compile(r"^\s*hi\s*$"))
        output.first.wait_for(timeout=60_000)
        page.get_by_role("button", name="a.txt").wait_for(timeout=60_000)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        print(f"screenshot: {SCREENSHOT}")
    assert (workspace / "a.txt").read_text() == "hi"
    log = server.stop()
    assert server.process.returncode == 0, log
    assert f"serving on {server.login_url} " in log
    # issue 15: stopping the server no longer deletes what the session made; it says where
    assert (workspace / "a.txt").read_text() == "hi", "the server's end lost the file"
    assert f"kept the workspace {workspace} of a web session that ended" in log


def test_a_closed_tab_releases_its_sandbox_once_it_cannot_reconnect(tmp_path: Path) -> None:
    with running_server(tmp_path, STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL="1") as server, \
            browser_page() as page:
        page.goto(server.login_url)
        workspace = workspace_of(page)
        page.close()
        for _ in range(300):
            if not workspace.exists():
                break
            server.process.wait(0.1) if server.process.poll() is not None else time.sleep(0.1)
        assert not workspace.exists(), "a closed tab kept its sandbox"
        assert server.process.poll() is None


def test_an_upload_and_a_download_pass_the_page_s_guard(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("uploaded")
    with browser_page() as page:
        page.goto(server.login_url)
        workspace = workspace_of(page)
        page.locator("input[type='file']").set_input_files(str(source))
        page.get_by_role("button", name="Save to workspace").click()
        page.get_by_text("Saved notes.txt").wait_for(timeout=60_000)
        assert (workspace / "notes.txt").read_text() == "uploaded"
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="notes.txt").click()
        assert Path(download.value.path()).read_text() == "uploaded"


def test_delegated_tasks_show_their_status_and_none_outlives_the_server(server: Server) -> None:
    from tests.processes import eventually, long_sleep, processes_running

    stopped, left_running = long_sleep(), long_sleep()
    with browser_page() as page:
        page.goto(server.login_url)
        workspace_of(page)
        box = page.get_by_test_id("stChatInputTextArea")
        sidebar = page.get_by_test_id("stSidebar")
        box.fill('delegate_task prompt="write_file path=\\"b.txt\\" content=\\"hi\\""')
        box.press("Enter")
        page.get_by_text(re.compile(r"^task-1 finished \(Pygent, \d+ s\)$")).wait_for(
            timeout=60_000)  # the conversation says so once the task ends
        sidebar.get_by_text(re.compile(r"^task-1 · finished · \d+ s · Pygent$")).wait_for(
            timeout=60_000)
        box.fill("/tasks")
        box.press("Enter")
        page.locator("code").filter(has_text="task-1  finished").first.wait_for(timeout=60_000)

        box.fill(f'delegate_task prompt="{stopped}"')
        box.press("Enter")
        sidebar.get_by_text(re.compile(r"^task-2 · running · ")).wait_for(timeout=60_000)
        assert eventually(lambda: bool(processes_running(stopped)))
        sidebar.get_by_role("button", name="Stop task-2").click()
        sidebar.get_by_text(re.compile(r"^task-2 · cancelled: stopped from the page")).wait_for(
            timeout=60_000)
        assert processes_running(stopped) == []

        box.fill(f'delegate_task prompt="{left_running}"')
        box.press("Enter")
        sidebar.get_by_text(re.compile(r"^task-3 · running · ")).wait_for(timeout=60_000)
        assert eventually(lambda: bool(processes_running(left_running)))
        page.screenshot(path=str(SCREENSHOT.with_name("web-tasks-e2e.png")), full_page=True)
    log = server.stop()
    assert server.process.returncode == 0, log
    assert processes_running(left_running) == [], "a task outlived the server"


def test_a_step_is_undone_redone_and_diffed_from_the_sidebar(server: Server) -> None:
    with browser_page() as page:
        page.goto(server.login_url)
        workspace = workspace_of(page)
        box = page.get_by_test_id("stChatInputTextArea")
        sidebar = page.get_by_test_id("stSidebar")
        box.fill('write_file path="u.txt" content="from the agent"')
        box.press("Enter")
        page.get_by_text("Wrote 14 bytes to u.txt").wait_for(timeout=60_000)
        sidebar.get_by_text("1 step to undo, 0 to redo.").wait_for(timeout=60_000)
        sidebar.get_by_role("button", name="Diff").click()
        page.locator("code").filter(has_text="+from the agent").first.wait_for(timeout=60_000)
        sidebar.get_by_role("button", name="Undo").click()
        sidebar.get_by_text("0 steps to undo, 1 to redo.").wait_for(timeout=60_000)
        assert not (workspace / "u.txt").exists()
        sidebar.get_by_role("button", name="Redo").click()
        sidebar.get_by_text("1 step to undo, 0 to redo.").wait_for(timeout=60_000)
        assert (workspace / "u.txt").read_text() == "from the agent"
        (workspace / "u.txt").write_text("mine")  # the person's own edit, after the step
        sidebar.get_by_role("button", name="Undo").click()
        sidebar.get_by_text("Files changed since that step would be overwritten.").wait_for(
            timeout=60_000)
        assert (workspace / "u.txt").read_text() == "mine"
        sidebar.get_by_role("button", name="Overwrite").click()
        sidebar.get_by_text("0 steps to undo, 1 to redo.").wait_for(timeout=60_000)
        assert not (workspace / "u.txt").exists()
        page.screenshot(path=str(SCREENSHOT.with_name("web-undo-e2e.png")), full_page=True)
