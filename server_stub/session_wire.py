"""The remote session's wire formats (docs/remote-session.md): the FRAME body the
agent uploads and the viewer downloads, input events, screen info. Parsing
checks everything a client could get wrong and raises InvalidInput with a
stable code; nothing here does I/O or keeps state.

A FRAME is ``[4 bytes big-endian N][N bytes JSON header][payload]``; the
header's ``tiles`` are ``[x, y, w, h, length, format]`` in payload order.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

from .errors import InvalidInput

MAX_HEADER = 64 * 1024
MAX_SIDE = 16384
MAX_TILES = 16384
MAX_MONITORS = 16
#: The first bytes of each tile format: a tile must be what it says it is.
MAGIC = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}
MAX_EVENTS = 200
MAX_TEXT = 1000
BUTTONS = ("left", "middle", "right")
MODIFIERS = ("Shift", "Control", "Alt", "Meta", "AltGraph", "CapsLock")
COORD = 1_000_000


class Tile(NamedTuple):
    """One encoded rectangle of the screen."""

    x: int
    y: int
    w: int
    h: int
    fmt: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class Frame:
    """An uploaded frame: the agent's seq, the screen's size, the changed tiles."""

    seq: int
    width: int
    height: int
    monitor: int
    cursor: tuple[int, int] | None
    tiles: list[Tile]
    full: bool


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"not a valid frame: {message}", code="invalid_frame")


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def parse_frame(body: bytes) -> Frame:
    """An uploaded FRAME body -> Frame; InvalidInput ``invalid_frame`` saying what is wrong."""
    if len(body) < 4:
        raise _bad("it is shorter than its 4-byte header length")
    size = int.from_bytes(body[:4], "big")
    if size > MAX_HEADER or 4 + size > len(body):
        raise _bad(f"the header length {size} is over {MAX_HEADER} or past the body's end")
    try:
        header = json.loads(body[4:4 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad("the header is not JSON") from None
    if not isinstance(header, dict):
        raise _bad("the header is not a JSON object")
    seq, width, height = header.get("seq"), header.get("width"), header.get("height")
    monitor, cursor, tiles = header.get("monitor", 0), header.get("cursor"), header.get("tiles")
    full = header.get("full", False)
    if not _whole(seq, 0, 2**53):
        raise _bad("seq must be a whole number >= 0")
    if not (_whole(width, 1, MAX_SIDE) and _whole(height, 1, MAX_SIDE)):
        raise _bad(f"width and height must be 1-{MAX_SIDE}")
    if not _whole(monitor, 0, MAX_MONITORS - 1):
        raise _bad(f"monitor must be 0-{MAX_MONITORS - 1}")
    if cursor is not None and not (isinstance(cursor, list) and len(cursor) == 2
                                   and all(_whole(c, -COORD, COORD) for c in cursor)):
        raise _bad("cursor must be [x, y] or null")
    if not isinstance(full, bool):
        raise _bad("full must be true or false")
    if not isinstance(tiles, list) or len(tiles) > MAX_TILES:
        raise _bad(f"tiles must be a list of at most {MAX_TILES}")
    payload = memoryview(body)[4 + size:]
    parsed: list[Tile] = []
    offset = 0
    for n, tile in enumerate(tiles):
        if not (isinstance(tile, list) and len(tile) == 6 and all(_whole(v, 0, 2**31) for v in tile[:5])
                and tile[5] in MAGIC):
            raise _bad(f"tile {n} must be [x, y, w, h, length, \"jpeg\"|\"png\"]")
        x, y, w, h, length, fmt = tile
        if w < 1 or h < 1 or x + w > width or y + h > height:
            raise _bad(f"tile {n} lies outside the {width}x{height} screen")
        data = bytes(payload[offset:offset + length])
        if len(data) != length or not data.startswith(MAGIC[fmt]):
            raise _bad(f"tile {n}'s {length} bytes are missing or no {fmt}")
        offset += length
        parsed.append(Tile(x, y, w, h, fmt, data))
    if offset != len(payload):
        raise _bad(f"the payload has {len(payload) - offset} bytes no tile names")
    return Frame(seq, width, height, monitor, tuple(cursor) if cursor else None, parsed, full)


def encode_frame(header: dict[str, Any], tiles: list[Tile]) -> bytes:
    """A FRAME body: *header* (its ``tiles`` filled in from *tiles*) and their bytes."""
    header = {**header, "tiles": [[t.x, t.y, t.w, t.h, len(t.data), t.fmt] for t in tiles]}
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"".join([len(head).to_bytes(4, "big"), head, *(t.data for t in tiles)])


def decode_frame(body: bytes) -> tuple[dict[str, Any], list[Tile]]:
    """The header and tiles of a FRAME body as the server writes it (for tests and tools)."""
    size = int.from_bytes(body[:4], "big")
    header = json.loads(body[4:4 + size])
    tiles, offset = [], 4 + size
    for x, y, w, h, length, fmt in header["tiles"]:
        tiles.append(Tile(x, y, w, h, fmt, body[offset:offset + length]))
        offset += length
    return header, tiles


# -- input events (viewer -> agent) ------------------------------------------------------

def _input_event(event: Any) -> dict[str, Any] | None:
    """One event, checked and reduced to its known fields; None if it is not valid."""
    if not isinstance(event, dict):
        return None
    kind = event.get("t")
    if kind == "move" or kind in ("down", "up"):
        x, y = event.get("x"), event.get("y")
        if not (_whole(x, -COORD, COORD) and _whole(y, -COORD, COORD)):
            return None
        if kind == "move":
            return {"t": kind, "x": x, "y": y}
        button = event.get("b", "left")
        return {"t": kind, "b": button, "x": x, "y": y} if button in BUTTONS else None
    if kind == "wheel":
        dx, dy = event.get("dx", 0), event.get("dy", 0)
        if not (_whole(dx, -100, 100) and _whole(dy, -100, 100)):
            return None
        return {"t": kind, "dx": dx, "dy": dy}
    if kind == "key":
        code, key, down, mods = event.get("code"), event.get("key"), event.get("down"), event.get("mods", [])
        if not (isinstance(code, str) and len(code) <= 32 and isinstance(key, str) and len(key) <= 32
                and isinstance(down, bool) and isinstance(mods, list)
                and all(m in MODIFIERS for m in mods)):
            return None
        return {"t": kind, "code": code, "key": key, "down": down, "mods": list(dict.fromkeys(mods))}
    if kind == "text":
        text = event.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT or "\x00" in text:
            return None
        return {"t": kind, "text": text}
    return None


def input_events(body: Any) -> list[dict[str, Any]]:
    """The events of an input request ``{"events": [...]}`` (1-200), each checked."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidInput(f"the body must be {{\"events\": [...]}} with 1-{MAX_EVENTS} events",
                           code="invalid_input", fields={"events": f"a list of 1-{MAX_EVENTS} events"})
    checked = []
    for n, event in enumerate(events):
        valid = _input_event(event)
        if valid is None:
            raise InvalidInput(f"input event {n} is not valid (see docs/remote-session.md)",
                               code="invalid_input", fields={f"events.{n}": "not a valid input event"})
        checked.append(valid)
    return checked


# -- screen info (agent -> viewer) ------------------------------------------------------------

def screen_info(body: Any) -> dict[str, Any]:
    """``{"monitors": [{index, left, top, width, height}], "monitor": n, "wayland": bool}``, checked."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    monitors, monitor, wayland = body.get("monitors"), body.get("monitor", 0), body.get("wayland", False)
    errors: dict[str, str] = {}
    checked = []
    if not isinstance(monitors, list) or len(monitors) > MAX_MONITORS:
        errors["monitors"] = f"a list of at most {MAX_MONITORS} monitors"
    else:
        for n, item in enumerate(monitors):
            if not (isinstance(item, dict) and _whole(item.get("index"), 0, MAX_MONITORS - 1)
                    and all(_whole(item.get(k), -COORD, COORD) for k in ("left", "top"))
                    and all(_whole(item.get(k), 1, MAX_SIDE) for k in ("width", "height"))):
                errors[f"monitors.{n}"] = "{index, left, top, width, height} as whole numbers"
                continue
            checked.append({k: item[k] for k in ("index", "left", "top", "width", "height")})
        if len({m["index"] for m in checked}) != len(checked):
            errors["monitors"] = "each index once"
    if not _whole(monitor, 0, MAX_MONITORS - 1):
        errors["monitor"] = f"a monitor index 0-{MAX_MONITORS - 1}"
    elif checked and monitor not in {m["index"] for m in checked}:
        errors["monitor"] = "one of the monitors' indexes"
    if not isinstance(wayland, bool):
        errors["wayland"] = "true or false"
    for key in set(body) - {"monitors", "monitor", "wayland"}:
        errors[key] = "unknown field"
    if errors:
        raise InvalidInput("the screen info is not valid", fields=errors)
    return {"monitors": checked, "monitor": monitor, "wayland": wayland}
