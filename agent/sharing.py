"""The sharer: captures the allowed monitor and uploads what changed, one frame in flight.

Started by agent.session only after the customer allowed viewing, and it asks
``is_current`` before every capture and every upload, so Stop (or any end of
consent) stops it at its next step, within one frame. The upload's answer is
held by the server until the viewer took the previous frame: that is the flow
control, and the time it takes is the throughput the quality follows.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from .client import Client
from .errors import AgentError, ServerError
from .screen import CaptureFailed, FrameEncoder, Grabber, Monitor, ThroughputMeter, quality_for

__all__ = ["Sharer", "ACTIVE_INTERVAL", "IDLE_INTERVAL", "default_pointer"]

log = logging.getLogger(__name__)

#: Shortest time between two captures while the screen changes (at most 30 frames a second).
ACTIVE_INTERVAL = 1 / 30
#: Time between two captures of a still screen (how soon a change is noticed).
IDLE_INTERVAL = 0.1
#: After this long without a change the screen counts as still.
SETTLED_AFTER = 1.0

Pointer = Callable[[], "tuple[int, int] | None"]


def default_pointer() -> Pointer:
    """Where the pointer is on the desktop, with pynput; a source of None where that fails."""
    try:
        from pynput import mouse

        controller = mouse.Controller()
    except Exception as exc:  # no display, no backend: frames go without a cursor
        log.debug("no pointer position: %s", exc)
        return lambda: None

    def position() -> tuple[int, int] | None:
        try:
            x, y = controller.position
        except Exception:
            return None
        return int(x), int(y)

    return position


class Sharer:
    """Captures one monitor and uploads frames while it is the session's current sharer."""

    def __init__(self, client_factory: Callable[[], Client], token: str,
                 grabber_factory: Callable[[], Grabber], monitor_index: int,
                 is_current: Callable[["Sharer"], bool], on_failure: Callable[["Sharer", str], None], *,
                 clock: Callable[[], float] = time.monotonic,
                 pointer_factory: Callable[[], Pointer] = default_pointer) -> None:
        self.client_factory = client_factory
        self.token = token
        self.grabber_factory = grabber_factory
        self.is_current = is_current
        self.on_failure = on_failure
        self.clock = clock
        self.pointer_factory = pointer_factory
        self.monitor_index = monitor_index
        self.monitor: Monitor | None = None
        self.frame_size: tuple[int, int] | None = None
        self.encoder = FrameEncoder()
        self.meter = ThroughputMeter()
        self.seq = 0
        self.sent_bytes = 0
        self._wanted: int | None = None  # a monitor the viewer asked for
        self._refresh = threading.Event()
        self._wake = threading.Event()
        self._last_change = float("-inf")
        self.client: Client | None = None
        self.grabber: Grabber | None = None
        self.pointer: Pointer = lambda: None

    # -- from other threads -------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Run in a thread of its own (mss wants capture in the thread that opened it)."""
        thread = threading.Thread(target=self.run, name="session-sharer", daemon=True)
        thread.start()
        return thread

    def refresh(self) -> None:
        """Send a full frame next (the viewer asked)."""
        self._refresh.set()
        self._wake.set()

    def switch(self, index: int) -> None:
        """Share monitor *index* from the next frame on."""
        self._wanted = index
        self._wake.set()

    # -- the sharer's thread ------------------------------------------------------------

    def run(self) -> None:
        """Open the screen, say what it is, then capture and upload until no longer current."""
        try:
            self.open()
            while self.is_current(self):
                started = self.clock()
                sent = self.step()
                self._pause(sent, started)
        except CaptureFailed as exc:
            log.warning("screen sharing stopped: %s", exc)
            self.on_failure(self, "capture_failed")
        except ServerError as exc:
            log.info("screen sharing ended by the server: %s", exc)
            self.on_failure(self, "lost" if exc.transient else "ended")
        except AgentError as exc:
            log.info("screen sharing lost its server: %s", exc)
            self.on_failure(self, "lost")
        finally:
            if self.grabber is not None:
                self.grabber.close()

    def open(self) -> None:
        """The grabber, the pointer source and the shared monitor, announced to the server."""
        self.client = self.client_factory()
        self.grabber = self.grabber_factory()
        self.pointer = self.pointer_factory()
        self._choose(self.monitor_index)

    def step(self) -> bool:
        """One capture; the frame of what changed uploaded if there is one. True when one was sent."""
        assert self.grabber is not None and self.client is not None and self.monitor is not None
        if self._wanted is not None:
            wanted, self._wanted = self._wanted, None
            self._choose(wanted)
        if self._refresh.is_set():
            self._refresh.clear()
            self.encoder.reset()
        if not self.is_current(self):
            return False
        shot = self.grabber.grab(self.monitor)
        self.frame_size = (shot.width, shot.height)
        now = self.clock()
        frame = self.encoder.encode(shot, now, quality_for(self.meter.estimate()), self._cursor())
        if frame is None:
            return False
        if frame.header["tiles"]:
            self._last_change = now
        if not self.is_current(self):  # Stop while encoding: this frame is never sent
            return False
        self.seq += 1
        body = frame.pack(self.seq)
        started = self.clock()
        self.client.upload_frame(self.token, body)
        self.meter.record(len(body), self.clock() - started)
        self.sent_bytes += len(body)
        return True

    def _choose(self, index: int) -> None:
        assert self.grabber is not None and self.client is not None
        monitors = self.grabber.monitors()
        if not monitors:
            raise CaptureFailed("no monitor to capture")
        chosen = next((m for m in monitors if m.index == index), monitors[0])
        self.monitor, self.monitor_index = chosen, chosen.index
        self.encoder.reset(chosen.index)
        self.client.screen_info(self.token, {"monitors": [m.as_json() for m in monitors],
                                             "monitor": chosen.index, "wayland": False})

    def _cursor(self) -> tuple[int, int] | None:
        at = self.pointer()
        monitor = self.monitor
        if at is None or monitor is None or not monitor.contains(*at):
            return None
        x, y = at[0] - monitor.left, at[1] - monitor.top
        if self.frame_size and self.frame_size != (monitor.width, monitor.height):
            x, y = x * self.frame_size[0] // monitor.width, y * self.frame_size[1] // monitor.height
        return x, y

    def _pause(self, sent: bool, started: float) -> None:
        """Wait until the next capture is due, counted from the start of the one just done
        (*started*): soon while things change, later once still. The time the capture, the
        encoding and the upload took is part of the interval, not added to it (that would
        cap a changing screen at well under 30 frames a second)."""
        now = self.clock()
        still = now - self._last_change > SETTLED_AFTER
        interval = IDLE_INTERVAL if still and not sent else ACTIVE_INTERVAL
        self._wake.wait(max(0.0, started + interval - now))
        self._wake.clear()

    def stats(self) -> dict[str, Any]:
        """What was sent so far (for logs and the bench)."""
        return {"frames": self.seq, "bytes": self.sent_bytes, "throughput": self.meter.estimate()}
