"""Every Python snippet of the user's getting-started page runs exactly as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "getting-started.md"

USING_THE_API = """\
from pygent import Agent

ag = Agent()
ag.step("echo 'Hello World'")
ag.runtime.cleanup()
"""

ECHO_MODEL = """\
from pygent import Agent, openai_compat

class EchoModel:
    def chat(self, messages, model, tools):
        last = messages[-1]["content"]
        return openai_compat.Message(role="assistant", content=f"Echo: {last}")

ag = Agent(model=EchoModel())
ag.step("test")
ag.runtime.cleanup()
"""

BASH_MODEL = """\
import json
from pygent import Agent, openai_compat


class BashModel:
    def chat(self, messages, model, tools):
        cmd = messages[-1]["content"]
        call = openai_compat.ToolCall(
            id="1",
            type="function",
            function=openai_compat.ToolCallFunction(
                name="bash",
                arguments=json.dumps({"cmd": cmd}),
            ),
        )
        return openai_compat.Message(role="assistant", content=None, tool_calls=[call])


ag = Agent(model=BashModel())
ag.step("echo hi")
ag.runtime.cleanup()
"""

SNIPPETS = {"using-the-api": USING_THE_API, "echo-model": ECHO_MODEL, "bash-model": BASH_MODEL}

# What each snippet must have done, checked by a probe appended after it runs.
PROBES = {
    "using-the-api": "assert ag.conversation[-1].content == 'Hello World', ag.conversation[-1]",
    "echo-model": "assert ag.conversation[-1].content == 'Echo: test'",
    "bash-model": "assert ag.conversation[-1].content == 'hi'",
}


def seed_python_blocks() -> list[str]:
    text = SEED.read_text()
    return [block.strip() + "\n" for block in re.findall(r"```python\n(.*?)```", text, re.S)]


@pytest.mark.skipif(not SEED.exists(), reason="the seed page lives beside the repository")
def test_the_snippets_here_are_the_seed_page_verbatim() -> None:
    assert sorted(seed_python_blocks()) == sorted(s.strip() + "\n" for s in SNIPPETS.values())


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_seed_snippet_runs_as_written(name: str, tmp_path: Path) -> None:
    code = (
        SNIPPETS[name].replace("ag.runtime.cleanup()\n", "")
        + PROBES[name]
        + "\nag.runtime.cleanup()\n"
    )
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_the_tool_helpers_of_the_seed_change_the_system_prompt() -> None:
    import pygent
    from pygent import Agent
    from tests.fakes import FakeModel

    model = FakeModel()
    ag = Agent(model=model)
    try:
        pygent.clear_tools()
        ag.step("a")
        pygent.reset_tools()
        pygent.remove_tool("bash")
        ag.step("b")
        pygent.reset_tools()
        ag.step("c")
    finally:
        ag.runtime.cleanup()
    prompts = [r["messages"][0]["content"] for r in model.requests]
    assert "No tools are available" in prompts[0] and model.requests[0]["tools"] == []
    assert "bash:" not in prompts[1] and "write_file:" in prompts[1]
    assert "bash:" in prompts[2]


def test_the_core_issue_example_writes_then_reads_a_file() -> None:
    from pygent import Agent

    ag = Agent()
    try:
        ag.step('write_file path="hello.txt" content="Hello from Pygent"')
        ag.step('bash cmd="cat hello.txt"')
        assert ag.conversation[-1].content == "Hello from Pygent"
        ag.step("echo 'Hello World'")
        assert ag.conversation[-1].content == "Hello World"
        assert not ag.runtime.use_docker
    finally:
        ag.runtime.cleanup()
    assert not ag.runtime.workspace.exists()
