"""What a personalized agent's file is: the OS it runs on, and the names it goes by.

The builder names its output with these, the server names the copy it hands to a
customer (with the case's code in it, see ``code_in_name``), and the agent reads
that code back from its own file name. Standard library only: the server imports
this.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

__all__ = ["TARGET_OS", "detect_os", "quicksupport_stem", "file_name", "code_in_name"]

TARGET_OS = ("linux", "windows", "macos")

_MACH_O = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xcf",
           b"\xfe\xed\xfa\xce")
#: A session code in a file name, as the server writes it ("...-s12-345-678.exe"); a
#: browser's " (1)" for a second download of the same file may follow it.
_CODE_IN_NAME = re.compile(r"(?<![A-Za-z0-9])s([0-9]{2})-([0-9]{3})-([0-9]{3})(?![0-9])")


def detect_os(head: bytes) -> str | None:
    """The OS an executable is for, from its first bytes (None if not an executable)."""
    if head.startswith(b"MZ"):
        return "windows"
    if head.startswith(b"\x7fELF"):
        return "linux"
    if head[:4] in _MACH_O:
        return "macos"
    return None


def quicksupport_stem(company: str) -> str:
    """``ACME-QuickSupport`` for ``ACME``: ASCII letters and digits kept, case kept."""
    ascii_name = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    return "-".join(words)[:48].strip("-") + "-QuickSupport" if words else "QuickSupport"


def file_name(company: str, target_os: str, code: str | None = None) -> str:
    """The agent's file name: ``ACME-QuickSupport[-s12-345-678][.exe]`` (ASCII only)."""
    stem = quicksupport_stem(company) + (f"-{code}" if code else "")
    return stem + (".exe" if target_os == "windows" else "")


def code_in_name(path: str | PurePath) -> str | None:
    """The session code a file's name carries ("s12-345-678"), or None.

    The last one counts: a folder or company name cannot put one after it.
    """
    found = _CODE_IN_NAME.findall(PurePath(path).name)
    return "s{}-{}-{}".format(*found[-1]) if found else None
