"""The first start: the SOS desktop shortcut and the tray autostart, installed once.

The ``installer`` package does the per-OS work; the agent works without it
(not bundled, an older version, a folder it may not write), so every failure
here is logged and the agent carries on.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Sequence

from sosdesk.common.branding import Branding

from .errors import AgentError
from .storage import State

__all__ = ["FIRST_START_DONE", "first_start", "load_installer", "repoint"]

log = logging.getLogger(__name__)

FIRST_START_DONE = "first_start_done"


def load_installer() -> Any:
    """The installer package (raises ImportError when it is not there)."""
    return importlib.import_module("sosdesk.installer")


def first_start(branding: Branding, state: State, command: Sequence[str]) -> bool:
    """Install shortcut and autostart unless done before; whether it ran and worked.

    The shortcut and autostart run *command*, how this agent starts itself
    (``sosdesk.common.launch.agent_command``).

    Recorded only after success, so a missing installer is tried again next
    time, while a shortcut the customer deleted on purpose never comes back.
    """
    if state.get(FIRST_START_DONE):
        return False
    try:
        installer = load_installer()
    except ImportError as exc:  # not bundled: nothing to warn about
        log.info("the installer is not available: %s", exc)
        return False
    try:
        status = installer.install(branding, list(command))
    except Exception as exc:  # InstallerError, OSError, an older or broken installer: never stop an SOS
        log.warning("could not install the SOS shortcut and autostart: %s", exc)
        return False
    log.info("installed the SOS shortcut and the autostart")
    for note in getattr(status, "notes", ()):
        log.info("%s", note)
    try:
        state.set(FIRST_START_DONE, True)
    except AgentError as exc:  # e.g. the config folder is read-only: carry on all the same
        log.warning("installed the SOS shortcut and autostart, but could not record it: %s", exc)
        return False
    return True


def repoint(branding: Branding, command: Sequence[str]) -> bool:
    """Point the shortcut and autostart installed before at *command*, if they run another one.

    For a new installed copy of the agent (agent.unpacked) where no stable path
    names it (Windows). Nothing is installed where nothing was; whether it ran
    and worked.
    """
    try:
        installer = load_installer()
        status = installer.status(branding)
        if not status.installed or status.command == tuple(command):
            return False
        installer.install(branding, list(command))
    except Exception as exc:  # never stop an SOS
        log.warning("could not point the SOS shortcut at the new agent: %s", exc)
        return False
    return True
