"""One typed Settings object from defaults, ``pygent.toml``, the environment and flags."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Optional

from ..domain.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

BACKENDS = ("auto", "openai", "direct", "echo")


@dataclass(frozen=True)
class Settings:
    """Every knob Pygent has; the environment wins over files, flags win over both."""

    backend: str = field(default="auto", metadata={"env": "PYGENT_MODEL_BACKEND",
        "doc": "Model backend: auto (openai when OPENAI_API_KEY or OPENAI_BASE_URL is set, "
               "else direct), "
               "openai, direct or echo."})
    model: str = field(default="gpt-4.1-mini", metadata={"env": "PYGENT_MODEL",
        "doc": "Model name sent to the OpenAI-compatible server."})
    base_url: Optional[str] = field(default=None, metadata={"env": "OPENAI_BASE_URL",
        "doc": "Base URL of an OpenAI-compatible server."})
    request_timeout: float = field(default=120.0, metadata={"env": "PYGENT_REQUEST_TIMEOUT",
        "doc": "Seconds to wait for one model reply."})
    max_retries: int = field(default=2, metadata={"env": "PYGENT_MAX_RETRIES",
        "doc": "Retries (with backoff) for connection errors, 429 and 5xx replies."})
    stream: bool = field(default=True, metadata={"env": "PYGENT_STREAM",
        "doc": "Stream model replies, so text shows as it arrives (0 to wait for whole replies)."})
    tool_choice: Optional[str] = field(default=None, metadata={"env": "PYGENT_TOOL_CHOICE",
        "doc": "tool_choice sent with tools: auto, required, none, or a tool name to force; "
               "unset leaves it to the server (auto)."})
    use_docker: Optional[bool] = field(default=None, metadata={"env": "PYGENT_USE_DOCKER",
        "doc": "Run commands in Docker (1), locally (0), or Docker when available (unset)."})
    image: str = field(default="python:3.12-slim", metadata={"env": "PYGENT_IMAGE",
        "doc": "Docker image for the sandbox."})
    docker_network: str = field(default="none", metadata={"env": "PYGENT_DOCKER_NETWORK",
        "doc": "Docker network the sandbox joins: none (no network) or e.g. bridge to opt in."})
    docker_memory: str = field(default="2g", metadata={"env": "PYGENT_DOCKER_MEMORY",
        "doc": "Memory limit of the sandbox container (e.g. 512m, 2g); no swap beyond it."})
    docker_cpus: float = field(default=2.0, metadata={"env": "PYGENT_DOCKER_CPUS",
        "doc": "CPUs the sandbox container may use."})
    docker_pids: int = field(default=512, metadata={"env": "PYGENT_DOCKER_PIDS",
        "doc": "Most processes alive at once in the sandbox container (bounds fork bombs)."})
    workspace: Optional[str] = field(default=None, metadata={"env": "PYGENT_WORKSPACE",
        "doc": "Workspace folder to keep; a fresh temporary one is used when unset."})
    command_timeout: float = field(default=600.0, metadata={"env": "PYGENT_COMMAND_TIMEOUT",
        "doc": "Seconds before a command is killed."})
    output_limit: int = field(default=65536, metadata={"env": "PYGENT_OUTPUT_LIMIT",
        "doc": "Bytes of command output the model sees (head and tail kept)."})
    persona_name: str = field(default="Pygent", metadata={"env": "PYGENT_PERSONA_NAME",
        "doc": "The agent's name, shown in the banner and the system prompt."})
    persona: Optional[str] = field(default=None, metadata={"env": "PYGENT_PERSONA",
        "doc": "One-line description of the agent for the system prompt."})
    history_file: Optional[str] = field(default=None, metadata={"env": "PYGENT_HISTORY_FILE",
        "doc": "JSONL file the conversation is appended to and resumed from."})
    max_steps: int = field(default=20, metadata={"env": "PYGENT_MAX_STEPS",
        "doc": "Most model steps per task before the run stops."})
    max_tokens: Optional[int] = field(default=None, metadata={"env": "PYGENT_MAX_TOKENS",
        "doc": "Most prompt plus completion tokens per task (as the server counts them) "
               "before the run stops; unset means no limit."})
    recover_text_tool_calls: bool = field(default=True, metadata={
        "env": "PYGENT_RECOVER_TOOL_CALLS",
        "doc": "Treat tool calls a model writes as text (JSON, <tool_call>) as real calls."})
    confirm: bool = field(default=False, metadata={"env": "PYGENT_CONFIRM",
        "doc": "Ask before each bash command the model runs (--confirm, /confirm on|off)."})
    deny: list[str] = field(default_factory=list, metadata={"env": None,
        "doc": "Command prefixes never run, matched on the parsed words of every part of a "
               'command (pygent.toml: deny = ["git push", "rm -rf /"]).'})
    env: dict[str, str] = field(default_factory=dict, metadata={"env": None,
        "doc": "Extra environment variables for sandboxed commands (pygent.toml [env] table)."})

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-``None`` values replaced (how flags are applied)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(
    config_file: Optional[str] = None,
    environ: Optional[dict[str, str]] = None,
    cwd: Optional[Path] = None,
) -> Settings:
    """Read ``pygent.toml`` (explicit, ./pygent.toml, then ~/.pygent.toml) and the environment."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    path = _find_config(config_file, cwd or Path.cwd(), environ)
    if path is not None:
        values.update(_read_toml(path))
    for f in fields(Settings):
        var = f.metadata.get("env")
        if var and environ.get(var, "") != "":
            values[f.name] = environ[var]
    return _validated(values, path)


def _find_config(explicit: Optional[str], cwd: Path, environ: dict[str, str]) -> Optional[Path]:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return path
    home = Path(environ.get("HOME") or Path.home())
    for candidate in (cwd / "pygent.toml", home / ".pygent.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {unknown}; known: {sorted(known)}")
    return data


def _validated(values: dict[str, Any], source: Optional[Path]) -> Settings:
    kinds = {f.name: f for f in fields(Settings)}
    clean: dict[str, Any] = {}
    for name, value in values.items():
        default = kinds[name].default
        try:
            clean[name] = _coerce(name, value, default)
        except (TypeError, ValueError) as exc:
            where = f" (from {source})" if source else ""
            raise ConfigError(f"setting {name}{where}: {exc}") from exc
    settings = Settings(**clean)
    if settings.backend not in BACKENDS:
        raise ConfigError(
            f"PYGENT_MODEL_BACKEND / backend is {settings.backend!r}; "
            f"allowed: {', '.join(BACKENDS)}"
        )
    return settings


def _coerce(name: str, value: Any, default: Any) -> Any:
    if name == "deny":
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError("must be a list of command prefixes")
        return [str(rule) for rule in value]
    if name == "env":
        if not isinstance(value, dict):
            raise TypeError("must be a table of strings")
        return {str(k): str(v) for k, v in value.items()}
    if name == "use_docker":
        return parse_bool(value)
    if name == "max_tokens":
        if value is None or str(value).strip() == "":
            return None
        if isinstance(value, bool) or int(value) < 1:
            raise ValueError(f"must be a whole number above 0, got {value!r}")
        return int(value)
    if isinstance(default, bool):
        return parse_bool(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        number = float(value)
        if number <= 0:
            raise ValueError("must be positive")
        return number
    return None if value is None else str(value)


def parse_bool(value: Any) -> Optional[bool]:
    """Read yes/no words; ``auto`` or empty means unset."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text in ("", "auto"):
        return None
    raise ValueError(f"expected 1/0, true/false, yes/no or auto, got {value!r}")
