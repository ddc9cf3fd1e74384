"""sosdesk's customer agent: SOS flow, QuickSupport window, tray icon.

The entry point is ``agent.cli.main`` (console script ``sos-agent``, or
``python -m sosdesk.agent``); see agent/cli.py for the commands and the headless
output format.
"""

from __future__ import annotations

import logging

from sosdesk.common import __version__

__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
