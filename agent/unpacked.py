"""The installed copy: the one-file agent unpacks itself once per user, later starts run the copy.

A PyInstaller one-file executable unpacks its libraries (libpython, Pillow,
Tcl/Tk, ...) into a temporary folder on every start, and removes them when it
ends: most of a second per SOS click. So on its first start the downloaded
agent installs an unpacked copy of itself for this user, and the SOS shortcut
and the tray autostart run that copy, which unpacks nothing:

* ``_internal/`` holds what the one-file agent unpacked (``sys._MEIPASS``);
* the program beside it is the same executable whose archive keeps only what
  is never unpacked (the bootstrap modules, the scripts, the Python modules'
  archive, the options). PyInstaller's bootloader finds nothing to unpack in
  it and runs from its folder, as a one-folder build does. The branding stamp
  (and anything appended after it) goes along unchanged.

Layout, per company (app id), in the user's data folder::

    <data>/sosdesk/agent/<app id>/<key>/sosdesk-agent       key: the downloaded file's hash
                                 /<key>/_internal/...
                                 /<key>/installed.json     version, and which file it came from
                                 /current -> <key>         (POSIX; the shortcuts run current/...)

A newer or different agent started later installs its own copy and moves
``current`` to it; the copy before stays (a tray may still run it) and older
ones are removed. An older version never replaces a newer copy. Windows has
no symlink for a normal user: the shortcuts there run ``<key>/sosdesk-agent.exe``
and are pointed at a new copy when it is installed. ``sos-agent uninstall``
removes the copies with the shortcuts.

The archive format (cookie and table of contents) is PyInstaller's CArchive,
read and written here with ``struct``: the frozen agent has no PyInstaller.
tests/test_agent_unpacked.py checks it against PyInstaller's own reader, and
tests/test_builder_e2e.py runs a real installed copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import secrets
import shutil
import struct
import sys
import time
from pathlib import Path

import platformdirs

from sosdesk.common import __version__

__all__ = ["COOKIE_MAGIC", "ArchiveEntry", "InstallError", "Installed", "running_onefile",
           "read_archive", "onedir_program", "agents_root", "ensure_installed", "remove_installed",
           "program_name", "stable_program"]

log = logging.getLogger(__name__)

COOKIE_MAGIC = b"MEI\014\013\012\013\016"
_COOKIE = struct.Struct("!8sIIII64s")
_TOC_ENTRY = struct.Struct("!IIIIBc")
#: Entries the bootloader unpacks in one-file mode (binaries, data, zip files, symlinks, ...);
#: the installed program keeps every other kind.
_UNPACKED_KINDS = frozenset(b"bxZlnd")
_CONTENTS_OPTION = "pyi-contents-directory "
MARKER = "installed.json"
CURRENT = "current"


class InstallError(Exception):
    """The installed copy could not be made (the agent runs on without it)."""


@dataclasses.dataclass(frozen=True)
class ArchiveEntry:
    """One entry of the archive's table of contents."""

    offset: int  # from the archive's start
    stored: int  # bytes in the file (compressed or not)
    size: int  # bytes once unpacked
    compressed: int
    kind: bytes  # PyInstaller's type code, one byte
    name: str
    raw: bytes  # the entry as the table of contents holds it


@dataclasses.dataclass(frozen=True)
class Archive:
    """Where the archive lies in the executable, and its table of contents."""

    start: int  # file offset of the archive (the bootloader before it)
    toc_offset: int  # from the archive's start
    cookie_at: int  # file offset of the cookie
    python_version: int
    python_library: bytes
    entries: tuple[ArchiveEntry, ...]

    @property
    def contents_directory(self) -> str:
        """The folder beside the program that holds the unpacked files ('' for the program's own)."""
        for entry in self.entries:
            if entry.kind == b"o" and entry.name.startswith(_CONTENTS_OPTION):
                value = entry.name[len(_CONTENTS_OPTION):]
                return "" if value == "." else value
        return ""


@dataclasses.dataclass(frozen=True)
class Installed:
    """An installed copy: its folder and the program the shortcuts run."""

    folder: Path
    program: Path
    made: bool  # installed by this call (False: it was there)


