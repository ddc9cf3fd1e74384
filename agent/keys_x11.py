"""Characters typed on X11 through XTEST (python-xlib), as xdotool does.

pynput's X11 keyboard sends characters with XSendEvent, which many programs
ignore (synthetic events) and which goes nowhere while the focus follows the
pointer, as on a desktop without a window manager. XTEST events are what a
real keyboard makes. A character is looked up in the keyboard mapping; the
level it sits on says which of Shift and AltGr (ISO_Level3_Shift) to hold; a
character the layout does not have is put on a spare key code (one without
keysyms). It stays there until :meth:`XTestKeys.close`: a program reads the
mapping when it handles the key event, which may be after a quick restore,
and would then type nothing. Spare codes are reused least recently used first.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["XTestKeys", "keysym_of"]

log = logging.getLogger(__name__)

_NAMED = {"\n": "Return", "\r": "Return", "\t": "Tab", "\b": "BackSpace", "\x1b": "Escape"}


def keysym_of(char: str) -> int | None:
    """The X keysym of one character: Latin-1 keysyms are the code point, others 0x01000000 + it."""
    from Xlib import XK

    if char in _NAMED:
        return XK.string_to_keysym(_NAMED[char])
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return None  # other control characters type nothing
    return code if code < 0x100 else 0x01000000 | code


class XTestKeys:
    """Press and release characters on one X display with XTEST (one thread at a time)."""

    def __init__(self, display_name: str | None = None) -> None:
        import Xlib.display
        from Xlib import X, XK

        self.X, self.XK = X, XK
        self.display = Xlib.display.Display(display_name)
        self._lock = threading.Lock()
        self._levels: dict[int, tuple[int, int]] = {}  # keysym -> (keycode, index)
        self._spare: list[int] = []
        self._borrowed: dict[int, int] = {}  # keysym -> spare key code, least recently used first
        self._load_mapping()

    def _load_mapping(self) -> None:
        first = self.display.display.info.min_keycode
        count = self.display.display.info.max_keycode - first + 1
        self._levels.clear()
        self._spare = []
        for offset, keysyms in enumerate(self.display.get_keyboard_mapping(first, count)):
            keycode = first + offset
            if not any(keysyms):
                self._spare.append(keycode)
            for index, keysym in enumerate(keysyms[:4]):
                if keysym and (keysym not in self._levels or index < self._levels[keysym][1]):
                    self._levels[keysym] = (keycode, index)

    def char(self, char: str, down: bool) -> bool:
        """Press or release the key that types *char*; False when it cannot be typed."""
        keysym = keysym_of(char)
        if keysym is None:
            return False
        with self._lock:
            found = self._levels.get(keysym)
            if found is None:
                found = self._borrow(keysym)
                if found is None:
                    return False
            keycode, index = found
            held = self._hold_level(index) if down else []
            self._fake(keycode, down)
            for modifier in reversed(held):
                self._fake(modifier, False)
            self.display.sync()
            return True

    def type(self, text: str) -> None:
        """Type *text*, key by key."""
        for char in text:
            if self.char(char, True):
                self.char(char, False)

    def close(self) -> None:
        """Give the spare key codes back and close the display connection."""
        try:
            with self._lock:
                for keycode in self._borrowed.values():
                    self.display.change_keyboard_mapping(keycode, [(0, 0)])
                self._borrowed.clear()
                self.display.sync()
            self.display.close()
        except Exception:  # the display went away first
            pass

    # -- helpers ----------------------------------------------------------------

    def _fake(self, keycode: int, down: bool) -> None:
        from Xlib.ext import xtest

        xtest.fake_input(self.display, self.X.KeyPress if down else self.X.KeyRelease, keycode)

    def _hold_level(self, index: int) -> list[int]:
        """Press what the mapping's level *index* needs (Shift for 1 and 3, AltGr for 2 and 3)
        and is not held already; the key codes pressed, to release after the key."""
        mask = self.display.screen().root.query_pointer().mask
        needed = []
        if index in (1, 3) and not mask & self.X.ShiftMask:
            needed.append("Shift_L")
        if index in (2, 3):
            needed.append("ISO_Level3_Shift")
        pressed = []
        for name in needed:
            code = self.display.keysym_to_keycode(self.XK.string_to_keysym(name))
            if code:
                self._fake(code, True)
                pressed.append(code)
        return pressed

    def _borrow(self, keysym: int) -> tuple[int, int] | None:
        """A spare key code typing *keysym* (mapped now, or still from before)."""
        if keysym in self._borrowed:
            keycode = self._borrowed.pop(keysym)
        elif self._spare:
            if len(self._borrowed) >= len(self._spare):
                oldest = next(iter(self._borrowed))
                keycode = self._borrowed.pop(oldest)
            else:
                keycode = next(c for c in self._spare if c not in self._borrowed.values())
            self.display.change_keyboard_mapping(keycode, [(keysym, keysym)])
            self.display.sync()
        else:
            return None
        self._borrowed[keysym] = keycode  # now the most recently used
        return keycode, 0
