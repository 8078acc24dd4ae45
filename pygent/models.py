"""``set_custom_model``: one model object that every ``Agent`` built afterwards talks to.

For a model of your own (see docs/custom-models.md) without passing it to each ``Agent``;
an agent given ``model=`` still uses that one.
"""

from __future__ import annotations

from typing import Optional

from .domain.ports import ModelPort

_custom: list[ModelPort] = []  # empty: the settings choose the model


def set_custom_model(model: Optional[ModelPort]) -> None:
    """Make every new agent use ``model``; ``None`` goes back to the model the settings name."""
    _custom[:] = [] if model is None else [model]


def custom_model() -> Optional[ModelPort]:
    """The model set with :func:`set_custom_model`, if any."""
    return _custom[0] if _custom else None