def running_onefile() -> bool:
    """Whether this is a frozen one-file agent (unpacked to a temporary folder for this run)."""
    meipass = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or not meipass:
        return False
    # One-folder (the installed copy): the files are in the program's folder, or in its
    # contents folder right below it. A one-file run's are in a new "_MEI..." folder of
    # the temporary folder, which may be the program's own (an agent run from /tmp).
    home = Path(sys.executable).resolve().parent
    unpacked = Path(meipass).resolve()
    one_folder = unpacked == home or (unpacked.parent == home
                                      and not unpacked.name.startswith("_MEI"))
    return not one_folder


def read_archive(data: bytes) -> Archive:
    """The PyInstaller archive in executable *data*; raises InstallError if there is none."""
    cookie_at = data.rfind(COOKIE_MAGIC)
    while cookie_at >= 0:
        if cookie_at + _COOKIE.size <= len(data):
            magic, length, toc_offset, toc_length, python, library = _COOKIE.unpack_from(data, cookie_at)
            start = cookie_at + _COOKIE.size - length
            if start >= 0 and toc_offset + toc_length + _COOKIE.size == length:
                return Archive(start, toc_offset, cookie_at, python, library,
                               _entries(data[start + toc_offset:start + toc_offset + toc_length]))
        cookie_at = data.rfind(COOKIE_MAGIC, 0, cookie_at)
    raise InstallError("this program holds no PyInstaller archive")


def _entries(toc: bytes) -> tuple[ArchiveEntry, ...]:
    entries, at = [], 0
    while at < len(toc):
        length, offset, stored, size, compressed, kind = _TOC_ENTRY.unpack_from(toc, at)
        if length < _TOC_ENTRY.size or at + length > len(toc):
            raise InstallError("the archive's table of contents is damaged")
        name = toc[at + _TOC_ENTRY.size:at + length].rstrip(b"\0").decode("utf-8")
        entries.append(ArchiveEntry(offset, stored, size, compressed, kind, name, toc[at:at + length]))
        at += length
    return tuple(entries)


def onedir_program(data: bytes) -> tuple[bytes, str]:
    """(the one-folder program made of one-file executable *data*, its contents folder name).

    The bootloader, then the entries that are not unpacked (their bytes as they
    were, at new offsets), their table of contents and a new cookie, then
    whatever followed the old cookie (the branding stamp, a signature).
    """
    archive = read_archive(data)
    kept = [e for e in archive.entries if e.kind[0] not in _UNPACKED_KINDS]
    if not any(e.kind == b"z" for e in kept):
        raise InstallError("the archive has no Python modules archive")
    out = bytearray(data[:archive.start])
    toc = bytearray()
    for entry in kept:
        offset = len(out) - archive.start
        out += data[archive.start + entry.offset:archive.start + entry.offset + entry.stored]
        toc += struct.pack(_TOC_ENTRY.format, len(entry.raw), offset, entry.stored, entry.size,
                           entry.compressed, entry.kind) + entry.raw[_TOC_ENTRY.size:]
    toc_offset = len(out) - archive.start
    out += toc
    out += _COOKIE.pack(COOKIE_MAGIC, toc_offset + len(toc) + _COOKIE.size, toc_offset, len(toc),
                        archive.python_version, archive.python_library)
    out += data[archive.cookie_at + _COOKIE.size:]
    return bytes(out), archive.contents_directory


def program_name() -> str:
    """The installed program's file name (the same for every company: its folder tells them apart)."""
    return "sosdesk-agent.exe" if sys.platform == "win32" else "sosdesk-agent"


def agents_root(app_id: str) -> Path:
    """The folder of one company's installed copies."""
    return Path(platformdirs.user_data_dir("sosdesk")) / "agent" / app_id


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _marker(folder: Path) -> dict:
    try:
        found = json.loads((folder / MARKER).read_text("utf-8"))
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def _source_id(executable: Path) -> dict:
    stat = executable.stat()
    return {"path": str(executable), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "inode": stat.st_ino}


def _current(root: Path) -> Path | None:
    """The copy ``current`` names (POSIX), or the newest copy with a marker (Windows)."""
    link = root / CURRENT
    if link.is_symlink():
        target = root / os.readlink(link)
        return target if (target / MARKER).is_file() else None
    copies = [p for p in root.iterdir() if (p / MARKER).is_file()] if root.is_dir() else []
    return max(copies, key=lambda p: _marker(p).get("installed_at", 0), default=None)


def _shortcut_program(root: Path, folder: Path) -> Path:
    """What the shortcuts run: through ``current`` where symlinks work, else the copy itself."""
    if (root / CURRENT).is_symlink():
        return root / CURRENT / program_name()
    return folder / program_name()


