"""The builder's cache folder: where the base agent, the re-encoded logos and the icons are kept."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

CACHE_ENV = "SOSDESK_BUILDER_CACHE"


def cache_root() -> Path:
    """The builder's cache folder: $SOSDESK_BUILDER_CACHE, else the user's cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_cache_dir("sosdesk"))
