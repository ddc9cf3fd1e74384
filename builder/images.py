"""The logo going in (PNG or JPEG, re-encoded as PNG) and the icons coming out.

Both are cached in the builder's cache folder (when it exists; see
``cache.cache_root``): the re-encoded logo by the hash of the file's bytes, the
icons by the hash of everything they are drawn from (the logo, or without one
the initials and colour; the drawing code and Pillow's version). Re-branding with the same
logo then neither draws nor loads Pillow at all. Cached files are written
whole (a temporary name, then renamed) and a damaged one is made again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from sosdesk.common.branding import MAX_LOGO_BYTES, Branding

from .cache import cache_root

__all__ = ["LogoProblem", "MIN_LOGO_PIXELS", "PNG_SIZES", "load_logo", "icon_files"]

MIN_LOGO_PIXELS = 32
#: Larger logos are scaled down: the .icns needs 1024 px at most, and every stamp carries the logo.
MAX_LOGO_PIXELS = 1024
#: PNG sizes for Linux icon themes (hicolor) and web pages; Windows and macOS get .ico/.icns.
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
_FORMATS = ("PNG", "JPEG")


class LogoProblem(Exception):
    """One problem with the logo file, as a sentence for the expert."""


def load_logo(path: Path) -> bytes:
    """The logo at *path* as PNG bytes (metadata dropped, at most 1024 px); raises LogoProblem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LogoProblem(f"cannot read the logo {path}: {exc.strerror or exc}") from None
    head = raw[:256].lstrip().lower()
    if path.suffix.lower() in (".svg", ".svgz") or head.startswith((b"<svg", b"<?xml")):
        # Rendering SVG needs cairo or similar native libraries; not worth the dependency yet.
        raise LogoProblem(f"the logo {path} is an SVG, which the builder does not read: "
                          "export it as PNG")
    cached = _cache_file("logos", hashlib.sha256(_LOGO_RULES + raw).hexdigest() + ".png")
    if cached is not None and cached.is_file():
        png = cached.read_bytes()
        if png.startswith(_PNG_SIGNATURE) and len(png) <= MAX_LOGO_BYTES:
            return png
    png = _normalized_logo(path, raw)
    if cached is not None:
        _store(cached, png)
    return png


