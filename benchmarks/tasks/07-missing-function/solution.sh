#!/usr/bin/env bash
cat >> textutils.py <<'PY'


def slugify(text: str) -> str:
    """A URL-friendly form of the text."""
    words = "".join(c for c in text.lower() if c.isalnum() or c.isspace()).split()
    return "-".join(words)
PY
