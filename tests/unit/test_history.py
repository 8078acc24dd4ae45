"""The JSONL conversation log: appended as it happens, resumable, private, secret-free."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pygent.adapters.history_store import JsonlHistory
from pygent.agent import Agent
from pygent.runtime import Runtime
from tests.fakes import FakeModel, FakeSandbox, call, calls, say


def test_every_message_is_appended_and_an_agent_with_the_same_file_resumes(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    model = FakeModel([calls(call("bash", {"cmd": "echo hi"}, "c1")), say("done")])
    first = Agent(
        model=model, runtime=Runtime(sandbox=FakeSandbox(tmp_path)), history=JsonlHistory(path)
    )
    first.run_until_stop("task", unattended=False)
    assert len(path.read_text().splitlines()) == 4
    second = Agent(
        model=FakeModel(),
        runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
        history=JsonlHistory(path),
    )
    assert second.conversation == first.conversation


def test_the_file_is_private_and_written_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    history = JsonlHistory(path)
    from pygent.domain.messages import Message

    history.append(Message(role="user", content="one"))
    size = path.stat().st_size
    history.append(Message(role="user", content="two"))
    assert path.read_bytes()[:size].decode().endswith("\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_corrupt_line_is_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"role": "user", "content": "kept"}\n{"role": "assist')
    warnings: list[str] = []
    messages = JsonlHistory(path, warn=warnings.append).load()
    assert [m.content for m in messages] == ["kept"]
    assert warnings and "h.jsonl:2" in warnings[0]


def test_secrets_are_redacted_before_they_reach_the_file(tmp_path: Path) -> None:
    from pygent.domain.messages import Message

    path = tmp_path / "h.jsonl"
    JsonlHistory(path, secrets=["sk-very-secret-key"]).append(
        Message(role="tool", content="OPENAI_API_KEY=sk-very-secret-key", tool_call_id="1")
    )
    assert "sk-very-secret-key" not in path.read_text()


def test_a_new_conversation_is_not_resumed_past_its_marker(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    agent = Agent(
        model=FakeModel(),
        runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
        history=JsonlHistory(path),
    )
    agent.step("old")
    agent.new_conversation()
    agent.step("new")
    resumed = JsonlHistory(path).load()
    assert [m.content for m in resumed] == ["new", "done"]


def test_the_history_file_setting_wires_the_log(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.jsonl"
    monkeypatch.setenv("PYGENT_HISTORY_FILE", str(path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-be-written-1234")
    agent = Agent(
        model=FakeModel([say("sk-should-never-be-written-1234")]),
        runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
    )
    agent.step("hi")
    text = path.read_text()
    assert '"hi"' in text and "sk-should-never-be-written-1234" not in text


def test_a_log_cut_off_mid_tool_is_repaired_before_the_next_request(tmp_path: Path) -> None:
    from pygent.domain.messages import Message

    path = tmp_path / "h.jsonl"
    crashed = JsonlHistory(path)
    crashed.append(Message(role="user", content="run it"))
    crashed.append(calls(call("bash", {"cmd": "sleep 99"}, "c1"), call("stop", {}, "c2")))
    model = FakeModel([say("resumed")])
    agent = Agent(
        model=model, runtime=Runtime(sandbox=FakeSandbox(tmp_path)), history=JsonlHistory(path)
    )
    agent.step("go on")
    sent = model.requests[0]["messages"]
    assert [(m["role"], m.get("tool_call_id")) for m in sent[3:6]] == [
        ("tool", "c1"),
        ("tool", "c2"),
        ("user", None),
    ]
    assert "session ended" in sent[3]["content"]


def test_a_line_torn_by_a_crash_does_not_swallow_the_next_sessions_first_message(
    tmp_path: Path,
) -> None:
    from pygent.domain.messages import Message

    path = tmp_path / "h.jsonl"
    path.write_text('{"role": "user", "content": "before"}\n{"role": "assistant", "cont')
    warnings: list[str] = []
    history = JsonlHistory(path, warn=warnings.append)
    history.append(Message(role="user", content="next session"))
    history.close()
    loaded = JsonlHistory(path, warn=warnings.append).load()
    assert [m.content for m in loaded] == ["before", "next session"]
    assert any(":2: skipped a corrupt history line" in w for w in warnings)


def test_a_json_array_history_from_earlier_releases_is_resumed_and_stays_an_array(
    tmp_path: Path,
) -> None:
    import json

    path = tmp_path / "history.json"
    path.write_text(json.dumps([
        {"role": "user", "content": "make a.txt"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "bash", "arguments": '{"cmd": "touch a.txt"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": ""},
        {"role": "assistant", "content": "made it"},
    ], indent=2))
    model = FakeModel([say("still here")])
    agent = Agent(model=model, runtime=Runtime(sandbox=FakeSandbox(tmp_path)),
                  history=JsonlHistory(path))
    agent.step("and now?")
    assert [m["role"] for m in model.requests[0]["messages"][1:]] == [
        "user", "assistant", "tool", "assistant", "user"]
    records = json.loads(path.read_text())  # still one JSON array, never half lines
    assert [r.get("content") for r in records[-2:]] == ["and now?", "still here"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    agent.new_conversation()
    assert JsonlHistory(path).load() == []


def test_a_json_array_history_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from pygent.domain.errors import ConfigError

    path = tmp_path / "history.json"
    path.write_text('[{"role": "user", "content": "cut')
    with pytest.raises(ConfigError, match="history.json holds a JSON array that cannot be read"):
        JsonlHistory(path)
    assert path.read_text() == '[{"role": "user", "content": "cut'  # nothing lost