def ensure_installed(app_id: str, executable: Path | None = None, meipass: Path | None = None,
                     sidecar: Path | None = None, version: str = __version__,
                     now: float | None = None) -> Installed:
    """The installed copy of this one-file agent, made (or brought up to date) if needed.

    *executable* and *meipass* default to this run's (``sys.executable``,
    ``sys._MEIPASS``); *sidecar* is a branding file to copy beside the program
    (a sidecar branding must travel with it). Raises InstallError when the copy
    cannot be made; nothing half made is left behind.
    """
    executable = Path(executable or sys.executable).resolve()
    meipass = Path(meipass or getattr(sys, "_MEIPASS", ""))
    root = agents_root(app_id)
    current = _current(root)
    source = _source_id(executable)
    if current is not None:
        marker = _marker(current)
        if marker.get("source") == source:
            return Installed(current, _shortcut_program(root, current), False)
        if _version_key(marker.get("version", "0")) > _version_key(version):
            log.info("an installed copy of a newer agent (%s) stays in place", marker.get("version"))
            return Installed(current, _shortcut_program(root, current), False)
    try:
        data = executable.read_bytes()
    except OSError as exc:
        raise InstallError(f"cannot read {executable}: {exc.strerror or exc}") from None
    key = hashlib.sha256(data).hexdigest()[:16]
    folder = root / key
    made = False
    if not (folder / MARKER).is_file():
        _make_copy(root, folder, data, meipass, sidecar, version, source, now)
        made = True
    elif _marker(folder).get("source") != source:  # the same file, downloaded again
        _write_marker(folder, version, source, now)
    _point_current(root, key)
    _remove_old(root, keep={key, current.name if current is not None else key})
    return Installed(folder, _shortcut_program(root, folder), made)


def _make_copy(root: Path, folder: Path, data: bytes, meipass: Path, sidecar: Path | None,
               version: str, source: dict, now: float | None) -> None:
    if not meipass.is_dir():
        raise InstallError(f"the unpacked files are not there ({meipass})")
    program, contents = onedir_program(data)
    partial = root / f".{folder.name}.{secrets.token_hex(4)}.partial"
    try:
        partial.mkdir(parents=True)
        shutil.copytree(meipass, partial / contents if contents else partial, dirs_exist_ok=True,
                        symlinks=True)
        target = partial / program_name()
        target.write_bytes(program)
        target.chmod(0o755)
        if sidecar is not None:
            shutil.copyfile(sidecar, partial / "branding.json")
        _write_marker(partial, version, source, now)
        os.replace(partial, folder)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise InstallError(f"cannot install the agent in {root}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _write_marker(folder: Path, version: str, source: dict, now: float | None) -> None:
    tmp = folder / f".{MARKER}.{secrets.token_hex(4)}"
    tmp.write_text(json.dumps({"version": version, "source": source,
                               "installed_at": time.time() if now is None else now}), "utf-8")
    os.replace(tmp, folder / MARKER)


def _point_current(root: Path, key: str) -> None:
    """Make ``current`` name the copy *key*, atomically (POSIX only; Windows has no symlink)."""
    if sys.platform == "win32":
        return
    tmp = root / f".{CURRENT}.{secrets.token_hex(4)}"
    try:
        os.symlink(key, tmp)
        os.replace(tmp, root / CURRENT)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InstallError(f"cannot point {root / CURRENT} at the new copy: {exc.strerror}") from None


def _remove_old(root: Path, keep: set[str]) -> None:
    """Remove the copies other than *keep* and any half-made one (best effort)."""
    for path in root.iterdir():
        if path.name == CURRENT or path.name in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def stable_program(executable: Path) -> Path:
    """*executable* as the shortcuts name it: through ``current`` when it is the current copy."""
    folder = executable.parent
    link = folder.parent / CURRENT
    try:
        if link.is_symlink() and (folder.parent / os.readlink(link)).resolve() == folder.resolve():
            return link / executable.name
    except OSError:
        pass
    return executable


def remove_installed(app_id: str) -> list[Path]:
    """Remove every installed copy of this company's agent; the folders removed.

    A copy that is running may stay where the OS keeps its files (Windows); it
    is then left for the next uninstall.
    """
    root = agents_root(app_id)
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            path.unlink(missing_ok=True)
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    try:
        root.rmdir()
        root.parent.rmdir()  # <data>/sosdesk/agent, when no other company's copy is there
    except OSError:
        pass
    return removed
