"""How the agent's windows look: a clean ttk theme in the company's colour, spacing, and
sharp text on high-DPI screens.

Tk draws fonts given in points at the size ``tk scaling`` says; its default fonts
on X11 are given in pixels, so they would stay tiny on a high-DPI screen. So the
screen's DPI is read first (on X11 the desktop's ``Xft.dpi`` setting, which GNOME
and KDE set for a scaled screen, else the screen's own size; on Windows the
process declares itself DPI aware, or Windows would blow up a blurry bitmap), Tk's
scaling follows it, every named font gets a size in points, and padding is scaled
with :attr:`Look.px`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

__all__ = ["Look", "apply_look", "screen_dpi", "declare_dpi_aware", "contrast_text", "shown_when_set"]

log = logging.getLogger(__name__)

BACKGROUND = "#f6f8fa"
CARD = "#ffffff"
INK = "#1f2328"
MUTED = "#59636e"
LINE = "#d1d9e0"
BUTTON_LINE = "#afb8c1"
ERROR = "#cf222e"
ERROR_BG = "#ffebe9"
OK = "#1a7f37"
#: Font sizes in points (Tk turns them into pixels by its scaling).
BASE_PT = 10


def declare_dpi_aware() -> None:
    """On Windows, draw at the screen's real resolution (before the first Tk window)."""
    if sys.platform != "win32":
        return
    try:
        import ctypes

        ctypes.windll.shcore.SetProcessDpiAwareness(1)
    except (AttributeError, OSError):  # before Windows 8.1
        try:
            ctypes.windll.user32.SetProcessDPIAware()
        except (AttributeError, OSError):
            pass


def _xft_dpi() -> float | None:
    """The desktop's ``Xft.dpi`` from the X resources (RESOURCE_MANAGER), if set."""
    if sys.platform.startswith(("win", "darwin")) or not os.environ.get("DISPLAY"):
        return None
    try:
        import Xlib.display
        import Xlib.X
        import Xlib.Xatom

        display = Xlib.display.Display()
        try:
            prop = display.screen().root.get_full_property(Xlib.Xatom.RESOURCE_MANAGER, Xlib.X.AnyPropertyType)
        finally:
            display.close()
    except Exception as exc:  # no python-xlib, no display: the screen's size decides
        log.debug("no X resources: %s", exc)
        return None
    raw = prop.value if prop else b""
    for line in (raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)).splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "Xft.dpi":
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


def screen_dpi(root: Any) -> float:
    """The screen's dots per inch: the desktop's setting where there is one, else the screen's."""
    dpi = _xft_dpi()
    if dpi and 48 <= dpi <= 480:
        return dpi
    measured = float(root.winfo_fpixels("1i"))
    return measured if 48 <= measured <= 480 else 96.0


