"""``python -m sosdesk.installer``: see installer.cli."""

import sys

from .cli import main

sys.exit(main())
