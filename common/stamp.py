"""Where a run's branding comes from, and the stamp that carries it inside the agent.

The builder writes the stamp, the agent and the installer read it (the schema
is ``sosdesk.common.branding``). Standard library only. A branding is looked
up in this order and the first one found wins:

1. embedded in the running executable by the builder (a *stamp*, see below);
2. a sidecar file next to the executable (``<executable>.branding.json``
   or ``branding.json`` in the same folder);
3. ``--config FILE``;
4. the built-in defaults, which point at a local server.

The stamp is a trailer appended to the executable, so a personalized agent is a
copy of the base executable plus a few kilobytes and can be re-stamped without
rebuilding. Format 2 (lengths 8-byte big-endian, both the JSON's length)::

    <base executable bytes> STAMP_BEGIN <length> <branding JSON, UTF-8>
        <SHA-256 of the JSON, 32 bytes> <length> STAMP_END [<data appended later>]

Finding it. Code signing appends its signature to the file (Windows), so the
stamp need not end the file: it is searched for backwards in the last
``SEARCH_WINDOW`` bytes (16 MiB of appended data, plus the largest stamp). A
marker *claims* a stamp when its length field (after STAMP_BEGIN, before
STAMP_END) holds a plausible JSON length (2 bytes to ``MAX_STAMP_BYTES``), or
when STAMP_END ends the file. A marker that merely occurs somewhere, e.g. the
agent's own code holding these constants, claims nothing: the bytes next to
it are not five zero bytes and a small number. Inside the JSON a marker never
claims either, as JSON text holds no zero byte. The claim nearest the end of
the file is the stamp, and every part of it must check out (both markers,
equal lengths, the checksum); otherwise the stamp is *damaged* and the agent
stops with BrandingError instead of running unbranded against the defaults.

Format 1 (``<JSON> <length> SOSDESK-BRANDING-1`` at the very end, no
checksum) is no longer read: an edit to it cannot be told from the real
thing. Agents and the builder come from the same sosdesk version (the builder
freezes its own agent), so only a file stamped by an old builder has one: it
is refused with a message saying so, and ``strip_stamp`` still removes it, so
re-stamping such a file works.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
import sys
from pathlib import Path

from .branding import Branding, BrandingError

__all__ = [
    "STAMP_BEGIN",
    "STAMP_END",
    "load_branding",
    "read_stamp",
    "write_stamp",
    "strip_stamp",
    "program_end",
    "stamp_bytes",
    "sidecar_paths",
    "running_executable",
]

STAMP_BEGIN = b"SOSDESK-BRANDING-2-BEGIN"
STAMP_END = b"SOSDESK-BRANDING-2-END"
#: The end of a format 1 stamp (no checksum; refused, but still stripped).
STAMP_END_V1 = b"SOSDESK-BRANDING-1"
_LENGTH = struct.Struct(">Q")
_DIGEST_BYTES = 32
#: A stamp larger than this is not a stamp (logos are limited well below it).
MAX_STAMP_BYTES = 4 * 1024 * 1024
#: The shortest JSON a stamp can hold (``{}``).
MIN_STAMP_BYTES = 2
#: How much data appended after the stamp (a code signature) is looked through.
MAX_APPENDED_BYTES = 16 * 1024 * 1024
_OVERHEAD = len(STAMP_BEGIN) + 2 * _LENGTH.size + _DIGEST_BYTES + len(STAMP_END)
#: The stamp is searched for in this many bytes at the end of the file.
SEARCH_WINDOW = MAX_APPENDED_BYTES + MAX_STAMP_BYTES + _OVERHEAD


# -- the stamp -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Found:
    """A stamp claimed in a file: where it is and whether it checks out."""

    start: int  # file offset of its first byte
    payload: bytes | None  # the JSON when intact
    problem: str = ""  # why it cannot be used (damaged, or format 1)
    #: A well-formed format 1 stamp: refused, but its extent is known.
    format_1: bool = False


def _plausible(length: int) -> bool:
    return MIN_STAMP_BYTES <= length <= MAX_STAMP_BYTES


def _occurrences(data: bytes, marker: bytes) -> list[int]:
    found, at = [], data.find(marker)
    while at >= 0:
        found.append(at)
        at = data.find(marker, at + 1)
    return found


def _check(tail: bytes, begin: int) -> tuple[bytes | None, str]:
    """(JSON, "") of the format 2 stamp said to start at *begin* in *tail*, or (None, problem)."""
    if tail[begin:begin + len(STAMP_BEGIN)] != STAMP_BEGIN:
        return None, "its start marker is damaged or its length is broken"
    at = begin + len(STAMP_BEGIN)
    if at + _LENGTH.size > len(tail):
        return None, "it is cut off"
    (length,) = _LENGTH.unpack_from(tail, at)
    if not _plausible(length):
        return None, "its length is broken"
    at += _LENGTH.size
    payload = tail[at:at + length]
    digest = tail[at + length:at + length + _DIGEST_BYTES]
    at += length + _DIGEST_BYTES
    if at + _LENGTH.size + len(STAMP_END) > len(tail):
        return None, "it is cut off"
    if _LENGTH.unpack_from(tail, at)[0] != length:
        return None, "its length is broken"
    if tail[at + _LENGTH.size:at + _LENGTH.size + len(STAMP_END)] != STAMP_END:
        return None, "its end marker is damaged"
    if hashlib.sha256(payload).digest() != digest:
        return None, "its checksum does not match its content"
    return payload, ""


def _locate(tail: bytes, offset: int) -> _Found | None:
    """The stamp in *tail*, the last bytes of a file starting at file offset *offset*.

    The claim nearest the end of the file wins (the rule in the module docstring).
    """
    claims: list[tuple[int, str]] = []  # (position of the claiming marker, its kind)
    for at in _occurrences(tail, STAMP_END):
        length = _LENGTH.unpack_from(tail, at - _LENGTH.size)[0] if at >= _LENGTH.size else -1
        if _plausible(length) or at + len(STAMP_END) == len(tail):
            claims.append((at, "end"))
    for at in _occurrences(tail, STAMP_BEGIN):
        field = tail[at + len(STAMP_BEGIN):at + len(STAMP_BEGIN) + _LENGTH.size]
        if len(field) < _LENGTH.size or _plausible(_LENGTH.unpack(field)[0]):
            claims.append((at, "begin"))
    if tail.endswith(STAMP_END_V1):
        claims.append((len(tail) - len(STAMP_END_V1), "format 1"))
    if not claims:
        return None
    at, kind = max(claims)
    if kind == "format 1":
        length_at = at - _LENGTH.size
        length = _LENGTH.unpack_from(tail, length_at)[0] if length_at >= 0 else -1
        if not (_plausible(length) and length <= length_at):
            return _Found(offset + at, None, "its length is broken")
        return _Found(offset + length_at - length, None,
                      "it was made by an older sos-builder (format 1, without a checksum)", True)
    if kind == "end":
        length = _LENGTH.unpack_from(tail, at - _LENGTH.size)[0] if at >= _LENGTH.size else -1
        if not _plausible(length):
            return _Found(offset + at, None, "its length is broken")
        begin = at + len(STAMP_END) - _OVERHEAD - length
        if begin < 0:
            return _Found(offset + at, None, "its length is broken" if offset == 0 else
                          f"it lies more than {MAX_APPENDED_BYTES >> 20} MiB before the end of the file")
    else:
        begin = at
    payload, problem = _check(tail, begin)
    return _Found(offset + begin, payload, problem)


def _tail_of(path: Path) -> tuple[bytes, int]:
    """The last SEARCH_WINDOW bytes of *path* and their offset in the file."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        offset = max(0, size - SEARCH_WINDOW)
        f.seek(offset)
        return f.read(), offset


