"""One line per order."""

from shop import calc


def describe(name: str, order: dict) -> str:
    """A line for the daily report."""
    return f"{name}: {calc(order):.2f}"
