"""The newest picture of a shared screen, kept in server memory for the viewer:
bounded by one screen's worth, never a queue of frames. No I/O, no clock."""

from __future__ import annotations

from .session_wire import Frame, Tile

#: At least this much tile data is kept per screen (or its size as raw RGBA, if more).
MIN_SCREEN_BUDGET = 8 * 1024 * 1024


class FrameBuffer:
    """The newest picture of the shared screen: the newest tile per position, each with
    the version that brought it, in the order they arrived (a later tile covers an earlier one).

    A full frame (or a new size or monitor) replaces everything. Past one screen's
    worth of bytes everything is dropped and the agent asked for a full frame.
    """

    __slots__ = ("width", "height", "monitor", "cursor", "tiles", "full_version", "version", "size")

    def __init__(self) -> None:
        self.width = self.height = self.monitor = 0
        self.cursor: tuple[int, int] | None = None
        self.tiles: dict[tuple[int, int, int, int], tuple[int, Tile]] = {}
        self.full_version = self.version = 0
        self.size = 0  # bytes of tile data held

    def budget(self) -> int:
        """How many bytes of tiles the picture may hold."""
        return max(MIN_SCREEN_BUDGET, self.width * self.height * 4)

    def clear(self, version: int) -> None:
        """Forget the picture; a viewer's next fetch starts over."""
        self.tiles.clear()
        self.size = 0
        self.full_version = self.version = version

    def put(self, frame: Frame, version: int) -> bool:
        """Take a frame as *version*; False if the picture is incomplete (ask for a full frame)."""
        reshaped = (frame.width, frame.height, frame.monitor) != (self.width, self.height, self.monitor)
        if frame.full or reshaped:
            self.clear(version)
            self.width, self.height, self.monitor = frame.width, frame.height, frame.monitor
        self.cursor = frame.cursor
        self.version = version
        for tile in frame.tiles:
            key = (tile.x, tile.y, tile.w, tile.h)
            old = self.tiles.pop(key, None)
            if old is not None:
                self.size -= len(old[1].data)
            self.tiles[key] = (version, tile)
            self.size += len(tile.data)
        if self.size > self.budget():
            self.clear(version)
            return False
        return frame.full or not reshaped

    def since(self, version: int) -> tuple[list[Tile], bool]:
        """(tiles, full): what a viewer that has *version* lacks; the whole picture if it
        predates the last full frame (or is no version of this picture)."""
        if version < self.full_version or version > self.version:
            return [tile for _, tile in self.tiles.values()], True
        return [tile for v, tile in self.tiles.values() if v > version], False
