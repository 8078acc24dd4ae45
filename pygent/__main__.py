"""``python -m pygent``: the same as the ``pygent`` command."""

import sys

from .entrypoints.cli import main

sys.exit(main())
