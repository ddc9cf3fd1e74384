"""Copy a text to the clipboard without a window of our own (for the tray)."""

from __future__ import annotations

import shutil
import subprocess
import sys

__all__ = ["copy"]


def _commands_windows() -> list[list[str]]:
    return [["clip"]]


def _commands_macos() -> list[list[str]]:
    return [["pbcopy"]]


def _commands_linux() -> list[list[str]]:
    return [["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]


def _commands() -> list[list[str]]:
    if sys.platform == "win32":
        return _commands_windows()
    if sys.platform == "darwin":
        return _commands_macos()
    return _commands_linux()


def copy(text: str) -> bool:
    """Put *text* on the clipboard; whether a clipboard tool took it."""
    for command in _commands():
        if shutil.which(command[0]) is None:
            continue
        try:
            subprocess.run(command, input=text.encode("utf-16-le" if command == ["clip"] else "utf-8"),
                           check=True, timeout=5, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return True
        except (OSError, subprocess.SubprocessError):
            continue
    return False
