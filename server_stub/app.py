"""Wiring: configuration, the listening server, timers, signals. The only module
that reads the clock for the rules (it passes ``now`` to the store)."""

from __future__ import annotations

import dataclasses
import logging
import signal
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Callable

from . import __version__, core
from .auth import PasswordChecks
from .http_api import Handler
from .ratelimit import RateLimiter
from .store import Store

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
        with self._lock:
            self._since[conn] = self.clock()

    def done(self, conn: socket.socket) -> None:
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


@dataclasses.dataclass
class App:
    """Everything a request handler needs, in one place."""

    store: Store
    clock: Callable[[], float] = time.time
    version: str = __version__
    max_body: int = 64 * 1024
    idle_timeout: float = 15.0  # per socket operation and per whole request
    session_ttl: int = 12 * 3600
    secure_cookies: bool = False
    sos_per_10min: int = 20
    stopping: bool = False

    def __post_init__(self) -> None:
        self.login_limiter = RateLimiter(burst=5, period=300)  # per address and name
        self.login_ip_limiter = RateLimiter(burst=20, period=300)  # per address
        # Wrong codes per address: 10 at once, then one per 6 minutes. A customer
        # mistypes a few times; a guesser gets ~250 tries a day (docs/security.md).
        self.code_limiter = RateLimiter(burst=10, period=3600)
        self.sos_limiter = RateLimiter(burst=self.sos_per_10min, period=600)  # new cases per address
        # Log-ins from all addresses together: 2 scrypt checks at once (16 MiB each).
        self.password_checks = PasswordChecks(slots=2, wait=3.0)
        self.watchdog = Watchdog(self.idle_timeout)
        self._busy = 0
        self._idle = threading.Condition()

    def busy(self, delta: int) -> None:
        """Count requests in flight (+1 when one starts, -1 when it ends)."""
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def wait_idle(self, limit: float) -> bool:
        """Wait until no request is in flight, at most *limit* seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, limit)


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deeper listen backlog and the app attached."""

    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_timers(server: Server, sweep_every: float = 30.0) -> threading.Event:
    """Run the expiry sweep and the watchdog until the returned event is set."""
    stop = threading.Event()
    app = server.app

    def loop() -> None:
        last_sweep = 0.0
        while not stop.wait(1.0):
            try:
                app.watchdog.reap()
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
        app.stopping = True
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
        app.stopping = True
        server.server_close()
        app.store.wake_waiters()  # long-polls answer now instead of in 30 s
        app.wait_idle(5.0)
        app.password_checks.close()
        app.store.close()
        log.info("stopped")


__all__ = ["App", "Server", "serve", "start_timers", "Watchdog", "core"]
