"""The tray icon image: the brand icon with a badge in the status's colour."""

from __future__ import annotations

import logging

from PIL import Image, ImageDraw, ImageFont

from .branding import Branding

__all__ = ["BADGE_COLOURS", "brand_icon", "tray_image"]

log = logging.getLogger(__name__)

#: Badge colour per status (None: no open request, no badge); "unreachable" is ours.
BADGE_COLOURS: dict[str | None, str | None] = {
    None: None,
    "new": "#0969da",
    "pending": "#d29922",
    "in_progress": "#1a7f37",
    "closed": "#6e7781",
    "expired": "#6e7781",
    "unreachable": "#cf222e",
}


def brand_icon(branding: Branding, size: int) -> Image.Image:
    """The company's icon: the installer's drawing when available (so all icons match)."""
    try:
        from sosdesk.installer.icons import make_icon
    except Exception as exc:  # not bundled, or broken: draw our own
        log.debug("installer icons unavailable: %s", exc)
    else:
        try:
            return make_icon(branding, size).convert("RGBA")
        except Exception as exc:
            log.debug("installer icon failed: %s", exc)
    return _initials_icon(branding, size)


def _initials_icon(branding: Branding, size: int) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=branding.primary_color)
    font = ImageFont.load_default(size=max(8, int(size * 0.45)))
    draw.text((size / 2, size / 2), branding.initials, fill="white", font=font, anchor="mm")
    return image


def tray_image(branding: Branding, status: str | None, size: int = 64) -> Image.Image:
    """The brand icon with a round badge for *status* in the lower right corner."""
    image = brand_icon(branding, size).copy()
    colour = BADGE_COLOURS.get(status)
    if colour:
        draw = ImageDraw.Draw(image)
        badge = size * 3 // 8
        box = (size - badge - 1, size - badge - 1, size - 1, size - 1)
        draw.ellipse(box, fill=colour, outline="white", width=max(1, size // 32))
    return image
