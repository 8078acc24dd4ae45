"""``pygent-ui``: serve the Streamlit page on this machine only, unless told otherwise.

The flags become the same ``PYGENT_*`` variables ``pygent`` reads, so the page builds its
settings the usual way; Streamlit is imported only in the page process. Each launch makes a
token (or takes ``PYGENT_UI_TOKEN``): the server, ``web.server``, gets it through its
environment, never its command line, and refuses every request that does not carry it.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import sys
from pathlib import Path
from typing import Optional

from ...app.settings import load_settings
from ...domain.errors import ConfigError
from ..flags import FLAGGED, add_setting_flags, setting_overrides
from .guard import TOKEN_VAR, make_token, page_url

PAGE = Path(__file__).with_name("app.py")
CONFIG_VAR = "PYGENT_UI_CONFIG"  # the --config file, for the page process
SERVER = "pygent.entrypoints.web.server"


def default_headless(environ: Optional[dict[str, str]] = None) -> bool:
    """No browser in CI or where no display can show one."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("CI"):
        return True
    no_display = not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return sys.platform.startswith("linux") and no_display


def build_parser() -> argparse.ArgumentParser:
    """The flags of ``pygent-ui``: where to listen, plus the setting flags ``pygent`` takes."""
    parser = argparse.ArgumentParser(
        prog="pygent-ui", description="Pygent in a local web page (Streamlit)."
    )
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (8501)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; the default keeps the page on this machine")
    parser.add_argument("--headless", action=argparse.BooleanOptionalAction,
                        default=default_headless(),
                        help="do not open a browser (default: on in CI or without a display)")
    add_setting_flags(parser)
    return parser


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_environment(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The page's environment: the flags, as the settings' variables, win over those set."""
    env = dict(environ)
    variables = {f.name: f.metadata["env"] for f in FLAGGED}
    for name, value in setting_overrides(args).items():
        env[variables[name]] = str(int(value) if isinstance(value, bool) else value)
    if args.config:
        env[CONFIG_VAR] = str(Path(args.config).expanduser().resolve())
    return env


def server_command(args: argparse.Namespace) -> list[str]:
    """Our guarded server running ``streamlit run`` on the page, listening where the flags say.

    Streamlit itself always runs headless: its own browser tab would lack the token, so the
    server opens the token's address itself once it answers.
    """
    return [
        sys.executable, "-m", SERVER, *([] if args.headless else ["--open-browser"]), "--",
        "run", str(PAGE),
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]


def main(argv: Optional[list[str]] = None) -> int:
    """Check the settings, make the token, then replace this process with the guarded server."""
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host):
        print(f"pygent-ui: warning: listening on {args.host}: anyone who can reach this "
              "address and has the token can run shell commands through the page, and the "
              "token travels unencrypted (plain HTTP). Use --host 127.0.0.1 to keep it on "
              "this machine.", file=sys.stderr)
    env = page_environment(args, dict(os.environ))
    try:
        settings = load_settings(env.get(CONFIG_VAR), environ=env)
        if settings.local_model:  # fail here, not in the page, on a file llama.cpp cannot use
            from ...adapters.llama_server import check_model_file, import_xllamacpp

            check_model_file(settings.local_model)
            import_xllamacpp()
    except ConfigError as exc:
        print(f"pygent-ui: {exc}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("streamlit") is None:
        print("pygent-ui: Streamlit is not installed; run: pip install 'pygent[ui]'",
              file=sys.stderr)
        return 1
    try:
        env[TOKEN_VAR] = make_token(env)
    except ValueError as exc:
        print(f"pygent-ui: {exc}", file=sys.stderr)
        return 2
    where = {True: "Docker", False: "local", None: "Docker when available"}[settings.use_docker]
    print(f"pygent-ui: serving on {page_url(args.host, args.port, env[TOKEN_VAR])} "
          f"(sandbox: {where}); Ctrl-C stops it.", flush=True)
    os.execve(sys.executable, server_command(args), env)
    return 0  # pragma: no cover - execve does not return
