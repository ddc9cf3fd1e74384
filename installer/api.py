"""install, uninstall and status: the installer's public functions.

The per-OS knowledge lives in one backend module each (``_linux``,
``_windows``, ``_macos``), and each offers a single function::

    plan(branding, command) -> Plan   # the files to put where, and what is left out

*command* is the agent's whole command line, program first (``[exe]`` for a
personalized agent, ``[python, "-P", "-m", "sosdesk.agent", "--config", FILE]`` for
an installed Python one): see ``sosdesk.common.launch.agent_command``.

Everything else happens here, once for every OS: refusing to overwrite a
file that is not ours, writing with rollback, the manifest, uninstalling.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence, TypeVar, Union

from sosdesk.common.branding import Branding

from .artefacts import PLATFORM_ENV, Artefact, Plan
from .errors import ConflictError, InstallerError, UnsupportedPlatformError
from .manifest import (
    CHANGED,
    INTACT,
    Entry,
    Manifest,
    data_sha256,
    file_sha256,
    manifest_path,
    manifests_dir,
)
from .transaction import Transaction

__all__ = ["PLATFORM_ENV", "Command", "InstalledFile", "Status", "install", "uninstall", "status",
           "installed", "platform_name"]

log = logging.getLogger(__name__)

_BACKENDS = {"linux": "._linux", "windows": "._windows", "macos": "._macos"}

#: The agent's command line, program first; a single path is a program without options.
Command = Union[str, os.PathLike[str], Sequence[Union[str, os.PathLike[str]]]]


@dataclasses.dataclass(frozen=True)
class InstalledFile:
    """One file the installer put in place, and whether it is still as installed."""

    path: Path
    kind: str
    #: ``intact``, ``changed`` (edited since install; uninstall keeps it) or ``missing``.
    state: str


@dataclasses.dataclass(frozen=True)
class Status:
    """What is installed for one company, and what the last call did."""

    app_id: str
    #: The backend that installed it (None when nothing is installed).
    platform: str | None
    #: Where the record of installed files is kept.
    manifest: Path
    #: The command the shortcuts start, program first (None when nothing is installed).
    command: tuple[str, ...] | None
    files: tuple[InstalledFile, ...] = ()
    #: Files this call wrote or removed (empty when it had nothing to do).
    changed: tuple[Path, ...] = ()
    #: Messages for the user about this call, e.g. a changed file left in place.
    notes: tuple[str, ...] = ()

    @property
    def executable(self) -> str | None:
        """The agent program the shortcuts start (None when nothing is installed)."""
        return self.command[0] if self.command else None

    @property
    def installed(self) -> bool:
        """Whether anything is installed."""
        return bool(self.files)

    @property
    def intact(self) -> bool:
        """Whether everything is installed and unchanged."""
        return self.installed and all(f.state == INTACT for f in self.files)


def platform_name() -> str:
    """The backend for this machine: $SOSDESK_INSTALLER_PLATFORM, else from sys.platform."""
    forced = os.environ.get(PLATFORM_ENV)
    if forced:
        if forced not in _BACKENDS:
            raise UnsupportedPlatformError(
                f"{PLATFORM_ENV}={forced!r} is not one of {', '.join(_BACKENDS)}"
            )
        return forced
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return "linux"  # the XDG desktop specifications cover the BSD desktops too
    raise UnsupportedPlatformError(f"desktop shortcuts are not supported on {sys.platform}")


def _backend(name: str) -> ModuleType:
    # Chosen per call, not at import, so that tests can switch platforms.
    try:
        return importlib.import_module(_BACKENDS[name], __package__)
    except ImportError as exc:
        raise UnsupportedPlatformError(f"the {name} installer cannot run here: {exc}") from None


_Result = TypeVar("_Result")


def _installer_errors_only(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """Turn any other exception into InstallerError: callers rely on catching that one."""

    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> _Result:
        try:
            return function(*args, **kwargs)
        except InstallerError:
            raise
        except OSError as exc:
            raise InstallerError(f"{function.__name__} failed: {exc}") from exc
        except Exception as exc:
            log.exception("%s failed unexpectedly", function.__name__)  # a bug: keep the traceback
            raise InstallerError(f"{function.__name__} failed unexpectedly: {exc!r}") from exc

    return wrapper


@_installer_errors_only
def install(branding: Branding, command: Command) -> Status:
    """Put the SOS shortcut, the tray autostart and the icon in place for this user.

    The shortcut runs *command* plus ``sos``, the autostart *command* alone.
    Running it again changes nothing; with a new *command* or branding it
    updates the files in place. A desktop shortcut whose folder does not exist
    is left out and the status says so in a note. Raises InstallerError (and
    changes nothing) when a file it would write is the user's own or a folder
    is not writable.
    """
    platform = platform_name()
    agent = _agent_command(command)
    layout: Plan = _backend(platform).plan(branding, agent)
    artefacts = layout.artefacts
    record = manifest_path(branding.app_id)
    old = Manifest.load(record)
    previous = old or Manifest(branding.app_id, platform, agent)

    conflicts = [a.path for a in artefacts if os.path.lexists(a.path) and not _intact(previous, a.path)]
    if conflicts:
        raise ConflictError(conflicts)

    planned = {a.path for a in artefacts}
    changed: list[Path] = []
    notes: list[str] = list(layout.skipped)
    tx = Transaction()
    try:
        with tx:
            entries = [_put(tx, a, previous, changed) for a in artefacts]
            for entry in previous.files:
                if entry.path not in planned:
                    _remove_ours(tx, entry, changed, notes)
            tx.make_dirs(record.parent)
            created = tuple(dict.fromkeys((*previous.created_dirs, *tx.created_dirs)))
            new = Manifest(branding.app_id, platform, agent, tuple(entries), created)
            if new != old:
                tx.write(record, new.to_json())
    except InstallerError as exc:
        raise _rolled_back("install", exc, tx) from None

    for artefact in artefacts:
        _after(artefact)
    return _status(new, record, changed, notes)


@_installer_errors_only
def uninstall(branding: Branding) -> Status:
    """Remove what install put in place, except files the user has changed since."""
    record = manifest_path(branding.app_id)
    old = Manifest.load(record)
    if old is None:
        return Status(branding.app_id, None, record, None, notes=("nothing to remove: not installed",))
    changed: list[Path] = []
    notes: list[str] = []
    tx = Transaction()
    try:
        with tx:
            for entry in old.files:
                _remove_ours(tx, entry, changed, notes)
            tx.remove(record)
            # Innermost first, so a folder emptied by removing its child goes too.
            folders = sorted({*old.created_dirs, record.parent}, key=lambda p: len(p.parts), reverse=True)
            for folder in folders:
                tx.remove_dir_if_empty(folder)
    except InstallerError as exc:
        raise _rolled_back("uninstall", exc, tx) from None
    return Status(branding.app_id, None, record, None, changed=tuple(changed), notes=tuple(notes))


@_installer_errors_only
def status(branding: Branding) -> Status:
    """What is installed for *branding*'s company, and whether each file is intact."""
    record = manifest_path(branding.app_id)
    manifest = Manifest.load(record)
    if manifest is None:
        return Status(branding.app_id, None, record, None)
    return _status(manifest, record, [], [])


