"""An append-only JSONL log of the conversation: one line per message, flushed as it happens."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Optional

from ..domain.messages import Message

NEW_CONVERSATION = {"pygent": "new-conversation"}
REDACTED = "[redacted]"


class JsonlHistory:
    """Appends each message as one JSON line; a new conversation is a marker line."""

    def __init__(
        self,
        path: str | Path,
        secrets: Iterable[str] = (),
        warn: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._warn = warn or (lambda text: None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(self._redact(json.dumps(record, ensure_ascii=False)) + "\n")
        self._file.flush()

    def append(self, message: Message) -> None:
        """Write one message and flush it."""
        self._write(message.to_record())

    def start_new(self) -> None:
        """Mark that a new conversation starts here."""
        self._write(dict(NEW_CONVERSATION))

    def load(self) -> list[Message]:
        """The messages after the last new-conversation marker; a corrupt line is skipped."""
        messages: list[Message] = []
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._warn(f"{self.path}:{number}: skipped a corrupt history line")
                continue
            if record == NEW_CONVERSATION:
                messages.clear()
                continue
            messages.append(Message.from_dict(record))
        return messages

    def close(self) -> None:
        """Close the file."""
        self._file.close()
