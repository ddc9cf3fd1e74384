"""macOS: a tiny app bundle on the Desktop and a LaunchAgent for the tray.

Files, all for the current user only:

* ``~/Desktop/<Company> Support.app``, a bundle of three files:
  ``Contents/Info.plist``, ``Contents/MacOS/sos`` (a shell script that runs
  ``<agent command> sos``) and ``Contents/Resources/<app_id>.icns`` (the icon);
  left out, with a note, when there is no Desktop folder;
* ``~/Library/LaunchAgents/com.sosdesk.<app_id>.tray.plist``: starts
  ``<agent command>`` (the tray) at login, each argument its own
  ``ProgramArguments`` item (no shell, so no quoting).

A bundle rather than a ``.command`` file, because a ``.command`` opens a
Terminal window that stays open, while a bundle starts like any app, with the
brand icon. The bundle is written locally, so it carries no quarantine flag
and Gatekeeper lets it run.
"""

from __future__ import annotations

import io
import os
import plistlib
import shlex
from pathlib import Path
from typing import Sequence

from sosdesk.common.branding import Branding

from sosdesk.common import icons
from .artefacts import Artefact, Plan, no_desktop_note, safe_filename, shortcut_name
from .errors import InstallerError

LAUNCHER = "sos"


def plan(branding: Branding, command: Sequence[str]) -> Plan:
    """The tray's LaunchAgent and, if wanted, the Desktop SOS app bundle; both run *command*."""
    if not os.access(command[0], os.X_OK):
        raise InstallerError(f"the agent program {command[0]} is not executable")
    home = Path(os.environ.get("HOME") or Path.home())
    label = f"com.sosdesk.{branding.app_id}.tray"
    artefacts = [
        Artefact(home / "Library" / "LaunchAgents" / f"{label}.plist", "autostart entry",
                 launch_agent_plist(label, list(command))),
    ]
    desktop = home / "Desktop"
    name = shortcut_name(branding)
    if branding.create_shortcut and not desktop.is_dir():
        return Plan(artefacts, [no_desktop_note(desktop, name)])
    if branding.create_shortcut:
        contents = desktop / f"{safe_filename(name, branding.app_id)}.app" / "Contents"
        icon_file = f"{branding.app_id}.icns" if icons.can_write_icns() else None
        artefacts += [
            Artefact(contents / "Info.plist", "desktop shortcut (app info)",
                     bundle_info_plist(branding, name, icon_file)),
            Artefact(contents / "MacOS" / LAUNCHER, "desktop shortcut (launcher script)",
                     launcher_script([*command, "sos"]), executable=True),
        ]
        if icon_file is not None:
            icns = io.BytesIO()
            icons.write_icns(branding, icns)
            artefacts.append(Artefact(contents / "Resources" / icon_file, "icon", icns.getvalue()))
    return Plan(artefacts)


def launch_agent_plist(label: str, argv: list[str]) -> bytes:
    """A LaunchAgent that runs *argv* once at login, in the user's GUI session."""
    return plistlib.dumps({
        "Label": label,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }, sort_keys=True)


def bundle_info_plist(branding: Branding, name: str, icon_file: str | None) -> bytes:
    """The Info.plist of the SOS app bundle."""
    info = {
        "CFBundleDevelopmentRegion": "en",
        "CFBundleDisplayName": name,
        "CFBundleExecutable": LAUNCHER,
        "CFBundleIdentifier": f"com.sosdesk.{branding.app_id}.sos",
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleName": name,
        "CFBundlePackageType": "APPL",
        "CFBundleShortVersionString": "1.0",
        "CFBundleVersion": "1",
        "NSHighResolutionCapable": True,
    }
    if icon_file is not None:
        info["CFBundleIconFile"] = icon_file
    return plistlib.dumps(info, sort_keys=True)


def launcher_script(argv: list[str]) -> bytes:
    """A POSIX shell script that replaces itself with *argv*."""
    command = " ".join(shlex.quote(arg) for arg in argv)
    return (
        "#!/bin/sh\n"
        "# Written by the sosdesk installer: the SOS shortcut starts the support agent.\n"
        f"exec {command}\n"
    ).encode("utf-8")