#: What load_logo's result depends on besides the file: change it when its rules change.
_LOGO_RULES = f"logo-v1|{MIN_LOGO_PIXELS}|{MAX_LOGO_PIXELS}|{MAX_LOGO_BYTES}|".encode()
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _normalized_logo(path: Path, raw: bytes) -> bytes:
    """The logo's bytes checked and re-encoded as PNG by Pillow; raises LogoProblem."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = image.format
            if kind not in _FORMATS:
                raise LogoProblem(f"the logo {path} is a {kind} image: use PNG or JPEG")
            image.load()
            # A phone photo stores its rotation in EXIF, which re-encoding would drop.
            image = ImageOps.exif_transpose(image).convert("RGBA")
    except LogoProblem:
        raise
    except Image.DecompressionBombError:
        raise LogoProblem(f"the logo {path} has too many pixels to be a logo") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise LogoProblem(f"the logo {path} is not a readable PNG or JPEG image ({exc})") from None
    if min(image.size) < MIN_LOGO_PIXELS:
        raise LogoProblem(f"the logo {path} is {image.width}x{image.height} pixels; it must be at "
                          f"least {MIN_LOGO_PIXELS}x{MIN_LOGO_PIXELS}")
    for limit in (MAX_LOGO_PIXELS, 512, 256):
        png = _png(ImageOps.contain(image, (limit, limit), Image.Resampling.LANCZOS)
                   if max(image.size) > limit else image)
        if len(png) <= MAX_LOGO_BYTES:
            return png
    raise LogoProblem(f"the logo {path} is too detailed: even at 256 px it is over "
                      f"{MAX_LOGO_BYTES // 1024} KiB as PNG")


def _png(image: "Image.Image") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def icon_files(branding: Branding, stem: str) -> dict[str, bytes]:
    """Every icon file for *branding*, by file name: ``<stem>-<size>.png``, ``.ico``, ``.icns``."""
    key = _icon_key(branding)
    folder = _cache_file("icons", key)
    if folder is not None:
        found = _cached_icons(folder)
        if found is not None:
            return {f"{stem}{suffix}": data for suffix, data in found.items()}
    made = _draw_icons(branding)
    if folder is not None:
        _store_icons(folder, made)
    return {f"{stem}{suffix}": data for suffix, data in made.items()}


def _draw_icons(branding: Branding) -> dict[str, bytes]:
    """The icon files by suffix: ``-16.png`` ... ``-512.png``, ``.ico`` and (if Pillow can) ``.icns``."""
    # The drawing is shared with the agent's shortcut and tray icon so all of them match.
    from sosdesk.common import icons

    def encode(write: Callable[..., None], *args: int) -> bytes:
        buffer = io.BytesIO()
        write(branding, buffer, *args)
        return buffer.getvalue()

    jobs: dict[str, tuple] = {f"-{size}.png": (icons.write_png, size) for size in PNG_SIZES}
    jobs[".ico"] = (icons.write_ico,)
    if icons.can_write_icns():
        jobs[".icns"] = (icons.write_icns,)
    # Pillow lets go of the GIL while it scales and compresses, so threads use
    # every core; the icons are most of a personalization's time.
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        futures = {suffix: pool.submit(encode, *job) for suffix, job in jobs.items()}
        return {suffix: future.result() for suffix, future in futures.items()}


def _icon_key(branding: Branding) -> str:
    """The hash of everything the icons are drawn from."""
    digest = hashlib.sha256(b"icons-v1\0")
    # A logo (load_logo checked that Pillow reads it) is the whole picture; the
    # initials and colour are drawn only without one.
    look = (branding.logo_png, b"", b"") if branding.logo_png else (
        b"", branding.initials.encode(), branding.primary_color.encode())
    for part in (*look, repr(PNG_SIZES).encode(),
                 _pillow_version().encode(), Path(__file__).read_bytes(),
                 _icons_source()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _icons_source() -> bytes:
    """The drawing code's source (sosdesk.common.icons), found without importing it (Pillow)."""
    import importlib.util

    spec = importlib.util.find_spec("sosdesk.common.icons")
    try:
        return Path(spec.origin).read_bytes() if spec and spec.origin else b"?"
    except OSError:
        return b"?"


def _pillow_version() -> str:
    try:
        return importlib.metadata.version("Pillow")
    except importlib.metadata.PackageNotFoundError:
        return "?"


_ICON_INDEX = "index"


def _cached_icons(folder: Path) -> dict[str, bytes] | None:
    """The icons stored in *folder*, or None if they are not all there."""
    try:
        suffixes = (folder / _ICON_INDEX).read_text("utf-8").split()
        found = {suffix: (folder / f"icon{suffix}").read_bytes() for suffix in suffixes}
    except (OSError, UnicodeDecodeError):
        return None
    return found if found and all(found.values()) else None


def _store_icons(folder: Path, icons: dict[str, bytes]) -> None:
    """Keep *icons* in *folder*: the files first, the index (naming them) last."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    for suffix, data in icons.items():
        _store(folder / f"icon{suffix}", data)
    _store(folder / _ICON_INDEX, " ".join(icons).encode())


def _cache_file(kind: str, name: str) -> Path | None:
    """Where a cached *kind* file called *name* lives; None when there is no cache folder.

    The cache folder is the builder's (``cache.cache_root``), used only once it
    exists (the first base build makes it): a re-brand never creates it.
    """
    root = cache_root()
    return root / kind / name if root.is_dir() else None


def _store(path: Path, data: bytes) -> None:
    """Write *data* to *path* whole (temporary name, then rename); a cache, so errors are ignored."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
