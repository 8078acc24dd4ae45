"""An append-only JSONL log of the conversation: one line per message, flushed as it happens."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable, Optional

from ..domain.messages import Message

NEW_CONVERSATION = {"pygent": "new-conversation"}
REDACTED = "[redacted]"
#: Record fields that hold only fixed words ("assistant", "function"), never redacted.
STRUCTURE_FIELDS = frozenset({"role", "type"})
#: How many times a secret is JSON-escaped in its redacted forms: tool-call arguments are JSON,
#: and a command in them may hold JSON of its own.
ESCAPE_LEVELS = 3


def secret_forms(secret: str, levels: int = ESCAPE_LEVELS) -> set[str]:
    """``secret`` as it is and as it reads inside JSON strings, up to ``levels`` deep."""
    forms = {secret}
    layer = {secret}
    for _ in range(levels):
        layer = {json.dumps(form, ensure_ascii=only_ascii)[1:-1] for form in layer
                 for only_ascii in (False, True)}
        forms |= layer
    return forms


def secret_pattern(secrets: Iterable[str], whole_words_below: int = 0
                   ) -> Optional[re.Pattern[str]]:
    """One regular expression for every form of every secret, longest first; None for none.

    Forms shorter than ``whole_words_below`` match only as whole words, for text a person
    reads (an error line), where a short value would otherwise cut words apart.
    """
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    if not forms:
        return None
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(
        rf"(?<!\w){re.escape(form)}(?!\w)" if len(form) < whole_words_below else re.escape(form)
        for form in ordered))


class JsonlHistory:
    """Appends each message as one JSON line; a new conversation is a marker line."""

    def __init__(
        self,
        path: str | Path,
        secrets: Iterable[str] = (),
        warn: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._secrets = secret_pattern(secrets)
        self._warn = warn or (lambda text: None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def _redact(self, value: Any) -> Any:
        """``value`` with every secret replaced in each of its strings, before JSON encoding.

        One pass over each string, so a short secret cannot eat into an earlier ``[redacted]``.
        """
        if self._secrets is None:
            return value
        if isinstance(value, str):
            return self._secrets.sub(REDACTED, value)
        if isinstance(value, dict):
            return {key: item if key in STRUCTURE_FIELDS else self._redact(item)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self._redact(item) for item in value]
        return value

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def append(self, message: Message) -> None:
        """Write one message, secrets redacted, and flush it."""
        self._write(self._redact(message.to_record()))

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
