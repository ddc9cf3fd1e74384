"""Linux and other XDG desktops: desktop entries and a PNG icon.

Files, all for the current user only:

* ``$XDG_DATA_HOME/icons/hicolor/256x256/apps/sosdesk-<app_id>.png``: the icon;
* ``$XDG_DATA_HOME/applications/sosdesk-<app_id>.desktop``: the SOS menu entry;
* ``<XDG desktop folder>/<Company> Support.desktop``: the SOS launcher, executable
  and marked trusted so that a click starts it (GNOME, KDE, XFCE); left out,
  with a note, when that folder does not exist;
* ``$XDG_CONFIG_HOME/autostart/sosdesk-<app_id>-tray.desktop``: the tray at login.

Where the agent's Python has no GTK or AppIndicator bindings (python3-gi), pystray
falls back to a bare X11 icon without a menu: the install says so in a note, with
what to install (the agent then opens its window for an open request instead).

Each entry runs the agent's whole command (program and options, e.g.
``python -P -m sosdesk.agent --config /abs/acme.json``) plus ``sos`` for the SOS
entries. Exec lines follow the Desktop Entry Specification's quoting rules, so
arguments with spaces, quotes, ``$`` or ``%`` work.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from sosdesk.common.branding import Branding

from sosdesk.common import icons
from .artefacts import Artefact, Plan, no_desktop_note, safe_filename, shortcut_name
from .errors import InstallerError

log = logging.getLogger(__name__)

ICON_SIZE = 256
#: Characters that force an Exec argument into double quotes (spec, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
#: Characters that must be backslash-escaped inside such double quotes.
_QUOTED_ESCAPES = re.compile(r'(["`$\\])')


def plan(branding: Branding, command: Sequence[str]) -> Plan:
    """The icon, menu entry, desktop launcher and autostart entry that run *command*."""
    if not os.access(command[0], os.X_OK):
        raise InstallerError(f"the agent program {command[0]} is not executable")
    home = _home()
    data_home = _xdg_base("XDG_DATA_HOME", home / ".local" / "share")
    config_home = _xdg_base("XDG_CONFIG_HOME", home / ".config")
    name = shortcut_name(branding)
    stem = f"sosdesk-{branding.app_id}"

    icon_path = data_home / "icons" / "hicolor" / f"{ICON_SIZE}x{ICON_SIZE}" / "apps" / f"{stem}.png"
    icon_png = io.BytesIO()
    icons.write_png(branding, icon_png, ICON_SIZE)
    sos_entry = desktop_entry(
        name=name,
        comment=f"Start a remote support session with {branding.company_name}",
        comment_de=f"Fernwartung durch {branding.company_name} starten",
        argv=launch_argv(command, "sos"),
        icon=str(icon_path),
    )
    tray_entry = desktop_entry(
        name=f"{name} (tray)",
        comment=f"Shows the {branding.company_name} support icon in the tray",
        comment_de=f"Zeigt das {branding.company_name}-Support-Symbol im Infobereich",
        argv=launch_argv(command),
        icon=str(icon_path),
        autostart=True,
    )
    artefacts = [
        Artefact(icon_path, "icon", icon_png.getvalue()),
        Artefact(data_home / "applications" / f"{stem}.desktop", "menu entry", sos_entry),
        Artefact(config_home / "autostart" / f"{stem}-tray.desktop", "autostart entry", tray_entry),
    ]
    skipped = [note for note in (tray_menu_note(),) if note]
    if branding.create_shortcut:
        desktop = desktop_dir(home, config_home)
        if desktop == home:  # how xdg-user-dirs says "no desktop"
            log.info("the desktop is turned off (XDG_DESKTOP_DIR is $HOME); no desktop launcher")
        elif not desktop.is_dir():
            skipped.append(no_desktop_note(desktop, name))
        else:
            artefacts.append(Artefact(
                desktop / f"{safe_filename(name, branding.app_id)}.desktop", "desktop shortcut",
                sos_entry, executable=True, after=mark_trusted,
            ))
    return Plan(artefacts, skipped)


def tray_menu_note() -> str | None:
    """Why the tray icon will have no menu on this desktop, if it will not (pystray's xorg backend)."""
    backend = os.environ.get("PYSTRAY_BACKEND")  # pystray's own override, as the agent would see it
    if backend not in (None, "", "xorg") or (not backend and importlib.util.find_spec("gi") is not None):
        return None
    return ("the tray icon will have no menu on this desktop: this Python has no GTK or AppIndicator "
            "bindings (python3-gi), so an open request opens the support window instead. For the menu, "
            "install python3-gi and gir1.2-ayatanaappindicator3-0.1 (Debian, Ubuntu) and run the agent "
            "with a Python that sees them (a venv made with --system-site-packages)")


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _xdg_base(variable: str, default: Path) -> Path:
    """An XDG base folder; the spec says to ignore a relative value."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else default


def desktop_dir(home: Path, config_home: Path) -> Path:
    """The user's desktop folder from ``user-dirs.dirs`` (it is "Schreibtisch" in German)."""
    found = None
    try:
        text = (config_home / "user-dirs.dirs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        # The file's only format: XDG_DESKTOP_DIR="$HOME/yyy" or ="/yyy", shell-escaped.
        match = re.fullmatch(r'\s*XDG_DESKTOP_DIR\s*=\s*"(.*)"\s*', line)
        if match:
            value = re.sub(r"\\(.)", r"\1", match.group(1))
            if value == "$HOME" or value.startswith("$HOME/"):
                found = home / value[len("$HOME/"):]
            elif value.startswith("/"):
                found = Path(value)
    if found is None and os.path.isabs(os.environ.get("XDG_DESKTOP_DIR", "")):
        found = Path(os.environ["XDG_DESKTOP_DIR"])
    return found or home / "Desktop"


def desktop_entry(name: str, comment: str, comment_de: str, argv: list[str], icon: str,
                  autostart: bool = False) -> bytes:
    """A Desktop Entry file (spec 1.4) that runs *argv*, as UTF-8 bytes."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={escape_value(name)}",
        f"Comment={escape_value(comment)}",
        f"Comment[de]={escape_value(comment_de)}",
        f"Exec={escape_value(exec_line(argv))}",
        f"Icon={escape_value(icon)}",
        "Terminal=false",
        "StartupNotify=false",
    ]
    if autostart:
        lines += ["X-GNOME-Autostart-enabled=true"]
    else:
        lines += ["Categories=Network;RemoteAccess;"]
    try:
        return ("\n".join(lines) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # Desktop entries are UTF-8 only; a path in another encoding cannot be named.
        bad = next((a for a in (*argv, icon) if not _is_utf8(a)), argv[0])
        raise InstallerError(
            f"the path {bad!r} is not valid UTF-8 and cannot be used in a shortcut") from None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def launch_argv(command: Sequence[str], *args: str) -> list[str]:
    """The command line that runs *command* with *args* from a desktop entry."""
    if "%" in command[0]:
        # GLib (GNOME) looks the program up before turning %% back into %, so
        # it rejects such an entry; a shell in front keeps the path an argument.
        return ["/bin/sh", "-c", 'exec "$0" "$@"', *command, *args]
    return [*command, *args]


def exec_line(argv: list[str]) -> str:
    """*argv* as an Exec value before the general string escaping (spec, "The Exec key")."""
    return " ".join(_exec_argument(arg) for arg in argv)


def _exec_argument(arg: str) -> str:
    if arg and not _RESERVED.intersection(arg):
        quoted = arg
    else:
        quoted = '"' + _QUOTED_ESCAPES.sub(r"\\\1", arg) + '"'
    return quoted.replace("%", "%%")  # a lone % would start a field code


def escape_value(value: str) -> str:
    """*value* with the spec's string escapes (backslash, newline, tab, CR, leading space)."""
    escaped = (value.replace("\\", "\\\\").replace("\n", "\\n")
               .replace("\t", "\\t").replace("\r", "\\r"))
    if escaped.startswith(" "):
        escaped = "\\s" + escaped[1:]
    return escaped


def mark_trusted(path: Path) -> None:
    """Tell the file manager the launcher may run on a click; best effort.

    GNOME reads ``metadata::trusted``, XFCE (4.18+) a checksum of the file; both
    need gio and a running session, so failure is expected on servers and ignored.
    """
    gio = shutil.which("gio")
    if gio is None:
        return
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    for attribute, value in (("metadata::trusted", "true"), ("metadata::xfce-exe-checksum", checksum)):
        try:
            subprocess.run([gio, "set", "-t", "string", str(path), attribute, value],
                           capture_output=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return