def contrast_text(colour: str) -> str:
    """Black or white, whichever reads better on *colour* (``#rrggbb``)."""
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def _shade(colour: str, factor: float) -> str:
    """*colour* darker (factor < 1), for a pressed or hovered button."""
    parts = [max(0, min(255, int(int(colour[i:i + 2], 16) * factor))) for i in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(parts)


class Look:
    """The fonts, colours and spacing of one Tk application, scaled to its screen."""

    def __init__(self, root: Any, brand: str, dpi: float) -> None:
        self.root, self.brand, self.dpi = root, brand, dpi
        self.scale = dpi / 96.0
        #: Named fonts of the windows (family, points, weight), set by apply_look.
        self.fonts: dict[str, tuple[Any, ...]] = {}

    def px(self, pixels: float) -> int:
        """*pixels* at 96 DPI, on this screen."""
        return max(1, round(pixels * self.scale))

    def pad(self, *values: float) -> tuple[int, ...]:
        """Scaled padding (left, top, right, bottom) or (x, y)."""
        return tuple(self.px(v) for v in values)


def apply_look(root: Any, brand: str) -> Look:
    """Set Tk's scaling from the screen's DPI, the fonts in points and the ttk styles."""
    import tkinter.font as tkfont
    from tkinter import ttk

    dpi = screen_dpi(root)
    root.tk.call("tk", "scaling", dpi / 72.0)
    look = Look(root, brand, dpi)
    for name, size in (("TkDefaultFont", BASE_PT), ("TkTextFont", BASE_PT), ("TkMenuFont", BASE_PT),
                       ("TkHeadingFont", BASE_PT), ("TkCaptionFont", BASE_PT), ("TkTooltipFont", BASE_PT - 1),
                       ("TkFixedFont", BASE_PT), ("TkSmallCaptionFont", BASE_PT - 1)):
        try:
            tkfont.nametofont(name, root).configure(size=size)
        except Exception:  # a font this Tk does not name
            continue
    family = tkfont.nametofont("TkDefaultFont", root).actual("family")
    fixed = tkfont.nametofont("TkFixedFont", root).actual("family")
    look.fonts = {
        "company": (family, BASE_PT + 6, "bold"), "headline": (family, BASE_PT + 3, "bold"),
        "code": (fixed, BASE_PT + 14, "bold"), "small": (family, BASE_PT - 1), "bold": (family, BASE_PT, "bold"),
    }
    root.configure(background=BACKGROUND)
    style = ttk.Style(root)
    style.theme_use("clam")
    button_pad = look.pad(14, 6)
    style.configure(".", background=BACKGROUND, foreground=INK, bordercolor=LINE, focuscolor=brand,
                    lightcolor=BACKGROUND, darkcolor=BACKGROUND, troughcolor=LINE)
    style.configure("TFrame", background=BACKGROUND)
    style.configure("Card.TFrame", background=CARD, bordercolor=LINE, relief="solid", borderwidth=1)
    style.configure("TLabel", background=BACKGROUND, foreground=INK)
    style.configure("Card.TLabel", background=CARD)
    style.configure("Muted.TLabel", foreground=MUTED, font=look.fonts["small"])
    style.configure("Ok.TLabel", foreground=OK, font=look.fonts["small"])
    style.configure("Error.TLabel", foreground=ERROR, font=look.fonts["small"])
    style.configure("Company.TLabel", foreground=brand, font=look.fonts["company"])
    style.configure("Headline.TLabel", font=look.fonts["headline"])
    style.configure("Code.TLabel", background=CARD, font=look.fonts["code"])
    style.configure("Problem.TFrame", background=ERROR_BG, bordercolor=ERROR, relief="solid", borderwidth=1)
    style.configure("Problem.TLabel", background=ERROR_BG, foreground=INK)
    style.configure("ProblemTitle.TLabel", background=ERROR_BG, foreground=ERROR,
                    font=look.fonts["headline"])
    style.configure("TButton", padding=button_pad, background=CARD, bordercolor=BUTTON_LINE, lightcolor=CARD,
                    darkcolor=CARD, relief="raised")
    style.map("TButton", background=[("pressed", "#e6eaef"), ("active", "#eef1f4")],
              lightcolor=[("pressed", "#e6eaef"), ("active", "#eef1f4")],
              darkcolor=[("pressed", "#e6eaef"), ("active", "#eef1f4")],
              bordercolor=[("focus", brand)])
    ink = contrast_text(brand)
    style.configure("Primary.TButton", padding=button_pad, background=brand, foreground=ink, bordercolor=brand,
                    lightcolor=brand, darkcolor=brand, font=look.fonts["bold"])
    states = [("disabled", _shade(brand, 1.3)), ("pressed", _shade(brand, 0.8)), ("active", _shade(brand, 0.9))]
    style.map("Primary.TButton", background=states, lightcolor=states, darkcolor=states,
              foreground=[("disabled", ink)], bordercolor=[("focus", INK)])
    style.configure("TEntry", padding=look.pad(6, 4), fieldbackground=CARD, bordercolor=LINE)
    style.map("TEntry", bordercolor=[("focus", brand)])
    style.configure("TLabelframe", background=BACKGROUND, bordercolor=LINE)
    style.configure("TLabelframe.Label", background=BACKGROUND, foreground=MUTED)
    return look


def shown_when_set(widget: Any, variable: Any) -> None:
    """Show *widget* (placed with grid) only while *variable* holds a text: no empty line."""

    def follow(*_: Any) -> None:
        if variable.get():
            widget.grid()
        else:
            widget.grid_remove()

    variable.trace_add("write", follow)
    follow()
