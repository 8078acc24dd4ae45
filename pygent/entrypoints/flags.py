"""The flags ``pygent`` and ``pygent-ui`` share, made from the settings marked ``flag``.

Each flag's help is its setting's ``doc`` and its value is read as the setting reads it, so a
setting, its flag and its documentation cannot drift apart. Standard library and settings only,
so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import Field, fields
from typing import Any, Callable

from ..app.setting_values import coerce
from ..app.settings import Settings

FLAGGED: list[Field[Any]] = [f for f in fields(Settings) if f.metadata.get("flag")]
PATHS = ("workspace", "local_model")  # made absolute against the folder the command runs in


def add_setting_flags(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """A flag per flagged setting, and ``--config``; unset, each is None (absent: ``suppress``)."""
    default: Any = argparse.SUPPRESS if suppress else None
    for f in FLAGGED:
        usages = f.metadata["flag"].split(" | ")
        group = parser.add_mutually_exclusive_group() if len(usages) > 1 else parser
        doc = f.metadata["doc"].replace("%", "%%")
        for index, usage in enumerate(usages):
            name, _, metavar = usage.partition(" ")
            text = f"The opposite of {usages[0]}." if index else doc
            if metavar or "choices" in f.metadata:
                group.add_argument(name, dest=f.name, metavar=metavar or None, type=reader(f),
                                   choices=f.metadata.get("choices"), default=default, help=text)
            else:
                group.add_argument(name, dest=f.name, action="store_const", const=not index,
                                   default=default, help=text)
    parser.add_argument("--config", metavar="FILE", default=default,
                        help="Your settings file, read instead of ~/.pygent.toml and "
                        "./pygent.toml.")


def reader(setting: Field[Any]) -> Callable[[str], Any]:
    """An argparse type: the flag's text read as the setting reads it, else a usage error."""

    def read(text: str) -> Any:
        try:
            value = coerce(setting.name, text, setting.default)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    return read


def setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags given set, with paths made absolute; flags not given are left out."""
    given: dict[str, Any] = {}
    for f in FLAGGED:
        value = getattr(args, f.name, None)
        if value is not None:
            given[f.name] = os.path.abspath(os.path.expanduser(value)) if f.name in PATHS else value
    return given
