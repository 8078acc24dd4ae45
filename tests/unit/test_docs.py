"""The configuration page is generated from Settings, so it cannot drift; the snippets run.

Regenerate with: python tests/unit/test_docs.py --write
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

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


def _project(f) -> str:  # type: ignore[no-untyped-def]
    """The Project file column: ``read-only only`` for a setting that may only be tightened."""
    kind = f.metadata.get("project")
    if kind == "on" and isinstance(f.metadata.get("on"), str):
        return f"`{f.metadata['on']}` only"
    return PROJECT.get(kind, "no")


def render_table() -> str:
    """One row per setting: key, environment variable and flag, project file, default, meaning."""
    rows = [
        "| `pygent.toml` key | Environment variable, flag | Project file | Default | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in fields(Settings):
        names = [f"`{f.metadata[key]}`" for key in ("env", "env_json") if f.metadata.get(key)]
        flags = [f"`{flag}`" for flag in f.metadata.get("flag", "").split(" | ") if flag]
        rows.append(
            f"| `{f.name}` | {', '.join([*(names or ['file only']), *flags])} | "
            f"{_project(f)} | {_default(f)} | "
            f"{f.metadata['doc'].replace('|', chr(92) + '|')} |"
        )
    return "\n".join(rows)


def current_table() -> str:
    text = PAGE.read_text()
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()


def test_the_configuration_page_lists_every_setting_as_settings_defines_it() -> None:
    assert current_table() == render_table(), "run: python tests/unit/test_docs.py --write"


#: Pages whose Python snippets run offline, as written, and how many each has at least.
#: local-models.md's llama.cpp snippet needs a model file, so only its others run.
SNIPPET_PAGES = {"custom-models.md": 5, "configuration.md": 1, "tasks.md": 3,
                 "local-models.md": 1, "projects.md": 1}


def python_snippets(name: str) -> list[str]:
    """The page's ```python blocks that run offline (not the one that loads a model)."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.with_name(name).read_text(), re.S)
    return [block for block in blocks if "import xllamacpp" not in block]


def promised_output(snippet: str) -> list[str]:
    """What ``print(...)  # text`` comments say the snippet prints; ``...`` stands for more."""
    pieces: list[str] = []
    for line in snippet.splitlines():
        code, sep, comment = line.partition("  # ")
        if sep and code.lstrip().startswith("print("):
            pieces += [piece.strip() for piece in comment.split("...") if piece.strip()]
    return pieces


@pytest.mark.parametrize("name", sorted(SNIPPET_PAGES))
def test_every_python_snippet_on_a_page_runs_as_written_and_prints_what_it_says(
    name: str, tmp_path: Path
) -> None:
    snippets = python_snippets(name)
    assert len(snippets) >= SNIPPET_PAGES[name]
    env = {**os.environ, "PYGENT_USE_DOCKER": "0", "HOME": str(tmp_path)}
    for snippet in snippets:
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)
        assert done.returncode == 0, f"{snippet}\n{done.stderr}"
        for piece in promised_output(snippet):
            assert piece in done.stdout, f"{snippet}\nprinted:\n{done.stdout}"


def test_the_pages_promise_output_the_snippet_checks_can_see() -> None:
    promised = {name: sum(len(promised_output(s)) for s in python_snippets(name))
                for name in SNIPPET_PAGES}
    assert all(promised.values()), promised  # else a page's comments stopped saying anything
    assert promised_output('print(x)  # a ... b\nx = 1  # not printed') == ["a", "b"]


def toml_blocks(page: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in PAGE.parent.glob("*.md") if toml_blocks(p)))
def test_every_settings_file_on_a_page_loads(name: str, tmp_path: Path) -> None:
    from pygent.app.settings import load_settings

    for number, block in enumerate(toml_blocks(PAGE.with_name(name))):
        path = tmp_path / f"settings-{number}.toml"
        path.write_text(block)
        settings = load_settings(str(path), environ={"HOME": str(tmp_path)}, cwd=tmp_path)
        if "[[task_personas]]" in block:
            names = re.findall(r'^name = "(.*)"$', block, re.M)
            assert [persona.name for persona in settings.task_personas] == names
            assert settings.max_tasks == 2 and settings.task_timeout == 600


if __name__ == "__main__" and "--write" in sys.argv:
    text = PAGE.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    PAGE.write_text(text[:start] + "\n" + render_table() + "\n" + text[end:])
