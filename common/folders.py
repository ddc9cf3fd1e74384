"""The user's sosdesk config folder, shared by the agent (its state and secrets)
and the installer (its records of what it put where).

Needs platformdirs, unlike the rest of ``sosdesk.common``: only the clients
import this module, never the server.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CONFIG_DIR_ENV", "config_dir"]

#: Overrides the config folder (tests point it at a temporary folder).
CONFIG_DIR_ENV = "SOSDESK_CONFIG_DIR"


def config_dir() -> Path:
    """The user's sosdesk config folder: $SOSDESK_CONFIG_DIR, else platformdirs'."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("sosdesk"))
