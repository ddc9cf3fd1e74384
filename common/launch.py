"""How the agent starts itself: the one answer for the tray's window, the SOS
shortcut and the autostart.

A personalized agent is one frozen executable that carries its branding, so
its command is just that file. An installed Python agent (``pip install``,
``make run``) is this Python with ``-m sosdesk.agent`` and the options that chose its
branding and language: nothing is looked up on ``PATH``, which in a plain venv
does not hold ``sos-agent`` at all.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from .branding import Branding

__all__ = ["agent_program", "agent_command"]


def agent_program() -> list[str]:
    """The program running this agent: the frozen executable, else this Python with ``-m sosdesk.agent``."""
    if getattr(sys, "frozen", False):
        return [os.path.abspath(sys.executable)]
    # -P: a shortcut starts in the user's home, where a folder named "agent"
    # must not shadow the installed package (Python 3.11+, as required).
    return [_windowless_python(), "-P", "-m", "sosdesk.agent"]


def agent_command(branding: Branding, config: str | os.PathLike[str] | None = None,
                  language: str | None = None, program: Sequence[str] | None = None) -> list[str]:
    """The command line that starts this agent with the same branding source and language.

    *config* is the ``--config`` given; it is passed on (as an absolute path)
    only when the branding came from it: an embedded or sidecar branding wins
    over ``--config`` and travels with the program anyway. *program* defaults
    to :func:`agent_program`; the installer's command line passes the agent it
    was given.
    """
    argv = list(program) if program is not None else agent_program()
    if config is not None and branding.source.startswith("config"):
        argv += ["--config", os.path.abspath(config)]
    if language:
        argv += ["--language", language]
    return argv


def _windowless_python() -> str:
    """This Python; on Windows its pythonw.exe twin, so a shortcut opens no console window."""
    python = os.path.abspath(sys.executable)  # not resolved: a venv's python must stay the venv's
    if sys.platform == "win32":
        folder, name = os.path.split(python)
        if name.lower() == "python.exe" and os.path.isfile(os.path.join(folder, "pythonw.exe")):
            return os.path.join(folder, "pythonw.exe")
    return python
