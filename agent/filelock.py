"""An exclusive lock between agent processes of one user (a lock file).

A double click on the SOS shortcut starts two agents at once; the lock makes
"read the device id, else create it" one step, so both use the same id.
:func:`try_lock` takes it without waiting: only the process holding the
session lock answers the expert's session (agent.session).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from .errors import StorageError

__all__ = ["locked", "try_lock", "Held"]

if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        # LK_LOCK retries for ~10 s and then raises; loop for the rare longer wait.
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock on the file at *path* (created if missing).

    A folder that cannot be created or a lock file that cannot be opened or
    locked raises StorageError, with a message for the customer; errors of
    the locked block itself pass through unchanged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot use the folder {path.parent}: {exc.strerror or exc}") from None
    try:
        try:
            _lock(fd)
        except OSError as exc:
            raise StorageError(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


class Held:
    """A lock taken with :func:`try_lock`; held until :meth:`release` or the process ends."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        """Let go of the lock (twice is harmless)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                _unlock(fd)
            finally:
                os.close(fd)


def try_lock(path: Path) -> Held | None:
    """The exclusive lock on *path* if no other process holds it now, else None (never waits).

    StorageError when the lock file cannot be created or opened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot use the folder {path.parent}: {exc.strerror or exc}") from None
    if _try_lock(fd):
        return Held(fd)
    os.close(fd)
    return None
