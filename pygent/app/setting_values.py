"""Reading one setting's value, from a file, the environment or a flag, into its type.

Raising ``TypeError`` or ``ValueError`` with a reason; the caller names the setting and source.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

from ..domain.persona import DEFAULT_DESCRIPTION, Persona

TOOL_PROTOCOLS = ("auto", "native", "text")
WORKSPACE_MODES = ("write", "read-only")
KEEP_CHOICES = ("ask", "always", "never")  # what leaving does with a temporary workspace


def coerce(name: str, value: Any, default: Any) -> Any:
    """``value`` as the setting ``name`` (whose default is ``default``) holds it."""
    if name == "deny":
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError("must be a list of command prefixes")
        return [str(rule) for rule in value]
    if name == "initial_files":
        if isinstance(value, str):
            return [path for path in value.split(os.pathsep) if path]
        if not isinstance(value, (list, tuple)):
            raise TypeError("must be a list of paths")
        return [str(path) for path in value]
    if name == "env":
        if not isinstance(value, dict):
            raise TypeError("must be a table of strings")
        return {str(k): str(v) for k, v in value.items()}
    if name in ("use_docker", "confine", "check_before_stop", "read_before_write", "ask_user",
                "task_tools", "example_task"):
        return parse_bool(value)
    if name == "task_personas":
        return parse_personas(value)
    if name in ("step_timeout", "task_timeout"):
        if value is None or str(value).strip() == "":
            return None
        return parse_seconds(value)
    if name in ("max_steps", "max_tokens", "text_reply_limit", "max_tasks", "max_requests"):
        if name in ("max_tokens", "max_requests") and (value is None or str(value).strip() == ""):
            return None
        if isinstance(value, bool) or int(value) < 1:
            raise ValueError(f"must be a whole number above 0, got {value!r}")
        return int(value)
    if name == "seed":
        if value is None or str(value).strip() == "":
            return None
        if isinstance(value, (bool, float)):
            raise ValueError(f"must be a whole number, got {value!r}")
        return int(value)
    if name == "temperature":
        return None if value is None or str(value).strip() == "" else parse_temperature(value)
    if name == "tool_protocol":
        return parse_choice(value, TOOL_PROTOCOLS)
    if name == "workspace_mode":
        return parse_choice(str(value).strip().lower().replace("_", "-"), WORKSPACE_MODES)
    if name == "keep_workspace":
        return parse_choice(value, KEEP_CHOICES)
    if isinstance(default, bool):
        return parse_bool(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        number = float(value)
        if not (number > 0 and math.isfinite(number)):
            raise ValueError("must be a positive number")
        return number
    return None if value is None else str(value)


def parse_seconds(value: Any) -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"must be a positive number of seconds, got {value!r}")
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"must be a positive number of seconds, got {value!r}")
    return number


def parse_personas(value: Any) -> list[Persona]:
    """Task personas from names (a path-separated string or a list) or {name, description}s."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(os.pathsep) if name.strip()]
    if not isinstance(value, (list, tuple)):
        raise TypeError("must be a list of names or of {name, description} tables")
    personas: list[Persona] = []
    for item in value:
        if isinstance(item, Persona):
            personas.append(item)
        elif isinstance(item, str) and item.strip():
            personas.append(Persona(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            unknown = sorted(set(item) - {"name", "description"})
            if unknown:
                raise ValueError(f"a persona has name and description only, not {unknown}")
            description = item.get("description") or DEFAULT_DESCRIPTION
            personas.append(Persona(item["name"].strip(), str(description)))
        else:
            raise ValueError(f"a persona needs a name, got {item!r}")
    names = [persona.name for persona in personas]
    if len(set(names)) != len(names):
        raise ValueError(f"persona names must differ, got {names}")
    return personas


def parse_choice(value: Any, choices: tuple[str, ...]) -> str:
    """One of ``choices``, read case-insensitively."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
    return text


def parse_temperature(value: Any) -> float:
    """A sampling temperature: a number from 0 to 2, the range OpenAI's API accepts."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number from 0 to 2, got {value!r}")
    number = float(value)
    if not 0 <= number <= 2:  # also false for NaN
        raise ValueError(f"must be a number from 0 to 2, got {value!r}")
    return number


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
