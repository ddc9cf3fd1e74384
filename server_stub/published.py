"""The personalized agents experts published (``sos-builder --publish``): files in the
server's data folder, never in the database.

Each module keeps its newest agent per OS as ``agents/<module id>/<os>-<random>.bin``
beside ``<os>.json``, which says which file that is and what the page for the
customer shows (the company's name, logo and colour, read from the agent's own
branding stamp once, when it comes). A new agent is written under a temporary
name, checked, then renamed, and only then does ``<os>.json`` (itself replaced
in one rename) point at it: a reader sees the old agent or the new one, never
half of one. The older file is removed after; a download that has it open keeps
reading it (POSIX).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any, BinaryIO

from sosdesk.common.branding import BrandingError
from sosdesk.common.executables import TARGET_OS, detect_os
from sosdesk.common.stamp import read_stamp

from . import core
from .errors import InvalidInput, NotFound, StorageUnavailable
from .request import BodyStream

__all__ = ["PublishedAgents", "NotPublished"]


class NotPublished(NotFound):
    """No agent is published for this module and OS (or the server has no data folder)."""

    code = "not_published"


class PublishedAgents:
    """The published agents under one folder (None: a server without a data folder)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._lock = threading.Lock()  # renames and clean-ups of one server, one at a time

    def store(self, module_id: str, body: BodyStream, now: int) -> dict[str, Any]:
        """Keep the agent *body* carries as *module_id*'s newest for its OS; returns its facts.

        InvalidInput if it is no personalized agent of this module (every byte is read
        and checked first, and nothing is kept then).
        """
        if self.folder is None:
            raise StorageUnavailable("this server keeps no published agents: it has no data "
                                     "folder (its database is in memory)")
        folder = self._module_folder(module_id)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot keep the agent: {exc.strerror or exc}") from None
        name = f".upload-{secrets.token_hex(8)}.partial"
        partial = folder / name
        try:
            digest, head = self._receive(body, partial)
            facts = self._check(partial, module_id, head)
            facts.update(module_id=module_id, size=body.length, sha256=digest,
                         uploaded_at=core.iso(now))
            with self._lock:
                final = folder / f"{facts['target_os']}-{secrets.token_hex(8)}.bin"
                os.replace(partial, final)
                facts["file"] = final.name
                self._write_json(folder / f"{facts['target_os']}.json", facts)
                self._remove_others(folder, facts["target_os"], keep=final.name)
        except OSError as exc:
            raise StorageUnavailable(f"cannot keep the agent: {exc.strerror or exc}") from None
        finally:
            partial.unlink(missing_ok=True)
        return self._public(facts)

    def builds(self, module_id: str) -> dict[str, dict[str, Any]]:
        """The module's published agents by OS: {os: facts} (empty if none)."""
        if self.folder is None:
            return {}
        found = {}
        for target_os in TARGET_OS:
            facts = self._facts(module_id, target_os)
            if facts is not None:
                found[target_os] = facts
        return found

    def open(self, module_id: str, target_os: str) -> tuple[BinaryIO, dict[str, Any]]:
        """The module's agent for *target_os*, open for reading, and its facts; NotPublished."""
        facts = self._facts(module_id, target_os) if target_os in TARGET_OS else None
        if facts is None:
            raise NotPublished("no agent is published for this system")
        try:
            return open(self._module_folder(module_id) / facts["file"], "rb"), facts
        except OSError:  # replaced between reading the facts and opening: the new one
            facts = self._facts(module_id, target_os)
            if facts is None:
                raise NotPublished("no agent is published for this system") from None
            return open(self._module_folder(module_id) / facts["file"], "rb"), facts

    # -- inside ---------------------------------------------------------------------

    def _module_folder(self, module_id: str) -> Path:
        if self.folder is None:
            raise NotPublished("this server keeps no published agents (it has no data folder)")
        # Module ids are checked before they get here; this keeps any other out of the path.
        if not module_id or not module_id.replace("-", "").replace("_", "").isalnum() \
                or not module_id.isascii():
            raise NotPublished("no agent is published for this module")
        return self.folder / module_id

    @staticmethod
    def _receive(body: BodyStream, partial: Path) -> tuple[str, bytes]:
        """Write the body to *partial* as it comes: (sha256 hex, its first bytes)."""
        digest = hashlib.sha256()
        head = b""
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as out:
            while True:
                chunk = body.read()
                if not chunk:
                    break
                if len(head) < 4:
                    head += chunk[:4]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), head

    @staticmethod
    def _check(path: Path, module_id: str, head: bytes) -> dict[str, Any]:
        """What the page for the customer needs from the agent; InvalidInput if it is none
        of this module's (no executable, no branding stamp, another module's)."""
        target_os = detect_os(head)
        if target_os is None:
            raise InvalidInput("this is no executable for Windows, macOS or Linux",
                               code="not_an_agent")
        try:
            branding = read_stamp(path)
        except BrandingError as exc:
            raise InvalidInput(f"the agent's branding stamp is damaged: {exc}",
                               code="not_an_agent") from None
        if branding is None:
            raise InvalidInput("this executable has no branding stamp: publish what sos-builder "
                               "made", code="not_an_agent")
        if branding.module_id != module_id:
            raise InvalidInput(f"this agent belongs to module {branding.module_id or '(none)'}, "
                               f"not {module_id}", code="wrong_module")
        logo = base64.b64encode(branding.logo_png).decode() if branding.logo_png else None
        return {"target_os": target_os, "company": branding.company_name, "logo_png": logo,
                "color": branding.primary_color}

    def _facts(self, module_id: str, target_os: str) -> dict[str, Any] | None:
        try:
            facts = json.loads((self._module_folder(module_id) / f"{target_os}.json").read_text("utf-8"))
        except (OSError, ValueError, NotPublished):
            return None
        return facts if isinstance(facts, dict) and facts.get("target_os") == target_os else None

    @staticmethod
    def _write_json(path: Path, facts: dict[str, Any]) -> None:
        """*facts* to *path* in one rename (a reader sees the old or the new, whole)."""
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                json.dump(facts, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    @staticmethod
    def _remove_others(folder: Path, target_os: str, keep: str) -> None:
        for old in folder.glob(f"{target_os}-*.bin"):
            if old.name != keep:
                with contextlib.suppress(OSError):
                    old.unlink()

    @staticmethod
    def _public(facts: dict[str, Any]) -> dict[str, Any]:
        """What the API tells about a published agent."""
        return {key: facts[key] for key in ("module_id", "target_os", "size", "sha256",
                                            "uploaded_at", "company")}
