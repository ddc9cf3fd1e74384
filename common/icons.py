"""The brand icon: the company logo, or its initials in the brand colour.

One drawing for every use (desktop shortcut, tray icon, builder), so they all
match. Only Pillow's own embedded font is used, never a system font, so an
icon looks the same on every build machine.

Needs Pillow, unlike the rest of ``sosdesk.common``: only the clients (agent,
installer, builder) import this module, never the server.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from typing import BinaryIO, Union

from PIL import Image, ImageDraw, ImageFont, ImageOps

from .branding import Branding

__all__ = ["ICO_SIZES", "ICNS_SIZE", "make_icon", "write_png", "write_ico", "write_icns", "can_write_icns"]

log = logging.getLogger(__name__)

#: The sizes Windows picks from for desktop icons at 100-400 % display scaling.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: Pillow derives every smaller .icns size from this one.
ICNS_SIZE = 1024

FileTarget = Union[str, "os.PathLike[str]", BinaryIO]


def make_icon(branding: Branding, size: int) -> Image.Image:
    """A square RGBA icon of *size* pixels: the logo if usable, else the initials."""
    if size < 1:
        raise ValueError(f"icon size must be positive, not {size}")
    return _draw(branding.logo_png, branding.initials, branding.primary_color, size)


def write_png(branding: Branding, fp: FileTarget, size: int = 256) -> None:
    """Write the icon as a PNG of *size* pixels to a path or binary file."""
    _write(_encoded(_look(branding), "PNG", (size,)), fp)


def write_ico(branding: Branding, fp: FileTarget, sizes: tuple[int, ...] = ICO_SIZES) -> None:
    """Write the icon as a Windows .ico holding every size in *sizes*."""
    _write(_encoded(_look(branding), "ICO", tuple(sizes)), fp)


def write_icns(branding: Branding, fp: FileTarget) -> None:
    """Write the icon as a macOS .icns (16 to 1024 pixels, as Pillow lays them out)."""
    _write(_encoded(_look(branding), "ICNS", (ICNS_SIZE,)), fp)


def _look(branding: Branding) -> tuple[bytes | None, str, str]:
    """The only fields the icon depends on (a cache key)."""
    return branding.logo_png, branding.initials, branding.primary_color


@functools.lru_cache(maxsize=8)
def _encoded(look: tuple[bytes | None, str, str], image_format: str, sizes: tuple[int, ...]) -> bytes:
    # Cached: every install (and the agent's checks) encodes the same icon again.
    out = io.BytesIO()
    options = {"sizes": [(s, s) for s in sizes]} if image_format == "ICO" else {}
    _draw(*look, max(sizes)).save(out, format=image_format, **options)
    return out.getvalue()


def _draw(logo_png: bytes | None, initials: str, colour: str, size: int) -> Image.Image:
    if logo_png:
        logo = _load_logo(logo_png)
        if logo is not None:
            return _fit(logo, size)
    return _initials_icon(initials, colour, size)


def _write(data: bytes, fp: FileTarget) -> None:
    if hasattr(fp, "write"):
        fp.write(data)
    else:
        with open(fp, "wb") as f:
            f.write(data)


def can_write_icns() -> bool:
    """Whether this Pillow can write .icns files (it can on every OS since Pillow 9)."""
    Image.init()
    return "ICNS" in Image.SAVE


def _load_logo(png: bytes) -> Image.Image | None:
    # The branding checked only the PNG signature; a damaged logo must not cost
    # the customer the shortcut, so fall back to the initials instead.
    try:
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            return image.convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        log.warning("the logo cannot be read (%s); drawing the initials instead", exc)
        return None


def _fit(logo: Image.Image, size: int) -> Image.Image:
    """*logo* scaled to fit a *size* square, centred on transparency."""
    scaled = ImageOps.contain(logo, (size, size), Image.Resampling.LANCZOS)
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    icon.paste(scaled, ((size - scaled.width) // 2, (size - scaled.height) // 2), scaled)
    return icon


def _initials_icon(initials: str, colour: str, size: int) -> Image.Image:
    # Pillow's drawing is not antialiased: draw large, then scale down smoothly.
    canvas = max(min(size * 4, 1024), size)
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    background = _rgb(colour)
    draw.rounded_rectangle(
        (0, 0, canvas - 1, canvas - 1), radius=canvas // 5, fill=background + (255,)
    )
    text_colour = _readable_on(background) + (255,)
    _draw_centred_text(image, initials, text_colour, box=int(canvas * 0.7))
    if canvas != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def _draw_centred_text(image: Image.Image, text: str, colour: tuple[int, ...], box: int) -> None:
    """Draw *text* as large as fits a *box*-pixel square in the middle of *image*."""
    font = _font(box)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = max(right - left, 1), max(bottom - top, 1)
    if not isinstance(font, ImageFont.FreeTypeFont):
        # Old Pillow without a scalable default font: enlarge the bitmap text.
        small = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        ImageDraw.Draw(small).text((-left, -top), text, font=font, fill=colour)
        scale = box / max(width, height)
        small = small.resize((max(int(width * scale), 1), max(int(height * scale), 1)))
        image.alpha_composite(small, ((image.width - small.width) // 2, (image.height - small.height) // 2))
        return
    scale = min(box / width, box * 0.6 / height)
    if scale < 1:
        font = _font(max(int(box * scale), 1))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        width, height = right - left, bottom - top
    origin = ((image.width - width) // 2 - left, (image.height - height) // 2 - top)
    draw.text(origin, text, font=font, fill=colour)


def _font(pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's embedded font at *pixels* (scalable since Pillow 10.1, else a bitmap)."""
    try:
        return ImageFont.load_default(size=pixels)
    except TypeError:  # Pillow < 10.1 has no size parameter
        return ImageFont.load_default()


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _readable_on(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever contrasts more with *background* (WCAG luminance)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with white is 1.05/(L+0.05), with black (L+0.05)/0.05; equal at L≈0.179.
    return (255, 255, 255) if luminance < 0.179 else (24, 24, 24)
