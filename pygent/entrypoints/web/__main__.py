"""``python -m pygent.entrypoints.web``: the same as ``pygent-ui``."""

import sys

from . import main

sys.exit(main())
