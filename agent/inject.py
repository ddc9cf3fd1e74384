"""The expert's mouse and keyboard on the customer's screen (remote control), with pynput.

The session worker (agent.session) calls :meth:`Injector.apply` only while the
customer allowed control in the agent's own window; this module adds the
customer's precedence: when the pointer is not where the last remote event
left it, the customer moved their own mouse, and remote input pauses for
``CUSTOMER_PAUSE`` seconds (held keys and buttons are let go).

Events are docs/remote-session.md's, in the shared monitor's pixels; keys
come as the browser's ``KeyboardEvent.code`` and ``.key``. The rules (key
mapping, precedence, clamping) are plain code over an :class:`InputBackend`,
so tests run them without a display; :class:`PynputBackend` is the real one
(X11 via XTest, Windows, macOS).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable, Protocol

from .errors import AgentError
from .screen import Monitor

__all__ = ["CUSTOMER_PAUSE", "MAX_WHEEL", "MAX_TEXT", "SPECIAL_KEYS", "MODIFIERS", "InputBackend",
           "PynputBackend", "InputUnavailable", "CustomerFirst", "Injector", "key_for"]

log = logging.getLogger(__name__)

#: Seconds remote input waits after the customer moved their own mouse.
CUSTOMER_PAUSE = 1.0
#: The most wheel notches one event may scroll.
MAX_WHEEL = 100
#: The longest text one ``text`` event may type.
MAX_TEXT = 2000
#: The pointer may land this many pixels off an injected position (scaled displays).
POINTER_SLACK = 2

#: KeyboardEvent.code of keys that have no character -> pynput ``Key`` attribute.
SPECIAL_KEYS: dict[str, str] = {
    "Enter": "enter", "NumpadEnter": "enter", "Tab": "tab", "Backspace": "backspace",
    "Escape": "esc", "Space": "space", "Delete": "delete", "Insert": "insert",
    "Home": "home", "End": "end", "PageUp": "page_up", "PageDown": "page_down",
    "ArrowUp": "up", "ArrowDown": "down", "ArrowLeft": "left", "ArrowRight": "right",
    "ShiftLeft": "shift_l", "ShiftRight": "shift_r", "ControlLeft": "ctrl_l", "ControlRight": "ctrl_r",
    "AltLeft": "alt_l", "AltRight": "alt_gr", "MetaLeft": "cmd_l", "MetaRight": "cmd_r",
    "OSLeft": "cmd_l", "OSRight": "cmd_r", "CapsLock": "caps_lock", "NumLock": "num_lock",
    "ScrollLock": "scroll_lock", "Pause": "pause", "PrintScreen": "print_screen",
    "ContextMenu": "menu", "AudioVolumeMute": "media_volume_mute",
    "AudioVolumeDown": "media_volume_down", "AudioVolumeUp": "media_volume_up",
    "MediaPlayPause": "media_play_pause", "MediaTrackNext": "media_next",
    "MediaTrackPrevious": "media_previous",
    **{f"F{n}": f"f{n}" for n in range(1, 21)},
}
#: The ``mods`` of a key event -> the pynput ``Key`` held for it.
MODIFIERS: dict[str, str] = {"Shift": "shift", "Control": "ctrl", "Alt": "alt", "Meta": "cmd",
                             "AltGraph": "alt_gr"}
_MODIFIER_CODES = {"ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight",
                   "MetaLeft", "MetaRight", "OSLeft", "OSRight"}
BUTTONS = ("left", "middle", "right")


class InputUnavailable(AgentError):
    """Input cannot be injected here (no display, no pynput backend)."""

    code = "input_unavailable"


def key_for(code: str, key: str) -> tuple[str, str] | None:
    """What to press for a browser key: ``("key", pynput Key name)``, ``("char", c)`` or None.

    The character (``key``) wins for printable keys, so the customer's keyboard
    layout types what the expert's produced; ``code`` names the others, and
    letters and digits when the browser could not say the character.
    """
    if code in SPECIAL_KEYS:
        return "key", SPECIAL_KEYS[code]
    if len(key) == 1:
        return "char", key
    if code.startswith("Key") and len(code) == 4:
        return "char", code[3].lower()
    if code.startswith("Digit") and len(code) == 6:
        return "char", code[5]
    return None  # Dead, Unidentified, Process, ...


class InputBackend(Protocol):
    """Where input goes: the real desktop (pynput) or a recorder in tests."""

    def pointer(self) -> tuple[int, int] | None: ...
    def move(self, x: int, y: int) -> None: ...
    def button(self, name: str, down: bool) -> None: ...
    def scroll(self, dx: int, dy: int) -> None: ...
    def key(self, kind: str, name: str, down: bool) -> None: ...
    def type(self, text: str) -> None: ...


class PynputBackend:
    """Input with pynput's controllers (made on first use, in the thread that uses them)."""

    def __init__(self) -> None:
        try:
            from pynput import keyboard, mouse
        except Exception as exc:  # pynput raises ImportError, Xlib errors, ... without a display
            raise InputUnavailable(f"remote control is not possible here: {exc}") from None
        self._keyboard_module = keyboard
        self._mouse_module = mouse
        self._mouse = mouse.Controller()
        self._keyboard = keyboard.Controller()
        #: On X11, characters go through XTEST (agent.keys_x11): pynput would send synthetic events.
        self._chars: Any = None
        if sys.platform.startswith("linux"):
            from .keys_x11 import XTestKeys

            try:
                self._chars = XTestKeys()
            except Exception as exc:
                raise InputUnavailable(f"remote control is not possible here: {exc}") from None

    def pointer(self) -> tuple[int, int] | None:
        """Where the pointer is, in desktop pixels."""
        try:
            x, y = self._mouse.position
        except Exception:  # the pointer on another screen, or the display going away
            return None
        return int(x), int(y)

    def move(self, x: int, y: int) -> None:
        """Put the pointer at (x, y)."""
        self._mouse.position = (x, y)

    def button(self, name: str, down: bool) -> None:
        """Press or release a mouse button."""
        button = getattr(self._mouse_module.Button, name)
        (self._mouse.press if down else self._mouse.release)(button)

    def scroll(self, dx: int, dy: int) -> None:
        """Scroll by steps (pynput: positive dy scrolls up)."""
        self._mouse.scroll(dx, dy)

    def key(self, kind: str, name: str, down: bool) -> None:
        """Press or release a named key or a character."""
        if kind == "char" and self._chars is not None:
            self._chars.char(name, down)
            return
        target = getattr(self._keyboard_module.Key, name) if kind == "key" else name
        (self._keyboard.press if down else self._keyboard.release)(target)

    def type(self, text: str) -> None:
        """Type *text* as keystrokes."""
        if self._chars is not None:
            self._chars.type(text)
        else:
            self._keyboard.type(text)

    def close(self) -> None:
        """Give back what typing borrowed (X11's spare key codes)."""
        if self._chars is not None:
            self._chars.close()


