"""What a platform backend hands the installer: the files to put in place.

A backend only *describes* files; writing, rolling back, the manifest and
uninstalling are done once for every OS by ``installer.api``.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Callable

from sosdesk.common.branding import Branding

__all__ = ["PLATFORM_ENV", "Artefact", "Plan", "shortcut_name", "safe_filename", "no_desktop_note"]

#: Forces a backend: linux, windows or macos (tests produce other OSes' files).
#: Here, not in ``installer.api``, because the backends read it too and api imports them.
PLATFORM_ENV = "SOSDESK_INSTALLER_PLATFORM"


@dataclasses.dataclass(frozen=True)
class Artefact:
    """One file the installer puts on the customer's machine."""

    path: Path
    #: What it is, in words for the user: "desktop shortcut", "icon", ...
    kind: str
    #: The file's bytes; for a file built by ``make``, what it is built from.
    data: bytes
    #: Give it execute permission (a Linux launcher, a macOS launcher script).
    executable: bool = False
    #: Builds the file at a path from ``data`` when Python cannot write it
    #: itself (a Windows .lnk through PowerShell); None writes ``data`` as-is.
    make: Callable[[Path, bytes], None] | None = None
    #: A best-effort step once the file is in place (mark a launcher trusted);
    #: its failure is logged, never raised, because the file already works.
    after: Callable[[Path], None] | None = None


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a backend would put in place, and what it leaves out and why."""

    artefacts: list[Artefact]
    #: One sentence each for the user, e.g. no desktop folder, so no desktop shortcut.
    skipped: list[str] = dataclasses.field(default_factory=list)


def no_desktop_note(desktop: Path, name: str) -> str:
    """Why the desktop shortcut was left out: its folder does not exist."""
    return (f"skipped the {name} desktop shortcut: the desktop folder {desktop} does not exist "
            "(create it and install again to add the shortcut)")


def shortcut_name(branding: Branding) -> str:
    """What the SOS shortcut is called: "ACME Support" for company "ACME"."""
    name = " ".join(branding.company_name.split())
    if re.search(r"\bsupport$", name, re.IGNORECASE):
        return name
    return f"{name} Support"


_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
#: Well below every file system's 255-byte limit, leaving room for a suffix.
_MAX_NAME_BYTES = 200


def safe_filename(name: str, fallback: str = "sosdesk") -> str:
    """*name* made valid as a file name on Windows, macOS and Linux alike.

    Drops the characters Windows forbids and trailing dots and spaces, avoids
    Windows' reserved device names, and keeps non-ASCII letters (NFC, as
    macOS and Windows users type them).
    """
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())  # tabs, newlines too
    cleaned = " ".join(_WINDOWS_FORBIDDEN.sub("", cleaned).split()).rstrip(" .")
    while len(cleaned.encode("utf-8")) > _MAX_NAME_BYTES:
        cleaned = cleaned[:-1].rstrip(" .")
    if not cleaned:
        return fallback
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED:
        cleaned = f"{cleaned}_"
    return cleaned
