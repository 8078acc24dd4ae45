"""The history file never holds a declared secret, in any form or length (issue 11, item 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pygent.adapters.history_store import JsonlHistory
from pygent.agent import Agent
from pygent.container import host_secrets
from pygent.domain.messages import Message
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say

SECRETS = {
    "quote": 'sk-"quoted"-secret',
    "backslash": "sk\\back\\slash",
    "tab": "tab\tsecret",
    "newline": "new\nline-secret",
    "unicode": "clé-sécrète-🔑",
    "control": "esc\x1b[31m",
    "one character": "Z",
    "seven characters": "s3cr3t7",
}


def encodings(secret: str) -> list[str]:
    """Every way the secret could be spelled in a JSONL line: raw, and JSON-escaped 1-3 deep."""
    forms = [secret]
    for _ in range(3):
        forms += [json.dumps(f, ensure_ascii=a)[1:-1] for f in forms for a in (False, True)]
    return sorted(set(forms))


def assert_absent(path: Path, secret: str) -> None:
    text = path.read_text(encoding="utf-8")
    for form in encodings(secret):
        assert form not in text, f"{form!r} is in the history"


@pytest.mark.parametrize("secret", list(SECRETS.values()), ids=list(SECRETS))
def test_a_secret_is_redacted_in_content_tool_arguments_and_tool_output(
    tmp_path: Path, secret: str
) -> None:
    path = tmp_path / "h.jsonl"
    history = JsonlHistory(path, secrets=[secret])
    arguments = json.dumps({"cmd": f"echo {secret}; echo '{json.dumps({'k': secret})}'"})
    history.append(Message(role="user", content=f"my key is {secret}"))
    history.append(calls(call("bash", arguments, "c1")))
    history.append(Message(role="tool", content=f"out: {secret}\n{json.dumps(secret)}",
                           tool_call_id="c1", name="bash"))
    assert_absent(path, secret)
    resumed = JsonlHistory(path).load()
    assert [m.role for m in resumed] == ["user", "assistant", "tool"]
    assert "[redacted]" in (resumed[0].content or "")


def test_a_redacted_log_still_resumes_with_its_tool_calls_paired(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    model = FakeModel([calls(call("bash", {"cmd": "echo k"}, "call_k1")), say("done k")])
    agent = Agent(model=model, runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
                  history=JsonlHistory(path, secrets=["k"]))
    agent.run_until_stop("task", unattended=False)
    for line in path.read_text().splitlines():
        assert "k" not in json.dumps(_strings(json.loads(line)))
    resumed = Agent(model=FakeModel(), runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
                    history=JsonlHistory(path))
    assert [m.role for m in resumed.conversation] == ["user", "assistant", "tool", "assistant"]
    assert resumed.conversation.unanswered_calls() == []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_longer_secrets_are_redacted_first_and_markers_are_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    history = JsonlHistory(path, secrets=["e", "secret-longer", "d"])
    history.append(Message(role="user", content="x secret-longer y"))
    line = json.loads(path.read_text())
    assert line["content"] == "x [redacted] y"


def test_only_variables_named_as_secrets_are_declared_secret() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-openai", "PYGENT_UI_TOKEN": "ui", "GITHUB_TOKEN": "gh",
        "MY_API_KEY": "mine", "GITLAB_PAT": "pat", "DB_PASSWORD": "pw", "AWS_CREDENTIALS": "aws",
        "SOME_APIKEY": "apikey", "X_SECRET": "x", "TOKENIZERS_PARALLELISM": "false",
        "KEYBOARD": "us", "PATH": "/bin", "MONKEY_BUSINESS": "no", "EMPTY_TOKEN": "",
    }
    assert sorted(host_secrets(environ)) == sorted(
        ["sk-openai", "ui", "gh", "mine", "pat", "pw", "aws", "apikey", "x"])
    assert host_secrets({"A_KEY": "short", "B_KEY": "much-longer"}) == ["much-longer", "short"]


def test_the_history_setting_redacts_every_declared_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.jsonl"
    token, key = 'gh"\\tok', "k\t7"
    monkeypatch.setenv("PYGENT_HISTORY_FILE", str(path))
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("PYGENT_UI_TOKEN", "ui-42")
    model = FakeModel([calls(call("bash", {"cmd": f"echo {token} {key} ui-42"})),
                       say(f"the token was {token}")])
    agent = Agent(model=model, runtime=Runtime(sandbox=FakeSandbox(tmp_path)))
    agent.run_until_stop("go")
    for secret in (token, key, "ui-42"):
        assert_absent(path, secret)


def test_a_json_array_history_never_writes_through_a_link_planted_at_its_temp_name(
    tmp_path: Path,
) -> None:
    import json
    import os

    from pygent.adapters.history_store import JsonlHistory
    from pygent.domain.messages import Message

    target = tmp_path / "host-file.txt"
    target.write_text("untouched")
    path = tmp_path / "history.json"
    path.write_text("[]")
    history = JsonlHistory(path)
    os.symlink(target, tmp_path / f".history.json.{os.getpid()}.tmp")  # as a command could
    history.append(Message(role="user", content="hello"))
    assert target.read_text() == "untouched"
    assert json.loads(path.read_text()) == [{"role": "user", "content": "hello"}]