class CustomerFirst:
    """The customer's own mouse takes precedence over remote input (TeamViewer's rule)."""

    def __init__(self, pause: float = CUSTOMER_PAUSE) -> None:
        self.pause = pause
        self.expected: tuple[int, int] | None = None
        self.paused_until = float("-inf")

    def admit(self, pointer: tuple[int, int] | None, now: float) -> bool:
        """Whether a remote event may go in now; a pointer not where remote input left it pauses it."""
        moved = (pointer is not None and self.expected is not None
                 and max(abs(pointer[0] - self.expected[0]), abs(pointer[1] - self.expected[1])) > POINTER_SLACK)
        if moved:
            self.paused_until = now + self.pause
        self.expected = pointer  # while paused, each further move of the customer's extends the pause
        return now >= self.paused_until

    def left_at(self, pointer: tuple[int, int] | None) -> None:
        """Remote input put (or left) the pointer at *pointer*."""
        self.expected = pointer


class Injector:
    """Applies the expert's input events to one monitor of the desktop."""

    def __init__(self, backend: InputBackend, monitor: Monitor, frame_size: tuple[int, int] | None = None,
                 gate: CustomerFirst | None = None) -> None:
        self.backend = backend
        self.gate = gate or CustomerFirst()
        self.monitor = monitor
        #: The size of the pictures the viewer sees (a scaled display captures at another size).
        self.frame_size = frame_size or (monitor.width, monitor.height)
        self._buttons: set[str] = set()
        self._keys: dict[tuple[str, str], list[tuple[str, str]]] = {}  # key -> modifiers pressed for it

    def apply(self, events: Iterable[Any], now: float) -> int:
        """Inject *events* (malformed ones are skipped); returns how many went in."""
        done = 0
        for event in events:
            if not isinstance(event, dict):
                continue
            if not self.gate.admit(self.backend.pointer(), now):
                self.release_all()
                continue
            try:
                done += self._one(event)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.debug("skipped a malformed input event %r: %s", event.get("t"), exc)
            self.gate.left_at(self.backend.pointer())
        return done

    def release_all(self) -> None:
        """Let go of every key and button remote input holds (control ends, the customer moves)."""
        for button in sorted(self._buttons):
            self._safely(self.backend.button, button, False)
        self._buttons.clear()
        for (kind, name), modifiers in list(self._keys.items()):
            self._safely(self.backend.key, kind, name, False)
            for modifier in modifiers:
                self._safely(self.backend.key, *modifier, False)
        self._keys.clear()

    def close(self) -> None:
        """Control ended: let go of everything and of the backend."""
        self.release_all()
        close = getattr(self.backend, "close", None)
        if close is not None:
            self._safely(close)

    def _one(self, event: dict[str, Any]) -> int:
        kind = event.get("t")
        if kind == "move":
            self.backend.move(*self._point(event))
        elif kind in ("down", "up"):
            button = event.get("b", "left")
            if button not in BUTTONS:
                return 0
            if "x" in event and "y" in event:
                self.backend.move(*self._point(event))
            self.backend.button(button, kind == "down")
            (self._buttons.add if kind == "down" else self._buttons.discard)(button)
        elif kind == "wheel":
            return self._scroll(float(event.get("dx", 0)), float(event.get("dy", 0)))
        elif kind == "key":
            return self._key(str(event["code"]), str(event.get("key", "")), bool(event.get("down", True)),
                             [str(m) for m in event.get("mods") or ()])
        elif kind == "text":
            text = str(event["text"])[:MAX_TEXT]
            if not text:
                return 0
            self.backend.type(text)
        else:
            return 0
        return 1

    def _point(self, event: dict[str, Any]) -> tuple[int, int]:
        """The desktop point of an event's (x, y) on the shared monitor, kept on that monitor."""
        width, height = self.frame_size
        x = min(max(float(event["x"]), 0), width - 1) * self.monitor.width / width
        y = min(max(float(event["y"]), 0), height - 1) * self.monitor.height / height
        return self.monitor.left + int(x), self.monitor.top + int(y)

    def _scroll(self, dx: float, dy: float) -> int:
        # Notches with the browser's sign (dy > 0 scrolls down); pynput's dy > 0 scrolls up.
        steps = (max(-MAX_WHEEL, min(MAX_WHEEL, int(dx))), max(-MAX_WHEEL, min(MAX_WHEEL, int(dy))))
        if steps == (0, 0):
            return 0
        self.backend.scroll(steps[0], -steps[1])
        return 1

    def _key(self, code: str, key: str, down: bool, mods: list[str]) -> int:
        target = key_for(code, key)
        if target is None:
            return 0
        if down:
            pressed = []
            if code not in _MODIFIER_CODES:
                held = {name for (kind, name) in self._keys if kind == "key"}
                for mod in mods:
                    name = MODIFIERS.get(mod)
                    if name and not any(h.startswith(name) for h in held):
                        self.backend.key("key", name, True)
                        pressed.append(("key", name))
            self.backend.key(*target, True)
            self._keys[target] = self._keys.get(target, []) + pressed
        else:
            self.backend.key(*target, False)
            for modifier in reversed(self._keys.pop(target, [])):
                self.backend.key(*modifier, False)
        return 1

    @staticmethod
    def _safely(call: Any, *args: Any) -> None:
        try:
            call(*args)
        except Exception as exc:  # letting go must never stop the worker
            log.debug("could not release %r: %s", args, exc)
