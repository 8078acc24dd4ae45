"""Split a list of items into pages for display."""


def page_count(total: int, per_page: int) -> int:
    """How many pages are needed to show `total` items, `per_page` at a time."""
    return total // per_page


def page(items: list, number: int, per_page: int) -> list:
    """The items on page `number` (counting from 1)."""
    start = (number - 1) * per_page
    return items[start:start + per_page]
