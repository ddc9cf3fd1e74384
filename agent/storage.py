"""Where the agent keeps things on disk: private files in the config folder (``sosdesk.common.folders``)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sosdesk.common.folders import config_dir

from .errors import StorageError

__all__ = ["write_private", "read_json", "State"]


def write_private(path: Path, data: bytes) -> None:
    """Replace *path* with *data*, readable by this user only (mode 0600), atomically.

    The temporary file is created 0600 from the start, so the secret is never
    readable by others, not even for a moment; the rename means a reader sees
    the old file or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in *path*; empty when missing or unreadable (then rewritten)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class State:
    """The agent's non-secret state for one company (e.g. whether first start ran)."""

    def __init__(self, app_id: str, folder: Path | None = None) -> None:
        self.path = (folder or config_dir()) / f"state-{app_id}.json"

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of *key*, or *default*."""
        return read_json(self.path).get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key*; StorageError (for the customer) when that fails."""
        data = read_json(self.path)
        data[key] = value
        try:
            write_private(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise StorageError(f"cannot save {self.path}: {exc.strerror or exc}") from None