def read_stamp(path: str | os.PathLike[str]) -> Branding | None:
    """The branding stamped into the file at *path*, or None if it has none.

    Raises BrandingError when the file has a stamp that is damaged (see the module docstring).
    """
    try:
        tail, offset = _tail_of(Path(path))
    except OSError:
        return None  # not readable: as if there were no stamp (the sidecar may still be there)
    found = _locate(tail, offset)
    if found is None:
        return None
    if found.payload is None:
        raise BrandingError(
            f"the branding stamped into {path} is damaged ({found.problem}). Please download "
            "this support program again from the company that gave it to you.")
    return Branding.from_json(found.payload, source="embedded")


def strip_stamp(data: bytes) -> bytes:
    """*data* (an executable's bytes) without its stamp, if it has one.

    Whatever was appended after the stamp goes too: a signature made over the old
    stamp is void for a new one. A format 1 stamp is removed as well. Raises
    BrandingError for a damaged stamp, whose extent cannot be trusted.
    """
    offset = max(0, len(data) - SEARCH_WINDOW)
    found = _locate(data[offset:], offset)
    if found is None:
        return data
    if found.payload is None and not found.format_1:
        raise BrandingError(f"it carries a damaged branding stamp ({found.problem}), "
                            "so where the program ends is not known")
    return data[:found.start]


