"""Prices for the shop."""

PRICES = {"apple": 0.5, "bread": 2.25, "milk": 1.1}


def calc(order: dict) -> float:
    """The price of an order that maps item names to quantities."""
    return round(sum(PRICES[item] * count for item, count in order.items()), 2)
