"""Personalizing: a copy of the base with the branding stamped in, icons and a manifest.

No PyInstaller here: the stamp is appended to the executable (see
``sosdesk.common.stamp``), so this takes about as long as copying the file. Every
file is written under a temporary name and renamed only once all are complete,
the manifest last: a manifest is there only when the executable and icons it
lists are complete. A failure while writing leaves no output behind; one during
the renames (rare: they stay within one folder) can leave some of the files
renamed, but no manifest.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import time
from pathlib import Path

from sosdesk.common.branding import BrandingError
from sosdesk.common.stamp import program_end, write_stamp

from .errors import BuilderError
from .images import icon_files
from .options import BuildOptions, output_stem

__all__ = ["Result", "personalize", "base_agent_version", "base_version"]

_DIST_INFO = re.compile(rb"sosdesk-([0-9][0-9A-Za-z.+_-]{0,40})\.dist-info")


@dataclasses.dataclass(frozen=True)
class Result:
    """What a personalization wrote."""

    executable: Path
    manifest: Path
    icons: tuple[Path, ...]
    size: int
    sha256: str
    module_id: str
    agent_version: str


def base_agent_version(data: bytes) -> str:
    """The agent version frozen into a base, from the sosdesk metadata PyInstaller copied in."""
    # The archive's table of contents names its files in clear text; the builder
    # adds sosdesk's dist-info to every base, so this works for a base from any OS.
    found = _DIST_INFO.findall(data)
    return found[-1].decode() if found else "unknown"


#: The archive's table of contents (with sosdesk's dist-info name) is at its end.
_TOC_BYTES = 8 << 20


def base_version(base: Path) -> str:
    """The agent version frozen into the base file *base* (its stamp, if any, left out)."""
    end = program_end(base)
    with open(base, "rb") as f:
        start = max(0, end - _TOC_BYTES)
        f.seek(start)
        version = base_agent_version(f.read(end - start))
        if version == "unknown" and start > 0:  # not where archives keep it: look everywhere
            f.seek(0)
            version = base_agent_version(f.read(end))
    return version


def personalize(base: Path, options: BuildOptions, module_id: str) -> Result:
    """Write the personalized agent for *options* and *module_id* next to its icons and manifest."""
    out_dir = options.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    branding = options.branding(module_id)
    stem = output_stem(options.company)
    exe_path = out_dir / options.output_name
    manifest_path = out_dir / f"{exe_path.name}.manifest.json"
    token = secrets.token_hex(4)

    def temporary(final: Path) -> Path:
        return final.with_name(f".{final.name}.{token}.partial")

    pending: dict[Path, Path] = {}  # temporary -> final
    try:
        for name, data in icon_files(branding, stem).items():
            final = out_dir / name
            pending[temporary(final)] = final
            temporary(final).write_bytes(data)
        tmp_exe = temporary(exe_path)
        pending[tmp_exe] = exe_path
        try:
            size, digest = write_stamp(base, tmp_exe, branding)
        except BrandingError as exc:  # a damaged stamp in the base: its extent is unknown
            raise BuilderError(f"the base {base} cannot be stamped: {exc}; use a base agent "
                               "(sos-builder --base-only) or a personalized one in one piece") from None
        # The stamp is the only difference from the base, so the version is the base's.
        version = base_version(Path(base))
        icons = tuple(final for final in pending.values() if final != exe_path)
        manifest = {
            "company": options.company,
            "module_id": module_id,
            "server": options.server_url,
            "group": options.group,
            "pins": list(options.pins),
            "agent_version": version,
            "target_os": options.target_os,
            "file": exe_path.name,
            "size": size,
            "sha256": digest,
            "icons": [p.name for p in icons],
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp_manifest = temporary(manifest_path)
        pending[tmp_manifest] = manifest_path
        tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
        # The manifest goes last: its presence means the executable next to it is complete.
        for tmp, final in pending.items():
            os.replace(tmp, final)
    finally:
        for tmp in pending:
            tmp.unlink(missing_ok=True)
    return Result(executable=exe_path, manifest=manifest_path, icons=icons, size=size,
                  sha256=digest, module_id=module_id, agent_version=version)
