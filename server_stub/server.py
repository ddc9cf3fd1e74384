"""Running a server: the one way the CLI, the tests and the benchmarks start and
stop one.

    with running(app, "127.0.0.1", 0) as server:
        ...  # server.url answers until the block ends

``running`` starts the listener and the timers (expiry sweep, watchdog) on
threads of their own, so a server can run off the main thread; it installs no
signal handler (the CLI does). Leaving the block stops gracefully.

With a ``tls.Certificate`` it serves https: each accepted connection does its
TLS handshake in its own thread, under the watchdog, before its first request;
``redirect_port`` adds a plain-HTTP listener that sends every request to https.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any, Callable, Iterator

from . import sessions
from .app import App
from .errors import ServerError
from .handler import Handler
from .http_api import dispatch
from .request import Response
from .tls import Certificate, handshake, redirect_answer

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
                # The socket's own shutdown, also for a TLS socket: SSLSocket.shutdown would
                # drop its TLS state under the thread still reading; this just ends that read.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass
        return len(late)


#: What answers a request: ``http_api.dispatch``, or the https redirect.
Answer = Callable[[App, str, str, Any, bytes, str], Response]


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deeper listen backlog, the app, its watchdog, a
    count of the requests in flight, and TLS when given a certificate."""

    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, tls: Certificate | None = None,
                 answer: Answer = dispatch) -> None:
        self.app = app
        self.tls = tls
        self.answer = answer
        #: Whether upload routes get their body as a stream (dispatch takes one; a redirect
        #: does not read bodies at all).
        self.streams_uploads = answer is dispatch
        self.watchdog = Watchdog(app.settings.idle_timeout)
        #: The plain-HTTP listener that redirects to this one (``running(redirect_port=)``).
        self.redirect: Server | None = None
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        """The base URL the server answers on, e.g. http://127.0.0.1:8080."""
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Answer one connection (in its own thread); with TLS, after the handshake."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        if self.app.stopping.is_set():
            return
        secured = handshake(request, self.tls, self.watchdog, self.app.settings.idle_timeout)
        if secured is None:
            return
        try:
            super().finish_request(secured, client_address)
        finally:
            # socketserver closes the socket it accepted, which the TLS socket took over.
            self.shutdown_request(secured)

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


def _tick(servers: list[Server], stop: threading.Event, sweep_every: float) -> None:
    """At once, then once a second until *stop*: the watchdogs, the remote sessions' sweep (presence), a WAL
    checkpoint, and every *sweep_every* seconds the expiry sweep, then the release of what ended
    cases held (their codes and devices; Store.release_holds)."""
    app = servers[0].app
    last_sweep = None
    while True:
        try:
            for server in servers:
                server.watchdog.reap()
            sessions.sweep(app, app.clock())
            app.store.checkpoint()
            # The first sweep at once: a backlog from downtime need not wait for the second.
            if last_sweep is None or time.monotonic() - last_sweep >= sweep_every:
                last_sweep = time.monotonic()
                expired = app.store.expire_due(int(app.clock()))
                if expired:
                    log.info("expired %d case(s)", expired)
                released = app.store.release_holds()
                if released:
                    log.info("released %d hold(s) of ended cases", released)
        except Exception:  # the timer must outlive a bad moment (e.g. disk full)
            log.exception("periodic sweep failed; will retry")
        if stop.wait(1.0):
            return


def _listen(host: str, port: int, app: App, **kwargs: Any) -> Server:
    try:
        return Server((host, port), app, **kwargs)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def running(app: App, host: str = "127.0.0.1", port: int = 0, sweep_every: float = 30.0,
            tls: Certificate | None = None, redirect_port: int | None = None) -> Iterator[Server]:
    """Serve *app* on *host*:*port* (0: any free port) while the block runs.

    With *tls*, the server speaks https only; *redirect_port* (with *tls*) also
    listens for plain HTTP there and redirects every request to https.
    Raises CannotListen if an address cannot be bound (then nothing runs and
    the store stays open). Leaving the block, however it is left, stops
    gracefully: no new connection is accepted, long-polls answer at once (remote
    sessions end, recorded in their cases' history), idle
    connections close, the requests in flight finish (up to DRAIN_SECONDS), then
    the store is closed.
    """
    if redirect_port is not None and tls is None:
        raise ValueError("a redirect to https needs a TLS certificate")
    app.scheme = "https" if tls is not None else "http"
    server = _listen(host, port, app, tls=tls)
    servers = [server]
    if redirect_port is not None:
        try:
            https_port = server.server_address[1]
            wildcard = host in ("", "0.0.0.0", "::")
            server.redirect = _listen(host, redirect_port, app,
                                      answer=redirect_answer(https_port, None if wildcard else host))
        except CannotListen:
            server.server_close()
            raise
        servers.append(server.redirect)
    stop_timers = threading.Event()
    timers = threading.Thread(target=_tick, args=(servers, stop_timers, sweep_every),
                              name="sosdesk-timers", daemon=True)
    listeners = [threading.Thread(target=each.serve_forever, kwargs={"poll_interval": 0.1},
                                  name="sosdesk-listener", daemon=True) for each in servers]
    timers.start()
    for listener in listeners:
        listener.start()
    try:
        yield server
    finally:
        app.stopping.set()
        stop_timers.set()
        for each in servers:
            each.shutdown()  # serve_forever returns: nothing more is accepted
            each.server_close()
        app.store.wake_waiters()  # long-polls answer now instead of in 30 s
        sessions.stop_all(app, app.clock())  # and the sessions' long-polls and held uploads
        for each in servers:
            each.watchdog.reap(everyone=True)  # keep-alive connections waiting for a request
        if not all(each.wait_idle(DRAIN_SECONDS) for each in servers):
            log.warning("stopping with requests still in flight after %.0f s", DRAIN_SECONDS)
        timers.join(DRAIN_SECONDS)  # a sweep under way finishes before the store closes
        app.password_checks.close()
        app.store.close()
        log.info("stopped")


__all__ = ["CannotListen", "DRAIN_SECONDS", "Server", "Watchdog", "running"]
