"""pystray's xorg backend (X11 without GTK or AppIndicator), made safe to drive from threads.

On a loaded machine the tray icon sometimes never appeared in the panel, or its
tooltip stopped following the case. Three faults in the backend, each fixed in
the subclass ``icon_class`` returns:

- It asks the tray host to dock the icon at every change of the icon (showing
  it makes two requests). trayer, reading a request for a window it is still
  embedding, lets the window go again: when a busy host read an even number of
  them together, the icon was not in the panel. It now asks once per tray host.
- Other threads hand it work (new icon, new title) by sending an X message to
  its own window and flushing, on the X connection its event loop is reading.
  python-xlib cannot share a connection like that: a request the loop queued
  could stay unsent while the loop slept in ``select`` (the title changed in the
  agent but never on the screen), and a thread could wait for a reply that no
  other thread was left to read (the icon was never shown). Those messages now
  go over a connection of their own, so only the loop thread uses the loop's.
- It records the loop's thread only after it has started the setup callback,
  which hands the loop work at once: a callback quicker than that would fail
  with AttributeError. The thread is recorded first.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

__all__ = ["BACKEND", "icon_class"]

#: The module of pystray's xorg Icon.
BACKEND = "pystray._xorg"


def icon_class(base: type) -> type:
    """*base*, pystray's xorg Icon, with the faults in the module docstring fixed."""
    import Xlib.X
    import Xlib.display
    import Xlib.protocol.event

    class Icon(base):  # type: ignore[misc, valid-type]
        def _run(self) -> None:
            self._thread = threading.current_thread()
            super()._run()

        def _dock_window(self) -> None:
            # A new tray host (the old one's window destroyed) still gets a request,
            # from the base class's DestroyNotify handler.
            manager: Any = self._get_systray_manager()
            docked_to: Any = self._systray_manager
            if manager is not None and docked_to is not None and manager.id == docked_to.id:
                return
            super()._dock_window()

        def _rewrite_implementation(self, *methods: Callable[[], None]) -> None:
            # The base class maps an atom per method to a handler run by the loop, which
            # answers on self._queue; only the sending side is replaced here.
            super()._rewrite_implementation(*methods)
            self._messenger: Any = None
            self._messenger_lock = threading.Lock()
            for method in methods:
                atom = self._display.intern_atom(f"_PYSTRAY_{method.__name__.upper()}")
                setattr(self, method.__name__, self._run_in_loop(method, atom))

        def _run_in_loop(self, method: Callable[[], None], atom: int) -> Callable[[], None]:
            def run() -> None:
                loop = getattr(self, "_thread", None)
                if loop is None or loop is threading.current_thread():
                    method()  # the loop itself, or no loop yet: nobody else uses the connection
                    return
                with self._messenger_lock:  # one request at a time: the answers share a queue
                    if self._messenger is None:
                        self._messenger = Xlib.display.Display(self._display.get_display_name())
                    window = self._messenger.create_resource_object("window", self._window.id)
                    window.send_event(
                        Xlib.protocol.event.ClientMessage(
                            window=window, client_type=atom,
                            data=(32, (Xlib.X.CurrentTime, 0, 0, 0, 0))),
                        event_mask=Xlib.X.NoEventMask)
                    self._messenger.flush()
                    while True:
                        try:
                            result = self._queue.get(timeout=1.0)
                            break
                        except queue.Empty:
                            if not loop.is_alive():
                                return  # the icon was stopped: nothing left to change
                if result is not True:
                    raise result[1].with_traceback(result[2])

            run.__name__ = method.__name__
            return run

    Icon.__qualname__ = Icon.__name__ = f"Docked{base.__name__}"
    return Icon
