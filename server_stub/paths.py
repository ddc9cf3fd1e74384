"""Where the server keeps its database by default: the user's data folder.

Small named functions per OS (the same places platformdirs uses), because the
server depends on the standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _data_root_windows() -> Path:
    return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")


def _data_root_macos() -> Path:
    return Path.home() / "Library" / "Application Support"


def _data_root_linux() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def data_root() -> Path:
    """The per-user data folder of this OS."""
    if sys.platform == "win32":
        return _data_root_windows()
    if sys.platform == "darwin":
        return _data_root_macos()
    return _data_root_linux()


def default_db_path() -> Path:
    """<user data folder>/sosdesk/sosdesk.db"""
    return data_root() / "sosdesk" / "sosdesk.db"
