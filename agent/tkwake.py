"""Waking Tk's thread from other threads without polling.

Tk may only be touched from the thread that made it, so the agent's workers
hand their events over a queue. Draining it with ``after(100)`` woke the idle
window ten (twenty, with the session panel's 50 ms) times a second, and Tcl's
notifier thread with it: ~220 wake-ups a second for a window showing a code.

Here a worker's ``put`` also writes a byte to a pipe whose reading end Tk
watches (``createfilehandler``): Tk's thread sleeps until there is something
to show. Where Tk cannot watch a pipe (Windows), it falls back to polling.
The signal wake-up fd can be pointed at the same pipe, so a SIGTERM is
handled at once too (a Python signal handler runs only when the main thread
runs Python, which an idle Tk loop no longer does on its own).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
from typing import Any, Callable

__all__ = ["Wakeup", "WakingQueue"]


class Wakeup:
    """Runs *callback* on Tk's thread soon after any thread calls ``wake()``."""

    def __init__(self, root: Any, callback: Callable[[], None], poll_ms: int = 100) -> None:
        import tkinter

        self.root, self.callback, self.poll_ms = root, callback, poll_ms
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._closed = False
        try:
            root.tk.createfilehandler(self._read, tkinter.READABLE, self._ready)
            self.polling = False
        except (AttributeError, NotImplementedError, tkinter.TclError):  # Windows
            self.polling = True
            root.after(poll_ms, self._poll)

    def wake(self) -> None:
        """Ask Tk's thread to run the callback (any thread; never blocks)."""
        with contextlib.suppress(BlockingIOError, OSError):  # full: a wake-up is pending anyway
            os.write(self._write, b"!")

    def wake_on_signals(self) -> int:
        """Make signals wake Tk's thread (main thread only); returns the old wake-up fd."""
        return signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def _ready(self, fd: int, mask: int) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._read, 4096):
                pass
        self.callback()

    def _poll(self) -> None:
        if self._closed:
            return
        self.callback()
        with contextlib.suppress(Exception):  # the window is gone
            self.root.after(self.poll_ms, self._poll)

    def close(self) -> None:
        """Stop watching and close the pipe (Tk's thread)."""
        if self._closed:
            return
        self._closed = True
        if not self.polling:
            with contextlib.suppress(Exception):
                self.root.tk.deletefilehandler(self._read)
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


class WakingQueue(queue.Queue):
    """A queue whose ``put`` also wakes Tk's thread (set ``wakeup`` once Tk exists)."""

    wakeup: Wakeup | None = None

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        if self.wakeup is not None:
            self.wakeup.wake()
