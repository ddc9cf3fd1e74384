"""The tray icon image: the brand icon with a badge in the status's colour."""

from __future__ import annotations

from PIL import Image, ImageDraw

from sosdesk.common.branding import Branding
from sosdesk.common.icons import make_icon

__all__ = ["BADGE_COLOURS", "tray_image"]

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


def tray_image(branding: Branding, status: str | None, size: int = 64) -> Image.Image:
    """The brand icon (the shortcut's, so they match) with a round badge for *status*."""
    image = make_icon(branding, size)
    colour = BADGE_COLOURS.get(status)
    if colour:
        draw = ImageDraw.Draw(image)
        badge = size * 3 // 8
        box = (size - badge - 1, size - badge - 1, size - 1, size - 1)
        draw.ellipse(box, fill=colour, outline="white", width=max(1, size // 32))
    return image
