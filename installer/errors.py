"""The installer's errors: one root, messages written for the customer."""

from __future__ import annotations

from pathlib import Path


class InstallerError(Exception):
    """Root of every error the installer raises; its message is for the user.

    The agent catches this one class and keeps running without the shortcut.
    """


class UnsupportedPlatformError(InstallerError):
    """No backend for this operating system (or a bad SOSDESK_INSTALLER_PLATFORM)."""


class ConflictError(InstallerError):
    """A file we would write exists and is not ours (the user's own, or changed)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        if len(self.paths) == 1:
            what = f"{self.paths[0]} already exists"
        else:
            what = "these files already exist: " + "; ".join(str(p) for p in self.paths)
        super().__init__(
            f"nothing installed: {what}, and the support agent did not put it there "
            "(or it was changed since). Rename or remove it, then try again."
        )
