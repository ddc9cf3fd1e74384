"""The listening server: the connection watchdog, the count of requests in
flight, the timers, and serving until a signal."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Callable

from .app import App
from .handler import Handler

log = logging.getLogger("sosdesk.server")

class Watchdog:
    """Closes connections that take too long to send a request.

    A socket timeout alone lets a client that sends one byte every few seconds
    hold a thread forever; this bounds the whole request (or an idle keep-alive
    wait) to *limit* seconds.
    """

    def __init__(self, limit: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._since: dict[socket.socket, float] = {}
        self._lock = threading.Lock()

    def waiting(self, conn: socket.socket) -> None:
        """*conn* starts waiting for (the rest of) a request."""
        with self._lock:
            self._since[conn] = self.clock()

    def done(self, conn: socket.socket) -> None:
        """*conn*'s request is in (or the connection is over)."""
        with self._lock:
            self._since.pop(conn, None)

    def reap(self) -> int:
        """Shut down every connection past its deadline; returns how many."""
        now = self.clock()
        with self._lock:
            late = [c for c, t in self._since.items() if now - t > self.limit]
            for conn in late:
                del self._since[conn]
        for conn in late:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(late)


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deeper listen backlog, the app, its watchdog and a
    count of the requests in flight."""

    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.watchdog = Watchdog(app.settings.idle_timeout)
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        """The base URL the server answers on, e.g. http://127.0.0.1:8080."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def in_flight(self) -> int:
        """How many requests are being answered now."""
        return self._in_flight

    def request_started(self) -> None:
        """A request is being answered."""
        with self._idle:
            self._in_flight += 1

    def request_done(self) -> None:
        """A request has been answered."""
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def wait_idle(self, limit: float) -> bool:
        """Wait until no request is in flight, at most *limit* seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, limit)


def start_timers(server: Server, sweep_every: float = 30.0) -> threading.Event:
    """Run the expiry sweep and the watchdog until the returned event is set."""
    stop = threading.Event()
    app = server.app

    def loop() -> None:
        last_sweep = 0.0
        while not stop.wait(1.0):
            try:
                server.watchdog.reap()
                app.store.checkpoint()
                if time.monotonic() - last_sweep >= sweep_every:
                    last_sweep = time.monotonic()
                    expired = app.store.expire_due(int(app.clock()))
                    if expired:
                        log.info("expired %d case(s)", expired)
            except Exception:  # the timer must outlive a bad moment (e.g. disk full)
                log.exception("periodic sweep failed; will retry")

    threading.Thread(target=loop, name="sosdesk-timers", daemon=True).start()
    return stop


def serve(app: App, host: str, port: int, ready: Callable[[Server], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully."""
    server = Server((host, port), app)
    stop_timers = start_timers(server)

    def on_signal(signum: int, frame: object) -> None:
        log.info("stopping (signal %d)", signum)
        app.stopping.set()
        # shutdown() waits for serve_forever, so it must not run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if ready:
        ready(server)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stop_timers.set()
        app.stopping.set()
        server.server_close()
        app.store.wake_waiters()  # long-polls answer now instead of in 30 s
        server.wait_idle(5.0)
        app.password_checks.close()
        app.store.close()
        log.info("stopped")


__all__ = ["Server", "Watchdog", "serve", "start_timers"]
