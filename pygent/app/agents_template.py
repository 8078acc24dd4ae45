"""A first AGENTS.md for ``/init``, from the names at the top of the workspace (no model).

Only names are looked at, never followed or opened: what the file says is a guess from the
files it names, and it says so, for the person to correct.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The most entries looked at: a huge folder gives a shorter draft, never a slow one.
MAX_ENTRIES = 5000

#: Marker name -> (what it shows, install command, build command, test command); "" when none.
MARKERS: dict[str, tuple[str, str, str, str]] = {
    "pyproject.toml": ("a Python project", "pip install -e .", "", "python -m pytest"),
    "setup.py": ("a Python project", "pip install -e .", "", "python -m pytest"),
    "requirements.txt": ("Python requirements", "pip install -r requirements.txt", "", ""),
    "tox.ini": ("tox environments", "", "", "tox"),
    "package.json": ("a Node.js package", "npm install", "npm run build", "npm test"),
    "Cargo.toml": ("a Rust crate", "", "cargo build", "cargo test"),
    "go.mod": ("a Go module", "", "go build ./...", "go test ./..."),
    "Makefile": ("a Makefile", "", "make", "make test"),
    "CMakeLists.txt": ("a CMake project", "", "cmake -B build && cmake --build build",
                       "ctest --test-dir build"),
    "pom.xml": ("a Maven project", "", "mvn package", "mvn test"),
    "build.gradle": ("a Gradle project", "", "gradle build", "gradle test"),
    "Gemfile": ("a Ruby bundle", "bundle install", "", "bundle exec rake test"),
}
READMES = ("README.md", "README.rst", "README.txt", "README")
TEST_FOLDERS = ("tests", "test")
PYTHON_MARKERS = ("pyproject.toml", "setup.py")


def top_names(workspace: Path) -> dict[str, str]:
    """The names at the top of ``workspace``, each with its kind: file, folder or other (a link,
    a FIFO, ...); nothing is followed."""
    names: dict[str, str] = {}
    with os.scandir(workspace) as entries:
        for count, entry in enumerate(entries):
            if count >= MAX_ENTRIES:
                break
            try:
                kind = ("folder" if entry.is_dir(follow_symlinks=False) else
                        "file" if entry.is_file(follow_symlinks=False) else "other")
            except OSError:
                kind = "other"
            names[entry.name] = kind
    return names


def draft_agents_file(names: dict[str, str]) -> tuple[str, list[str]]:
    """The text of a first AGENTS.md, and the names its guesses came from."""
    found = [name for name in MARKERS if names.get(name) == "file"]
    tests = [name for name in TEST_FOLDERS if names.get(name) == "folder"]
    readme = next((name for name in READMES if names.get(name) == "file"), "")
    kinds = list(dict.fromkeys(MARKERS[name][0] for name in found))
    overview = ["<What this project is for, in a sentence or two.>"]
    if kinds:
        overview.append(f"Found at the top of the workspace: {', '.join(kinds)} "
                        f"({', '.join(found)}).")
    if readme:
        overview.append(f"{readme} describes the project.")
    commands = []
    for step, index in (("Install", 1), ("Build", 2), ("Test", 3)):
        for name in found:
            command = MARKERS[name][index]
            if index == 3 and name in PYTHON_MARKERS and not tests:
                continue  # pytest is a guess only where a tests folder is
            if command:
                where = name + (f" and {tests[0]}/" if index == 3 and tests else "")
                commands.append(f"- {step}: `{command}` (a guess from {where}; check it)")
                break
    if not commands:
        commands.append("- <How to build and run the tests; nothing at the top of the "
                        "workspace said.>")
    text = "\n".join([
        "# AGENTS.md",
        "",
        "Instructions for coding agents in this project. Pygent reads this file into its "
        "system prompt at the start of each conversation; keep it short, every line costs "
        "tokens.",
        "",
        "## Project overview",
        "",
        *overview,
        "",
        "## Build and test",
        "",
        *commands,
        "",
        "## Conventions",
        "",
        "- <Code style, naming, folders to leave alone.>",
        "- Make small changes and run the tests before you stop.",
        "",
    ])
    evidence = found + [f"{name}/" for name in tests] + ([readme] if readme else [])
    return text, evidence
