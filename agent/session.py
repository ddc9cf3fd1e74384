"""The remote session on the customer's side: consent, screen sharing, remote control, chat.

Consent lives HERE, in :class:`SessionWorker`: the server and the expert can
only ask (a ``view_request`` or ``control_request`` in the inbox); only the
customer's click in the agent's own window (``allow_view``, ``allow_control``)
starts capturing or injecting, and Stop, closing the window or quitting end
both at once. Nothing in an inbox answer can set consent; the server's state
can only END it (a restarted server forgot the session, the expert left).

Threads: the inbox long-poll (:meth:`SessionWorker.run`, the agent's downlink
and its presence), one action thread for the customer's clicks (the window
never waits for the network) and, while viewing is allowed, the sharer
(agent.sharing) with one frame in flight. The client makes one attempt per
call (agent.client); this worker owns the retries of the session, with the
flow's back-off (at least MIN_DELAY). A failure while sharing ends the
sharing and tells the customer: after a server restart the expert asks
again and the customer answers again.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from .client import Client
from .errors import AgentError, CaseGone, ServerError
from .filelock import Held, try_lock
from .flow import MAX_DELAY, MIN_DELAY, backoff_delay
from .inject import Injector, InputBackend, PynputBackend
from .screen import Grabber, MssGrabber, wayland_session
from .sharing import Sharer

__all__ = ["SessionListener", "SessionWorker", "INBOX_WAIT", "END_REASONS"]

log = logging.getLogger(__name__)

#: Seconds the server may hold the inbox long-poll (the agent's heartbeat).
INBOX_WAIT = 25
#: Why a session ended, as the listener hears it.
END_REASONS = ("stopped", "disconnected", "lost", "ended", "capture_failed", "quit")
#: The inbox's answers for a case that ended: the session is over for good.
CASE_ENDED = ("case_closed", "case_expired")
#: Seconds between tries to become the one process answering the case's session.
LOCK_RETRY = 2.0


class SessionListener(Protocol):
    """What the window hears (from worker threads: it must hand over to its own thread)."""

    def on_view_request(self, expert: str) -> None:
        """Ask the customer: *expert* wants to see the screen."""

    def on_control_request(self, expert: str) -> None:
        """Ask the customer: *expert* wants to control mouse and keyboard."""

    def on_sharing(self, expert: str, control: bool) -> None:
        """Sharing runs (the bar shows), with or without control."""

    def on_session_end(self, reason: str) -> None:
        """Sharing (or a pending question) ended, for one of END_REASONS."""

    def on_chat(self, messages: list[dict[str, Any]]) -> None:
        """Chat messages to show (some may have been shown: their ids say so)."""

    def on_session_notice(self, key: str) -> None:
        """Something to tell the customer: ``wayland``, ``consent_failed``, ``chat_failed``."""


class SessionWorker:
    """Answers the expert's session for one case, by the customer's word only."""

    def __init__(self, client_factory: Callable[[], Client], token: str, listener: SessionListener, *,
                 stop: threading.Event | None = None, lock_path: Path | None = None,
                 grabber_factory: Callable[[], Grabber] = MssGrabber,
                 input_factory: Callable[[], InputBackend] = PynputBackend,
                 sharer_factory: Callable[..., Sharer] = Sharer,
                 env: Any = os.environ, wait: int = INBOX_WAIT,
                 backoff: Callable[[int], float] = backoff_delay,
                 clock: Callable[[], float] = time.monotonic,
                 run_action: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.client_factory = client_factory
        self.client = client_factory()
        self.token = token
        self.listener = listener
        self.stop = stop or threading.Event()
        self.lock_path = lock_path
        self.grabber_factory = grabber_factory
        self.input_factory = input_factory
        self.sharer_factory = sharer_factory
        self.wayland = wayland_session(env, _x_usable)
        self.wait = wait
        self.backoff = backoff
        self.clock = clock
        self._actions: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._run_action = run_action or self._actions.put
        self._lock = threading.RLock()
        self._input_lock = threading.Lock()
        # The customer's consent, as given in this agent's window: the one source of truth.
        self.expert = ""
        self.asked_view: int | None = None  # seq of the view request the customer is asked
        self.asked_control: int | None = None
        self.viewing = False
        self.controlling = False
        #: Counts every change of consent; an inbox answer judged against the state
        #: it was asked under must not undo a change made while it travelled.
        self.changes = 0
        self.sharer: Sharer | None = None
        self.injector: Injector | None = None
        self.monitor_index = 0
        self._held: Held | None = None

    # -- the customer's clicks (any thread; the network part runs on the action thread) --

    def allow_view(self) -> None:
        """The customer clicked Allow for the view request shown."""
        with self._lock:
            seq = self.asked_view
            if seq is None:
                return
            self.changes += 1
        self._run_action(lambda: self._answer_view(seq, True))

    def deny_view(self) -> None:
        """The customer clicked Deny."""
        with self._lock:
            seq, self.asked_view = self.asked_view, None
            if seq is None:
                return
            self.changes += 1
        self._run_action(lambda: self._post("consent", lambda c: c.consent(self.token, "view", False)))

    def allow_control(self) -> None:
        """The customer allowed control (only while viewing)."""
        with self._lock:
            seq = self.asked_control
            if seq is None or not self.viewing:
                return
            self.changes += 1
        self._run_action(lambda: self._answer_control(seq, True))

    def deny_control(self) -> None:
        """The customer declined control."""
        with self._lock:
            seq, self.asked_control = self.asked_control, None
            if seq is None:
                return
            self.changes += 1
        self._run_action(lambda: self._post("consent", lambda c: c.consent(self.token, "control", False)))

    def stop_sharing(self) -> None:
        """Stop: viewing and control end now; the server hears it after."""
        if self._end("stopped"):
            self._run_action(lambda: self._post("stop", lambda c: c.stop_session(self.token)))

    def send_chat(self, text: str) -> None:
        """Send a chat message; it shows once the server has it."""
        def send() -> None:
            message = self._post("chat", lambda c: c.send_chat(self.token, text))
            if isinstance(message, dict):
                self.listener.on_chat([message.get("message", message)])
        self._run_action(send)

    def shutdown(self, timeout: float = 2.0) -> None:
        """The window closes or the agent quits: end at once; tell the server within *timeout*."""
        self.stop.set()
        self._actions.put(None)
        if self._end("quit"):
            try:
                self.client_factory().stop_session(self.token, read_timeout=timeout)
            except AgentError as exc:
                log.info("could not tell the server the session stopped: %s", exc)
        if self._held is not None:
            self._held.release()

    # -- the inbox ------------------------------------------------------------------

    def run(self) -> None:
        """Answer the session until stopped or the case is gone (the inbox thread)."""
        if self.lock_path is not None:
            while (held := try_lock(self.lock_path)) is None:
                if self.stop.wait(LOCK_RETRY):
                    return
            self._held = held
        threading.Thread(target=self._act, name="session-actions", daemon=True).start()
        try:
            self._load_chat()
            self._poll()
        finally:
            self._actions.put(None)

    def _poll(self) -> None:
        since, synced, failures = 0, False, 0
        while not self.stop.is_set():
            changes = self.changes
            try:
                answer = self.client.inbox(self.token, since, self.wait if synced else 0)
            except AgentError as exc:
                log.info("session inbox: %s", exc)
                if isinstance(exc, CaseGone) or getattr(exc, "code", "") in CASE_ENDED:
                    self._end("ended")  # deleted, closed or expired: nothing more to answer
                    return
                if not exc.transient and not isinstance(exc, ServerError):
                    self._end("lost")  # e.g. a refused certificate: the case flow tells why
                    return
                self._end("lost")
                since, synced = 0, False  # catch up from scratch: the server may have restarted
                if self.stop.wait(max(MIN_DELAY, self.backoff(failures) if exc.transient else MAX_DELAY)):
                    return
                failures += 1
                continue
            failures = 0
            seq = int(answer.get("seq", 0))
            if synced and seq < since:  # the server restarted: its numbering began anew
                self._end("lost")
                since, synced = 0, False
            self.handle(answer, synced)
            synced = True
            since = seq
            self.reconcile(answer.get("session") or {}, changes)

    def handle(self, answer: dict[str, Any], synced: bool = True) -> None:
        """Act on one inbox answer; the first one after (re)connecting only brings things up to date."""
        messages = [m for m in answer.get("messages") or [] if isinstance(m, dict)]
        if not synced:
            state = answer.get("session") or {}
            chats = [m for m in messages if m.get("type") == "chat"]
            requests = [m for m in messages if m.get("type") == "view_request"]
            messages = chats + (requests[-1:] if state.get("view") == "requested" else [])
        for message in messages:
            try:
                self._message(message)
            except (KeyError, TypeError, ValueError) as exc:
                log.debug("skipped a malformed inbox message %r: %s", message.get("type"), exc)

    def _message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "view_request":
            self._view_requested(int(message.get("seq", 0)), str(message.get("expert") or ""))
        elif kind == "control_request":
            with self._lock:
                if not self.viewing:
                    return
                self.asked_control = int(message.get("seq", 0))
                self.changes += 1
            self.listener.on_control_request(self.expert)
        elif kind == "input":
            self._inject(message.get("events") or [])
        elif kind == "chat":
            chat = message.get("message")
            if isinstance(chat, dict):
                self.listener.on_chat([chat])
        elif kind == "refresh" and self.sharer is not None:
            self.sharer.refresh()
        elif kind == "monitor":
            self._switch_monitor(int(message["index"]))
        elif kind == "control_released":
            self._control_off()
        elif kind == "disconnect":  # the expert left, or the case ended (with a reason)
            self._end("ended" if message.get("reason") else "disconnected")

    def reconcile(self, state: dict[str, Any], changes: int) -> None:
        """The server's view of the session against the customer's; the customer's wins.

        Only when no consent changed while the answer travelled (*changes*).
        """
        with self._lock:
            if changes != self.changes or not state:
                return
            server_view, server_control = state.get("view"), state.get("control")
            viewing, controlling = self.viewing, self.controlling
        if viewing and server_view != "allowed":
            self._end("ended")  # the server forgot the session (restarted) or ended it
        elif server_view == "allowed" and not viewing:
            self._run_action(lambda: self._post("stop", lambda c: c.stop_session(self.token)))
        elif controlling and server_control != "allowed":
            self._control_off()
        elif server_control == "allowed" and not controlling:
            self._run_action(lambda: self._post("consent", lambda c: c.consent(self.token, "control", False)))

    # -- consent changes --------------------------------------------------------------

    def _view_requested(self, seq: int, expert: str) -> None:
        if self.wayland:  # nothing could be captured: say so to both sides instead of black
            self._run_action(lambda: self._post("screen-info", lambda c: c.screen_info(
                self.token, {"monitors": [], "monitor": 0, "wayland": True})))
            self.listener.on_session_notice("wayland")
            return
        self._end("ended")  # a new request is a new question: the earlier answer does not carry over
        with self._lock:
            self.asked_view, self.expert = seq, expert
            self.changes += 1
        self.listener.on_view_request(expert)

    def _answer_view(self, seq: int, allow: bool) -> None:
        if self._post("consent", lambda c: c.consent(self.token, "view", allow)) is None:
            with self._lock:
                if self.asked_view == seq:
                    self.asked_view = None
            self.listener.on_session_end("lost")
            return
        with self._lock:
            if self.asked_view != seq or self.stop.is_set():
                return  # withdrawn (disconnect, Stop, a newer request) while the answer travelled
            self.asked_view = None
            self.viewing = True
            self.changes += 1
            sharer = self.sharer = self.sharer_factory(
                self.client_factory, self.token, self.grabber_factory, self.monitor_index,
                lambda current: self.viewing and self.sharer is current, self._sharing_failed)
        sharer.start()
        self.listener.on_sharing(self.expert, False)

    def _answer_control(self, seq: int, allow: bool) -> None:
        # Control counts from the customer's click, before the server has the answer: the
        # server relays input only once it has it, and that input may reach the inbox before
        # the answer to this post reaches us (the expert's first click would be lost).
        with self._lock:
            if self.asked_control != seq or not self.viewing:
                return
            self.asked_control = None
            self.controlling = True
            self.changes += 1
        if self._post("consent", lambda c: c.consent(self.token, "control", allow)) is None:
            with self._lock:  # the server does not know it: no control (a newer question stays)
                self.controlling = False
                self.changes += 1
            self._drop_injector()
            return
        with self._lock:
            if not self.controlling:
                return  # Stop, a release or a new question while the answer travelled
        self.listener.on_sharing(self.expert, True)

    def _control_off(self) -> None:
        with self._lock:
            was, self.controlling = self.controlling, False
            self.asked_control = None
            self.changes += 1
            viewing = self.viewing
        self._drop_injector()
        if was and viewing:
            self.listener.on_sharing(self.expert, False)

    def _end(self, reason: str) -> bool:
        """End viewing, control and any question asked; True when there was something to end."""
        with self._lock:
            active = self.viewing or self.asked_view is not None or self.asked_control is not None
            self.viewing = self.controlling = False
            self.asked_view = self.asked_control = None
            self.sharer = None  # its loop sees it is no longer the current one and stops
            self.changes += 1
        self._drop_injector()
        if active and reason != "quit":
            self.listener.on_session_end(reason)
        return active

    def _sharing_failed(self, sharer: Sharer, reason: str) -> None:
        with self._lock:
            if self.sharer is not sharer:
                return
        self._end(reason)
        if reason == "capture_failed":
            self._run_action(lambda: self._post("stop", lambda c: c.stop_session(self.token)))

    # -- input and monitors ----------------------------------------------------------

    def _inject(self, events: list[Any]) -> None:
        with self._input_lock:
            if not self.controlling:  # checked at each batch: the customer's word only
                return
            if self.injector is None:
                sharer = self.sharer
                if sharer is None or sharer.monitor is None:
                    return
                try:
                    self.injector = Injector(self.input_factory(), sharer.monitor, sharer.frame_size)
                except AgentError as exc:
                    log.warning("remote control is not possible: %s", exc)
                    return
            self.injector.apply(events, self.clock())

    def _drop_injector(self) -> None:
        with self._input_lock:
            injector, self.injector = self.injector, None
        if injector is not None:
            injector.close()

    def _switch_monitor(self, index: int) -> None:
        self.monitor_index = index
        if self.sharer is not None:
            self.sharer.switch(index)
        self._drop_injector()  # made again for the new monitor's place

    # -- the action thread and its calls ------------------------------------------------

    def _act(self) -> None:
        while True:
            action = self._actions.get()
            if action is None:
                return
            try:
                action()
            except Exception:  # a bug in one action must not stop the customer's next click
                log.exception("session action failed")

    def _post(self, what: str, call: Callable[[Client], Any]) -> Any:
        """One call on the action thread's client: its answer, or None (logged, told)."""
        try:
            return call(self.client_factory())
        except AgentError as exc:
            log.info("session %s failed: %s", what, exc)
            if what in ("consent", "chat"):
                self.listener.on_session_notice(f"{what}_failed")
            return None

    def _load_chat(self) -> None:
        try:
            messages = self.client.chat(self.token).get("messages") or []
        except AgentError as exc:
            log.info("chat history: %s", exc)
            return
        if messages:
            self.listener.on_chat([m for m in messages if isinstance(m, dict)])


def _x_usable() -> bool:
    """Whether the X display of $DISPLAY answers (asked only when WAYLAND_DISPLAY is set too)."""
    try:
        import Xlib.display

        Xlib.display.Display().close()
    except Exception:
        return False
    return True
