"""File changes that are undone together when one of them fails.

Install and uninstall both run inside a :class:`Transaction`, so a failure
(read-only desktop, full disk) never leaves half an installation behind.
Every file the installer touches is small, so the old contents are simply
kept in memory until the end.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Callable

from .errors import InstallerError

__all__ = ["Transaction"]

log = logging.getLogger(__name__)


class Transaction:
    """Records how to undo each change; undoes them all if the block raises."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], None]]] = []
        #: Folders this transaction created, outermost first.
        self.created_dirs: list[Path] = []
        #: What could not be undone after a failure (empty when all was).
        self.undo_failures: list[str] = []

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self.rollback()

    def rollback(self) -> None:
        """Undo every change, newest first, noting what could not be undone."""
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except OSError as exc:
                log.error("could not undo %s: %s", what, exc)
                self.undo_failures.append(what)

    def make_dirs(self, folder: Path) -> None:
        """Create *folder* and any missing parents, remembering which were new."""
        missing = []
        for candidate in (folder, *folder.parents):
            if os.path.isdir(candidate):
                break
            missing.append(candidate)
        for candidate in reversed(missing):
            try:
                os.mkdir(candidate)
            except OSError as exc:
                raise InstallerError(f"cannot create the folder {candidate}: {_reason(exc)}") from None
            self.created_dirs.append(candidate)
            self._undo.append((f"create {candidate}", lambda c=candidate: os.rmdir(c)))

    def write(self, path: Path, data: bytes, executable: bool = False) -> None:
        """Put *data* at *path* in one step (a temporary file renamed over it)."""
        self.make_dirs(path.parent)
        undo = self._undo_for(path)
        try:
            _write_atomically(path, data, executable)
        except OSError as exc:
            raise InstallerError(f"cannot write {path}: {_reason(exc)}") from None
        self._undo.append(undo)

    def make(self, path: Path, data: bytes, maker: Callable[[Path, bytes], None]) -> None:
        """Build the file at *path* with *maker* (which raises InstallerError on failure)."""
        self.make_dirs(path.parent)
        undo = self._undo_for(path)
        try:
            if os.path.lexists(path):
                # Built afresh: a tool updating the old file could keep stale fields.
                os.unlink(path)
        except OSError as exc:
            raise InstallerError(f"cannot replace {path}: {_reason(exc)}") from None
        # Registered before making: a maker that fails may leave a partial file.
        self._undo.append(undo)
        maker(path, data)

    def remove(self, path: Path) -> None:
        """Delete the file at *path*."""
        undo = self._undo_for(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise InstallerError(f"cannot remove {path}: {_reason(exc)}") from None
        self._undo.append(undo)

    def remove_dir_if_empty(self, folder: Path) -> None:
        """Delete *folder* if it is empty; leave it quietly otherwise."""
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty, already gone, or not ours to judge: leave it
        self._undo.append((f"remove {folder}", lambda: os.mkdir(folder)))

    @staticmethod
    def _undo_for(path: Path) -> tuple[str, Callable[[], None]]:
        """How to bring *path* back to what it is now (recorded once it has changed)."""
        if not os.path.lexists(path):
            return f"create {path}", lambda: _unlink_if_present(path)
        try:
            old = path.read_bytes()
            mode = os.stat(path).st_mode & 0o777
        except OSError as exc:
            raise InstallerError(f"cannot read {path}: {_reason(exc)}") from None
        return f"change {path}", lambda: _restore(path, old, mode)


def _write_atomically(path: Path, data: bytes, executable: bool) -> None:
    tmp = path.with_name(f".{path.name}.sosdesk-partial")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o755 if executable else 0o644)
        os.replace(tmp, path)
    except BaseException:
        _unlink_if_present(tmp)
        raise


def _restore(path: Path, data: bytes, mode: int) -> None:
    _write_atomically(path, data, executable=False)
    os.chmod(path, mode)


def _unlink_if_present(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _reason(exc: OSError) -> str:
    """The OS's words for *exc*, with a hint for the usual cause."""
    if isinstance(exc, PermissionError) or exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        return f"{exc.strerror} (the folder is read-only or belongs to someone else)"
    return exc.strerror or str(exc)
