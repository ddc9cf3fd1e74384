"""The ready signal for programs that start ``sos-server serve --port-file FILE``.

Once the server listens (and after its first lines are printed), FILE holds
``{"url": "http://127.0.0.1:8080", "host": "127.0.0.1", "port": 8080, "pid": 1234}``
(``https://`` when it serves TLS).
It is written to a temporary file beside it and renamed, so whoever sees FILE
sees all of it; a graceful stop removes it. A starter removes a stale FILE,
starts the server and waits for FILE with ``wait``: no scraping of stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


class NotReady(Exception):
    """The server exited, or did not listen in time, before writing its port file."""


def write(path: Path, url: str) -> None:
    """Write *path* atomically: the bound URL, host, port and this process's id."""
    host, _, port = url.partition("://")[2].rpartition(":")
    text = json.dumps({"url": url, "host": host, "port": int(port), "pid": os.getpid()})
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(path: Path) -> dict[str, Any] | None:
    """What *path* says, or None while it is not there."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def wait(path: Path, process: subprocess.Popen | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Wait for *path* to appear and return what it says.

    NotReady if *process* exits first or *timeout* seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = read(path)
        if found is not None:
            return found
        if process is not None and process.poll() is not None:
            raise NotReady(f"the server exited with {process.returncode} before it listened")
        if time.monotonic() > deadline:
            raise NotReady(f"no {path} within {timeout:.0f} s")
        time.sleep(0.02)
