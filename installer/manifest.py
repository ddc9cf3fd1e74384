"""The record of what the installer put where, so uninstall removes exactly that.

One small JSON file per company (``app_id``) in the user's config folder::

    {"format": 1, "app_id": "acme", "platform": "linux", "executable": "/venv/bin/python",
     "command": ["/venv/bin/python", "-P", "-m", "sosdesk.agent", "--config", "/home/bob/acme.json"],
     "files": [{"path": "...", "kind": "icon", "sha256": "...", "recipe": "..."}],
     "created_dirs": ["..."]}

``command`` is what the shortcuts run (program first; ``sos`` added for the
SOS shortcut). ``executable`` is its program, kept for readers of records made
before ``command`` was added; a record without ``command`` ran ``executable``
alone.

``sha256`` is the hash of the file as installed: a file whose hash no longer
matches was changed by the user and is left alone. ``recipe`` is the hash of
what the file was made from; it equals ``sha256`` except for files built by a
tool (a Windows .lnk), and tells whether a file is already up to date.
``created_dirs`` are the folders install had to create; uninstall removes them
again when they are empty.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from sosdesk.common.folders import CONFIG_DIR_ENV, config_dir

from .errors import InstallerError

__all__ = ["CONFIG_DIR_ENV", "Entry", "Manifest", "config_dir", "manifests_dir", "manifest_path",
           "file_sha256", "data_sha256"]

# CONFIG_DIR_ENV and config_dir() are shared (sosdesk.common.folders), re-exported here:
# the installer keeps its manifests in the same folder as the agent's own files.
FORMAT = 1

INTACT, CHANGED, MISSING = "intact", "changed", "missing"


def manifests_dir() -> Path:
    """The folder holding one record per installed company."""
    return config_dir() / "installed"


def manifest_path(app_id: str) -> Path:
    """Where the record for the company *app_id* is kept."""
    return manifests_dir() / f"{app_id}.json"


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of the file at *path*, or None when it is missing or not a readable file."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def data_sha256(data: bytes) -> str:
    """The SHA-256 of *data*, as recorded in the manifest."""
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass(frozen=True)
class Entry:
    """One installed file as recorded."""

    path: Path
    kind: str
    sha256: str
    recipe: str

    def state(self) -> str:
        """``intact``, ``changed`` (by the user, since install) or ``missing``."""
        if not os.path.lexists(self.path):
            return MISSING
        return INTACT if file_sha256(self.path) == self.sha256 else CHANGED


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What install put on this machine for one company."""

    app_id: str
    platform: str
    #: What the shortcuts run, program first.
    command: tuple[str, ...]
    files: tuple[Entry, ...] = ()
    created_dirs: tuple[Path, ...] = ()

    def entry(self, path: Path) -> Entry | None:
        """The record for *path*, if install put it there."""
        for entry in self.files:
            if entry.path == path:
                return entry
        return None

    def to_json(self) -> bytes:
        data = {
            "format": FORMAT,
            "app_id": self.app_id,
            "platform": self.platform,
            "executable": self.command[0],
            "command": list(self.command),
            "files": [
                {"path": str(e.path), "kind": e.kind, "sha256": e.sha256, "recipe": e.recipe}
                for e in self.files
            ],
            "created_dirs": [str(d) for d in self.created_dirs],
        }
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    @classmethod
    def load(cls, path: Path) -> "Manifest | None":
        """The manifest at *path*, None if there is none; InstallerError if damaged."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InstallerError(f"cannot read the list of installed files {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            return cls(
                app_id=str(data["app_id"]),
                platform=str(data["platform"]),
                command=_command(data),
                files=tuple(
                    Entry(Path(f["path"]), str(f["kind"]), str(f["sha256"]), str(f["recipe"]))
                    for f in data["files"]
                ),
                created_dirs=tuple(Path(d) for d in data["created_dirs"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InstallerError(
                f"the list of installed files {path} is damaged ({exc}); remove it and the "
                "shortcuts by hand, then install again"
            ) from None


def _command(data: dict) -> tuple[str, ...]:
    """The recorded command; a record from before ``command`` ran its executable alone."""
    command = data.get("command", [data["executable"]])
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise ValueError("command must be a non-empty list of texts")
    return tuple(command)
