"""Importing pygent stays cheap: no model SDK, Docker client, web or terminal toolkit."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openai", "docker", "streamlit", "prompt_toolkit", "dependency_injector", "xllamacpp")


def test_import_pygent_leaves_heavy_packages_unimported() -> None:
    code = (
        "import sys, pygent, pygent.openai_compat\n"
        "from pygent import Agent, Runtime, register_tool, clear_tools\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_public_api_names_resolve() -> None:
    import pygent

    for name in pygent.__all__:
        assert getattr(pygent, name) is not None
