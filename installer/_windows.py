"""Windows: .lnk shortcuts made by the Windows Script Host, and an .ico icon.

Files, all for the current user only (no administrator rights):

* ``%LOCALAPPDATA%\\sosdesk\\icons\\<app_id>.ico``: the icon, 16 to 256 pixels;
* ``<Desktop>\\<Company> Support.lnk``: runs ``<agent command> sos``; left out,
  with a note, when the desktop folder does not exist;
* ``%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\<Company> Support.lnk``:
  runs ``<agent command>`` (the tray) at login.

A .lnk holds a program (``TargetPath``) and one string of arguments: the
agent command's first item is the program, the rest (e.g. ``-P -m sosdesk.agent
--config C:\\...\\acme.json``) are joined by the Microsoft C runtime's quoting
rules (:func:`subprocess.list2cmdline`), which python.exe and a PyInstaller
executable use to split them again. (The shell may expand ``%NAME%`` of a
defined environment variable when it starts a shortcut; a path holding such
text is not passed literally, and there is no escape for it.)

Python cannot write a .lnk itself, so each is made by a small PowerShell
script. :func:`shortcut_script` writes that script (a pure function, checked
by the tests on Linux) and :func:`run_powershell` runs it; tests replace the
latter with a fake that writes the script where the .lnk would be.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import ntpath
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Sequence

from sosdesk.common.branding import Branding

from sosdesk.common import icons
from .artefacts import PLATFORM_ENV, Artefact, Plan, no_desktop_note, safe_filename, shortcut_name
from .errors import InstallerError

# The shell's known folders; they follow OneDrive and group-policy redirection,
# which %USERPROFILE%\Desktop does not.
_FOLDERID_DESKTOP = "B4BFCC3A-DB2C-424C-B029-7FE99A87C641"
_FOLDERID_STARTUP = "B97D20BB-F46A-4C97-BA10-5E3608430854"


@dataclasses.dataclass(frozen=True)
class Shortcut:
    """What a .lnk file says: the program it starts and how."""

    lnk: str
    target: str
    arguments: str
    working_dir: str
    icon: str
    description: str


def plan(branding: Branding, command: Sequence[str]) -> Plan:
    """The icon, the desktop SOS shortcut and the Startup tray shortcut that run *command*."""
    desktop = _known_folder(_FOLDERID_DESKTOP) or _env_folder("USERPROFILE") / "Desktop"
    startup = _known_folder(_FOLDERID_STARTUP) or (
        _env_folder("APPDATA") / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    )
    local = Path(os.environ["LOCALAPPDATA"]) if os.environ.get("LOCALAPPDATA") else (
        _env_folder("USERPROFILE") / "AppData" / "Local"
    )
    name = shortcut_name(branding)
    filename = f"{safe_filename(name, branding.app_id)}.lnk"
    icon_path = local / "sosdesk" / "icons" / f"{branding.app_id}.ico"
    icon_ico = io.BytesIO()
    icons.write_ico(branding, icon_ico)

    program, options = command[0], list(command[1:])

    def shortcut(lnk: Path, arguments: list[str], description: str) -> Shortcut:
        return Shortcut(lnk=str(lnk), target=program, arguments=subprocess.list2cmdline(arguments),
                        working_dir=ntpath.dirname(program),
                        icon=str(icon_path), description=description)

    tray = shortcut(startup / filename, options, f"{branding.company_name} support (tray)")
    artefacts = [
        Artefact(icon_path, "icon", icon_ico.getvalue()),
        Artefact(startup / filename, "autostart entry", shortcut_script(tray).encode("utf-8"),
                 make=_make_lnk),
    ]
    skipped = []
    if branding.create_shortcut:
        if not desktop.is_dir():
            skipped.append(no_desktop_note(desktop, name))
        else:
            sos = shortcut(desktop / filename, [*options, "sos"],
                           f"Start a remote support session with {branding.company_name}")
            artefacts.append(Artefact(desktop / filename, "desktop shortcut",
                                      shortcut_script(sos).encode("utf-8"), make=_make_lnk))
    return Plan(artefacts, skipped)


def shortcut_script(shortcut: Shortcut) -> str:
    """The PowerShell script that creates *shortcut* through WScript.Shell."""
    assignments = [
        ("TargetPath", shortcut.target),
        ("Arguments", shortcut.arguments),
        ("WorkingDirectory", shortcut.working_dir),
        ("IconLocation", f"{shortcut.icon},0"),
        ("Description", shortcut.description),
    ]
    lines = [
        "$ErrorActionPreference = 'Stop'",
        "$shell = New-Object -ComObject WScript.Shell",
        f"$shortcut = $shell.CreateShortcut({ps_quote(shortcut.lnk)})",
        *(f"$shortcut.{key} = {ps_quote(value)}" for key, value in assignments),
        "$shortcut.WindowStyle = 1",
        "$shortcut.Save()",
    ]
    return "\r\n".join(lines) + "\r\n"


def ps_quote(value: str) -> str:
    """*value* as a PowerShell single-quoted string literal.

    PowerShell also ends such strings at the typographic single quotes
    (U+2018 to U+201B), so each of those is doubled as well.
    """
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", value) + "'"


def run_powershell(script: str, creates: Path) -> None:
    """Run *script* in Windows PowerShell, which must create the file *creates*."""
    powershell = shutil.which("powershell.exe") or os.path.join(
        os.environ.get("SystemRoot", r"C:\Windows"), "System32", "WindowsPowerShell", "v1.0", "powershell.exe"
    )
    # -EncodedCommand (UTF-16LE, base64) passes non-ASCII names without any
    # command-line or console code-page quoting in between.
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    try:
        result = subprocess.run(
            [powershell, "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded],
            capture_output=True, text=True, errors="replace", timeout=60,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallerError(f"cannot run PowerShell to create {creates}: {exc}") from None
    if result.returncode != 0 or not os.path.isfile(creates):
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise InstallerError(f"PowerShell could not create {creates}: {detail}")


def _make_lnk(path: Path, script: bytes) -> None:
    # Looked up at call time so that tests can replace run_powershell.
    run_powershell(script.decode("utf-8"), creates=path)


def _env_folder(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value:
        raise InstallerError(f"%{variable}% is not set, so the user's folders cannot be found")
    return Path(value)


def _known_folder(folder_id: str) -> Path | None:
    """The shell's path for a known folder, or None when not on Windows.

    Not used when the platform is forced (tests): they point the folders at
    temporary ones through the environment, and must never touch the real desktop.
    """
    if sys.platform != "win32" or os.environ.get(PLATFORM_ENV):
        return None
    import ctypes

    guid = ctypes.create_string_buffer(uuid.UUID(folder_id).bytes_le, 16)
    found = ctypes.c_wchar_p()
    if ctypes.windll.shell32.SHGetKnownFolderPath(guid, 0, None, ctypes.byref(found)) != 0:
        return None
    try:
        return Path(found.value) if found.value else None
    finally:
        ctypes.windll.ole32.CoTaskMemFree(found)
