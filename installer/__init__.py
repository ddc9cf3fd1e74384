"""Puts the SOS shortcut and the tray autostart on a customer's machine, and removes them.

The agent calls :func:`install` on its first start and ``sos-agent uninstall``
calls :func:`uninstall`; both raise :class:`InstallerError` only, with a
message for the user, so the agent can catch it and keep running. The
shortcuts run the agent's command, as the agent starts itself::

    from sosdesk.common.launch import agent_command
    from sosdesk.installer import InstallerError, install
    try:
        install(branding, agent_command(branding, config, language))
    except InstallerError as exc:
        log.warning("no desktop shortcut: %s", exc)

One backend per OS (``_linux``, ``_windows``, ``_macos``) is chosen by
``sys.platform``; ``SOSDESK_INSTALLER_PLATFORM=linux|windows|macos`` forces one.
"""

from __future__ import annotations

import logging

from .api import (
    PLATFORM_ENV,
    Command,
    InstalledFile,
    Status,
    install,
    installed,
    platform_name,
    status,
    uninstall,
)
from .errors import ConflictError, InstallerError, UnsupportedPlatformError
from .manifest import CONFIG_DIR_ENV

__all__ = [
    "install",
    "uninstall",
    "status",
    "installed",
    "Command",
    "platform_name",
    "Status",
    "InstalledFile",
    "InstallerError",
    "ConflictError",
    "UnsupportedPlatformError",
    "PLATFORM_ENV",
    "CONFIG_DIR_ENV",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
