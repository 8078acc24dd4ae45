"""``python -m pygent``: the same as the ``pygent`` command."""

import sys

from .entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
