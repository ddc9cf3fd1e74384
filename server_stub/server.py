"""Running a server: the one way the CLI, the tests and the benchmarks start and
stop one.

    with running(app, "127.0.0.1", 0) as server:
        ...  # server.url answers until the block ends

``running`` starts the listener and the timers (expiry sweep, watchdog) on
threads of their own, so a server can run off the main thread; it installs no
signal handler (the CLI does). Leaving the block stops gracefully.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Callable, Iterator

from . import sessions
from .app import App
from .errors import ServerError
from .handler import Handler

log = logging.getLogger("sosdesk.server")

#: How long leaving ``running`` waits for the requests in flight to finish.
DRAIN_SECONDS = 5.0


class CannotListen(ServerError):
    """The address cannot be bound (in use, not ours, no permission)."""

    code = "cannot_listen"


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

    def reap(self, everyone: bool = False) -> int:
        """Shut down every connection past its deadline (or every waiting one); returns how many."""
        now = self.clock()
        with self._lock:
            late = [c for c, t in self._since.items() if everyone or now - t > self.limit]
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


def _tick(server: Server, stop: threading.Event, sweep_every: float) -> None:
    """Once a second until *stop*: the watchdog, the remote sessions' sweep (presence), a WAL
    checkpoint, and every *sweep_every* seconds the expiry sweep."""
    app = server.app
    last_sweep = 0.0
    while not stop.wait(1.0):
        try:
            server.watchdog.reap()
            sessions.sweep(app, app.clock())
            app.store.checkpoint()
            if time.monotonic() - last_sweep >= sweep_every:
                last_sweep = time.monotonic()
                expired = app.store.expire_due(int(app.clock()))
                if expired:
                    log.info("expired %d case(s)", expired)
        except Exception:  # the timer must outlive a bad moment (e.g. disk full)
            log.exception("periodic sweep failed; will retry")


@contextlib.contextmanager
def running(app: App, host: str = "127.0.0.1", port: int = 0,
            sweep_every: float = 30.0) -> Iterator[Server]:
    """Serve *app* on *host*:*port* (0: any free port) while the block runs.

    Raises CannotListen if the address cannot be bound (then nothing runs and
    the store stays open). Leaving the block, however it is left, stops
    gracefully: no new connection is accepted, long-polls answer at once (remote
    sessions end, recorded in their cases' history), idle
    connections close, the requests in flight finish (up to DRAIN_SECONDS), then
    the store is closed.
    """
    try:
        server = Server((host, port), app)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop_timers = threading.Event()
    timers = threading.Thread(target=_tick, args=(server, stop_timers, sweep_every),
                              name="sosdesk-timers", daemon=True)
    listener = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                name="sosdesk-listener", daemon=True)
    timers.start()
    listener.start()
    try:
        yield server
    finally:
        app.stopping.set()
        stop_timers.set()
        server.shutdown()  # serve_forever returns: nothing more is accepted
        server.server_close()
        app.store.wake_waiters()  # long-polls answer now instead of in 30 s
        sessions.stop_all(app, app.clock())  # and the sessions' long-polls and held uploads
        server.watchdog.reap(everyone=True)  # keep-alive connections waiting for a request
        if not server.wait_idle(DRAIN_SECONDS):
            log.warning("stopping with requests still in flight after %.0f s", DRAIN_SECONDS)
        timers.join(DRAIN_SECONDS)  # a sweep under way finishes before the store closes
        app.password_checks.close()
        app.store.close()
        log.info("stopped")


__all__ = ["CannotListen", "DRAIN_SECONDS", "Server", "Watchdog", "running"]
