"""``python -m sosdesk.builder``: the same as ``sos-builder``."""

import sys

from .cli import main

sys.exit(main())
