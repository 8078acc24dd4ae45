"""Small helpers for titles and labels."""


def shout(text: str) -> str:
    """The text in capitals with an exclamation mark."""
    return text.upper() + "!"