@_installer_errors_only
def installed() -> list[Status]:
    """Every company's installation recorded for this user, by app id.

    For a caller that does not know the branding (``python -m sosdesk.installer
    status`` without ``--config``): the records say what each one starts.
    """
    folder = manifests_dir()
    try:
        records = sorted(folder.glob("*.json"))
    except OSError as exc:
        raise InstallerError(f"cannot list the installed files in {folder}: {exc.strerror}") from None
    found = []
    for record in records:
        manifest = Manifest.load(record)
        if manifest is not None:
            found.append(_status(manifest, record, [], []))
    return found


def _agent_command(command: Command) -> tuple[str, ...]:
    """*command* as strings, its program an absolute path that exists."""
    parts = [command] if isinstance(command, (str, os.PathLike)) else list(command)
    if not parts:
        raise InstallerError("no agent program given")
    path = os.path.abspath(os.fspath(parts[0]))
    if not os.path.isfile(path):
        raise InstallerError(f"the agent program {path} does not exist")
    return (path, *(os.fspath(part) for part in parts[1:]))


def _intact(manifest: Manifest, path: Path) -> bool:
    entry = manifest.entry(path)
    return entry is not None and entry.state() == INTACT


def _put(tx: Transaction, artefact: Artefact, previous: Manifest, changed: list[Path]) -> Entry:
    """Write *artefact* unless it is already installed as planned; its manifest entry."""
    recipe = data_sha256(artefact.data)
    entry = previous.entry(artefact.path)
    if entry is not None and entry.recipe == recipe and entry.state() == INTACT:
        return Entry(artefact.path, artefact.kind, entry.sha256, recipe)
    if artefact.make is None:
        tx.write(artefact.path, artefact.data, artefact.executable)
        installed = recipe
    else:
        tx.make(artefact.path, artefact.data, artefact.make)
        installed = file_sha256(artefact.path)
        if installed is None:
            raise InstallerError(f"{artefact.path} was not created")
    changed.append(artefact.path)
    return Entry(artefact.path, artefact.kind, installed, recipe)


def _after(artefact: Artefact) -> None:
    if artefact.after is None:
        return
    try:
        artefact.after(artefact.path)
    except Exception as exc:  # best effort by contract: the file is in place already
        log.warning("could not finish %s: %s", artefact.path, exc)


def _remove_ours(tx: Transaction, entry: Entry, changed: list[Path], notes: list[str]) -> None:
    """Remove a file install put in place, unless the user has changed it since."""
    state = entry.state()
    if state == INTACT:
        tx.remove(entry.path)
        changed.append(entry.path)
    elif state == CHANGED:
        notes.append(_kept_note(entry))


def _kept_note(entry: Entry) -> str:
    return f"left {entry.path} in place: it was changed after installation; remove it yourself if unwanted"


def _rolled_back(action: str, exc: InstallerError, tx: Transaction) -> InstallerError:
    """*exc* reworded for the user, saying whether everything was undone."""
    message = f"{action} failed: {exc}"
    if tx.undo_failures:
        message += "; these changes could not be undone: " + ", ".join(tx.undo_failures)
    else:
        message += "; nothing was changed"
    return InstallerError(message)


def _status(manifest: Manifest, record: Path, changed: list[Path], notes: list[str]) -> Status:
    files = tuple(InstalledFile(e.path, e.kind, e.state()) for e in manifest.files)
    return Status(manifest.app_id, manifest.platform, record, manifest.command, files,
                  tuple(changed), tuple(notes))
