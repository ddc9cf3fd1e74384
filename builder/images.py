"""The logo going in (PNG or JPEG, re-encoded as PNG) and the icons coming out."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from PIL import Image, ImageOps

from sosdesk.common.branding import MAX_LOGO_BYTES, Branding

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


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def icon_files(branding: Branding, stem: str) -> dict[str, bytes]:
    """Every icon file for *branding*, by file name: ``<stem>-<size>.png``, ``.ico``, ``.icns``."""
    # The drawing is shared with the agent's shortcut and tray icon so all of them match.
    from sosdesk.common import icons

    def encode(write: Callable[..., None], *args: int) -> bytes:
        buffer = io.BytesIO()
        write(branding, buffer, *args)
        return buffer.getvalue()

    jobs: dict[str, tuple] = {f"{stem}-{size}.png": (icons.write_png, size) for size in PNG_SIZES}
    jobs[f"{stem}.ico"] = (icons.write_ico,)
    if icons.can_write_icns():
        jobs[f"{stem}.icns"] = (icons.write_icns,)
    # Pillow lets go of the GIL while it scales and compresses, so threads use
    # every core; the icons are most of a personalization's time.
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        futures = {name: pool.submit(encode, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}
