"""The configuration page is generated from Settings, so it cannot drift.

Regenerate with: python tests/unit/test_docs.py --write
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from pathlib import Path

from pygent.app.settings import Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BEGIN, END = "<!-- settings-table:begin -->", "<!-- settings-table:end -->"


def _default(f) -> str:  # type: ignore[no-untyped-def]
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
    else:
        value = None
    return "unset" if value in (None, {}, []) else f"`{value}`"


#: What a project file (``./pygent.toml``, or one in the workspace) may do with a setting.
PROJECT = {True: "yes", "add": "adds rules", "on": "on only"}


def render_table() -> str:
    """One row per setting: key, environment variable and flag, project file, default, meaning."""
    rows = [
        "| `pygent.toml` key | Environment variable, flag | Project file | Default | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in fields(Settings):
        env = f.metadata.get("env")
        flags = [f"`{flag}`" for flag in f.metadata.get("flag", "").split(" | ") if flag]
        rows.append(
            f"| `{f.name}` | {', '.join([f'`{env}`' if env else 'file only', *flags])} | "
            f"{PROJECT.get(f.metadata.get('project'), 'no')} | {_default(f)} | "
            f"{f.metadata['doc'].replace('|', chr(92) + '|')} |"
        )
    return "\n".join(rows)


def current_table() -> str:
    text = PAGE.read_text()
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()


def test_the_configuration_page_lists_every_setting_as_settings_defines_it() -> None:
    assert current_table() == render_table(), "run: python tests/unit/test_docs.py --write"


def test_every_python_snippet_on_the_custom_models_page_runs_as_written(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    page = PAGE.with_name("custom-models.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(snippets) >= 4
    env = {**os.environ, "PYGENT_USE_DOCKER": "0", "HOME": str(tmp_path)}
    for snippet in snippets:
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)
        assert done.returncode == 0, f"{snippet}\n{done.stderr}"
    assert "HELLO" in done.stdout  # the last one: set_custom_model


if __name__ == "__main__" and "--write" in sys.argv:
    text = PAGE.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    PAGE.write_text(text[:start] + "\n" + render_table() + "\n" + text[end:])
