"""An append-only JSONL log of the conversation: one line per message, flushed as it happens.

A file holding one JSON array of messages (what earlier releases wrote) is read and kept in
that form: each message then rewrites the array atomically, so no file is ever half of each.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable, Optional

from ..domain.errors import ConfigError
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
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a+", encoding="utf-8")
        self._array = self._read_array()  # None: the file is JSON lines
        size = os.fstat(fd).st_size
        if self._array is None and size and os.pread(fd, 1, size - 1) != b"\n":
            self._write_line("")  # a line torn by a crash ends here, not in the next record

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

    def _read_array(self) -> Optional[list[Any]]:
        """The records of a JSON-array history, or None when the file is not one."""
        self._file.seek(0)
        text = self._file.read()
        if not text.lstrip().startswith("["):
            return None
        try:
            records = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"{self.path} holds a JSON array that cannot be read ({exc}); "
                              "fix it or move it away") from None
        if not isinstance(records, list):
            raise ConfigError(f"{self.path} holds JSON that is not a list of messages")
        return records

    def _write(self, record: dict[str, object]) -> None:
        if self._array is None:
            self._write_line(json.dumps(record, ensure_ascii=False))
            return
        self._array.append(record)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        partial.unlink(missing_ok=True)  # a leftover, or a link planted there: not followed
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._array, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)

    def _write_line(self, line: str) -> None:
        self._file.write(line + "\n")
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
        if self._array is not None:
            for record in self._array:
                if record == NEW_CONVERSATION:
                    messages.clear()
                elif isinstance(record, dict):
                    messages.append(Message.from_dict(record))
            return messages
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