def program_end(path: str | os.PathLike[str]) -> int:
    """Where the program in the file at *path* ends: its stamp's offset, else the file's size.

    Like strip_stamp, without reading more than the end of the file; raises
    BrandingError for a damaged stamp, whose extent cannot be trusted.
    """
    tail, offset = _tail_of(Path(path))
    found = _locate(tail, offset)
    if found is None:
        return offset + len(tail)
    if found.payload is None and not found.format_1:
        raise BrandingError(f"it carries a damaged branding stamp ({found.problem}), "
                            "so where the program ends is not known")
    return found.start


def write_stamp(base: str | os.PathLike[str], out: str | os.PathLike[str],
                branding: Branding) -> tuple[int, str]:
    """Write *base* (stamped or not) with *branding* stamped into it to *out*; (size, sha256 hex).

    Written to a temporary file first and renamed, so *out* is never half-written.
    The base is copied in blocks, hashed on the way: never all of it in memory,
    and never read twice.
    """
    payload = branding.to_json()
    stamp = stamp_bytes(payload)
    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    try:
        end = program_end(base)
        with open(base, "rb") as src, open(tmp, "wb") as f:
            left = end
            while left > 0:
                block = src.read(min(left, _COPY_BLOCK))
                if not block:
                    break
                digest.update(block)
                f.write(block)
                left -= len(block)
            digest.update(stamp)
            f.write(stamp)
            size = f.tell()
        mode = os.stat(base).st_mode & 0o777
        os.chmod(tmp, mode | 0o700)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()


#: Bytes copied at a time by write_stamp.
_COPY_BLOCK = 1 << 20


def stamp_bytes(payload: bytes) -> bytes:
    """The format 2 stamp for the branding JSON *payload*."""
    if not _plausible(len(payload)):
        raise BrandingError(f"a branding of {len(payload)} bytes cannot be stamped "
                            f"(at most {MAX_STAMP_BYTES // 1024 // 1024} MiB)")
    length = _LENGTH.pack(len(payload))
    return STAMP_BEGIN + length + payload + hashlib.sha256(payload).digest() + length + STAMP_END


# -- lookup ----------------------------------------------------------------

def running_executable() -> Path | None:
    """The frozen executable when running as one (PyInstaller), else None."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve()
    return None


_executable = running_executable


def sidecar_paths(executable: Path) -> list[Path]:
    """Sidecar files looked for next to *executable*, in order."""
    return [
        executable.with_name(executable.name + ".branding.json"),
        executable.with_name("branding.json"),
    ]


def load_branding(config: str | os.PathLike[str] | None = None,
                  executable: str | os.PathLike[str] | None = None) -> Branding:
    """The branding for this run, by the lookup order in the module docstring.

    *executable* defaults to the frozen executable (if any); tests pass a path.
    Raises BrandingError with one clear message when the one found is invalid.
    """
    exe = Path(executable) if executable is not None else _executable()
    if exe is not None:
        stamped = read_stamp(exe)
        if stamped is not None:
            return stamped
        for sidecar in sidecar_paths(exe):
            if sidecar.is_file():
                return _load_file(sidecar, "sidecar")
    if config is not None:
        return _load_file(Path(config), "config")
    return Branding()


def _load_file(path: Path, source: str) -> Branding:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BrandingError(f"cannot read branding file {path}: {exc.strerror}") from None
    return Branding.from_json(raw, source=f"{source} {path}")
