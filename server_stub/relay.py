"""The remote session's live state, per case, in server memory only.

``RelayHub.get(case_id, now) -> CaseRelay`` and ``RelayHub.drop(case_id)`` are
the whole interface the routes see, so that a later multi-server deployment
can route one case's traffic to one node. A CaseRelay keeps:

- the consent state (view and control: none | requested | allowed | denied),
  changed only by ``plan`` + ``apply`` (sessions.py records each change in the
  history between the two, under ``ops``);
- presence: the agent's and the viewer's polls (in flight, and when last seen);
- the newest picture (FrameBuffer): one screen's worth, never a queue;
- two bounded inboxes: the agent's messages and the viewer's events, each
  numbered, so a long-poll asks for what came after the number it has;
- one condition that every long-poll waits on.

Numbers start at the relay's creation time in milliseconds, so that a relay
made again (after a restart or an idle drop) numbers past the old one, and a
client's older number gives it everything kept. No I/O and no clock here:
every method takes *now* (seconds).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from .consent import ALLOWED, DENIED, NONE, Change, plan
from .errors import Conflict
from .framebuffer import FrameBuffer
from .session_wire import Frame, Tile

AGENT_ONLINE_SECONDS = 40
VIEWER_ATTACHED_SECONDS = 10
INBOX_LIMIT = 512
EVENT_LIMIT = 256
IDLE_DROP_SECONDS = 300
STATS_WINDOW = 2.0


class CaseRelay:
    """One case's live session state (see the module docstring). Thread-safe.

    Every agent that polls has one, so it is small until used: lists, not deques
    (~1.5 KB empty), bounded by hand.
    """

    __slots__ = ("case_id", "cond", "ops", "view", "control", "expert", "monitors", "monitor",
                 "wayland", "screen", "frame_version", "viewer_fetched", "_uploads", "_traffic",
                 "inbox", "inbox_seq", "events", "event_seq", "_agent_polls", "_viewer_polls",
                 "_agent_seen", "_viewer_seen", "reported", "last_active", "established", "ended",
                 "stopping")

    def __init__(self, case_id: int, now: float) -> None:
        self.case_id = case_id
        self.cond = threading.Condition()
        #: Held from a plan to its apply, around the history write between them.
        self.ops = threading.Lock()
        base = int(now * 1000)
        self.view = self.control = NONE
        self.expert = ""
        self.monitors: list[dict[str, int]] = []
        self.monitor = 0
        self.wayland = False
        self.screen = FrameBuffer()
        self.frame_version = self.viewer_fetched = self.screen.full_version = self.screen.version = base
        self._uploads: list[tuple[int, int, float]] = []  # (version, agent seq, when): the last 8
        self._traffic: list[tuple[float, int]] = []  # (when, bytes) of the last STATS_WINDOW s
        self.inbox: list[dict[str, Any]] = []
        self.inbox_seq = base
        self.events: list[dict[str, Any]] = []
        self.event_seq = base
        self._agent_polls = self._viewer_polls = 0
        self._agent_seen: float | None = None
        self._viewer_seen: float | None = None
        self.reported = (False, False)  # (online, attached) as last told (presence_changed)
        self.last_active = now
        self.established = False
        self.ended = False
        self.stopping = False

    # -- presence ---------------------------------------------------------------------

    def agent_poll(self, now: float, started: bool) -> None:
        """The agent's long-poll (inbox or case) starts or ends; any agent request counts as seen."""
        with self.cond:
            self._agent_polls += 1 if started else -1
            self._agent_seen = self.last_active = now

    def viewer_poll(self, now: float, started: bool) -> None:
        """The viewer's long-poll starts or ends: polling attaches the viewer."""
        with self.cond:
            self._viewer_polls += 1 if started else -1
            self._viewer_seen = self.last_active = now

    def seen(self, side: str, now: float) -> None:
        """A request from the agent or the viewer other than its long-poll (it is there)."""
        with self.cond:
            if side == "agent":
                self._agent_seen = now
            else:
                self._viewer_seen = now
            self.last_active = now

    def online(self, now: float) -> bool:
        """Whether the customer's agent is there: polling now, or seen within 40 s."""
        return self._agent_polls > 0 or (self._agent_seen is not None
                                         and now - self._agent_seen <= AGENT_ONLINE_SECONDS)

    def viewer_attached(self, now: float) -> bool:
        """Whether the assignee's viewer is there: polling now, or within 10 s."""
        return self._viewer_polls > 0 or (self._viewer_seen is not None
                                          and now - self._viewer_seen <= VIEWER_ATTACHED_SECONDS)

    def presence_changed(self, now: float) -> bool:
        """Whether online or viewer_attached changed since last asked (then the viewer is told)."""
        with self.cond:
            current = (self.online(now), self.viewer_attached(now))
            if current == self.reported:
                return False
            self.reported = current
            self._emit({"type": "presence", "online": current[0], "viewer_attached": current[1]})
            self.cond.notify_all()
            return True

    def idle(self, now: float) -> bool:
        """Nothing to keep: no session, nobody there, nothing for a while."""
        return (self.view in (NONE, DENIED) and self.control == NONE and not self.online(now)
                and not self.viewer_attached(now) and now - self.last_active > IDLE_DROP_SECONDS)

    # -- what the clients read ----------------------------------------------------------

    def session(self, now: float) -> dict[str, Any]:
        """The session's state as both sides read it."""
        return {"view": self.view, "control": self.control, "expert": self.expert,
                "viewer_attached": self.viewer_attached(now), "agent_online": self.online(now),
                "monitor": self.monitor, "monitors": list(self.monitors), "wayland": self.wayland,
                "ended": self.ended}

    def remote(self, now: float) -> dict[str, Any] | None:
        """The ``remote`` object of the expert's case view; None while there is no session."""
        attached = self.viewer_attached(now)
        if self.view == NONE and self.control == NONE and not attached:
            return None
        return {"view": self.view, "control": self.control, "viewer_attached": attached,
                "monitor": self.monitor}

    # -- consent ----------------------------------------------------------------------

    def plan(self, action: str) -> Change:
        """What *action* would change now (see ``plan``); call with ``ops`` held."""
        with self.cond:
            if self.ended:
                raise Conflict("the session has ended with the case", code="session_ended")
            return plan(self.view, self.control, action)

    def apply(self, change: Change, expert: str = "", by: str = "") -> None:
        """Make a planned change, tell the agent and the viewer what they need to know."""
        with self.cond:
            if change.event is None and (change.view, change.control) == (self.view, self.control):
                return
            was_viewing = self.view == ALLOWED
            self.view, self.control = change.view, change.control
            if change.action in ("request_view", "request_control") and expert:
                self.expert = expert
            message = {"request_view": {"type": "view_request", "expert": self.expert},
                       "request_control": {"type": "control_request", "expert": self.expert},
                       "release_control": {"type": "control_released"},
                       "disconnect": {"type": "disconnect"}}.get(change.action)
            if message:
                self._send(message)
            if was_viewing and self.view != ALLOWED:
                self.screen.clear(self._next_frame_version())
                self.established = False
            if change.action == "disconnect":
                self._viewer_seen = None  # the viewer left with it
            if change.event:
                self._emit({"type": change.event, **({"by": by} if by else {})})
            self.cond.notify_all()

    # -- messages to the agent ------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> int:
        """Put a message in the agent's inbox; returns its seq."""
        with self.cond:
            seq = self._send(message)
            self.cond.notify_all()
            return seq

    def _send(self, message: dict[str, Any]) -> int:
        self.inbox_seq += 1
        self.inbox.append({**message, "seq": self.inbox_seq})
        if len(self.inbox) > INBOX_LIMIT:  # old input goes first: it is stale anyway
            for n, old in enumerate(self.inbox):
                if old["type"] == "input":
                    del self.inbox[n]
                    break
            else:
                del self.inbox[0]
        return self.inbox_seq

    def inbox_since(self, since: int) -> tuple[int, list[dict[str, Any]]]:
        """(newest seq, the agent's messages after *since*); everything kept if *since* is no
        number of this relay's (from before a restart, or older than the oldest kept)."""
        with self.cond:
            if since > self.inbox_seq or (self.inbox and since < self.inbox[0]["seq"] - 1):
                return self.inbox_seq, list(self.inbox)
            return self.inbox_seq, [m for m in self.inbox if m["seq"] > since]

    def wait_inbox(self, since: int, timeout: float) -> None:
        """Wait (at most *timeout* s) until the inbox has something after *since*."""
        with self.cond:
            self.cond.wait_for(lambda: since != self.inbox_seq or self.ended or self.stopping,
                               timeout)

    # -- events for the viewer ------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """Tell the viewer something (a chat message, the screen's layout, ...)."""
        with self.cond:
            self._emit(event)
            self.cond.notify_all()

    def _emit(self, event: dict[str, Any]) -> None:
        self.event_seq += 1
        self.events.append({**event, "seq": self.event_seq})
        if len(self.events) > EVENT_LIMIT:
            del self.events[0]

    def events_since(self, since: int) -> list[dict[str, Any]]:
        """The viewer's events after *since* (everything kept if *since* is no number of ours)."""
        with self.cond:
            if since > self.event_seq or (self.events and since < self.events[0]["seq"] - 1):
                return list(self.events)
            return [e for e in self.events if e["seq"] > since]

    # -- the picture ------------------------------------------------------------------------

    def set_screen(self, info: dict[str, Any]) -> None:
        """The agent's screen layout (monitors, the shared one, whether capture is impossible)."""
        with self.cond:
            self.monitors, self.monitor, self.wayland = info["monitors"], info["monitor"], info["wayland"]
            self._emit({"type": "screen", **info})
            self.cond.notify_all()

    def _next_frame_version(self) -> int:
        self.frame_version += 1
        return self.frame_version

    def put_frame(self, frame: Frame, now: float, size: int) -> tuple[int, int]:
        """Keep an uploaded frame (*size* bytes); returns (its version, the one before it).

        Raises Conflict ``no_consent`` unless viewing is allowed.
        """
        with self.cond:
            if self.view != ALLOWED or self.ended:
                raise Conflict("the customer has not allowed viewing the screen", code="no_consent")
            previous = self.frame_version
            version = self._next_frame_version()
            if not self.screen.put(frame, version):
                self._send({"type": "refresh"})
            self._uploads.append((version, frame.seq, now))
            del self._uploads[:-8]
            self._traffic.append((now, size))
            while self._traffic and now - self._traffic[0][0] > STATS_WINDOW:
                del self._traffic[0]
            self.last_active = now
            self.cond.notify_all()
            return version, previous

    def wait_fetched(self, version: int, timeout: float) -> None:
        """Hold an upload until the viewer has fetched *version* (flow control), at most *timeout* s."""
        with self.cond:
            self.cond.wait_for(lambda: self.viewer_fetched >= version or self.view != ALLOWED
                               or self.ended or self.stopping, timeout)

    def viewer_agent_seq(self) -> int | None:
        """The agent's seq of the newest frame the viewer has fetched (None: none of these)."""
        with self.cond:
            fetched = [seq for version, seq, _ in self._uploads if version <= self.viewer_fetched]
            return fetched[-1] if fetched else None

    def wait_viewer(self, since_frame: int, since_event: int, timeout: float) -> None:
        """Wait (at most *timeout* s) for a frame newer than *since_frame* or an event after *since_event*."""
        with self.cond:
            self.cond.wait_for(lambda: since_frame != self.frame_version
                               or since_event != self.event_seq or self.ended or self.stopping,
                               timeout)

    def fetch(self, since_frame: int, since_event: int, now: float) -> tuple[dict[str, Any], list[Tile]]:
        """What the viewer gets: the FRAME header (with events, session and stats) and its tiles.

        Records the frame version as fetched (the uploads held for it go on).
        """
        with self.cond:
            screen = self.screen
            tiles, full = screen.since(since_frame) if since_frame != self.frame_version else ([], False)
            newest = self._uploads[-1][2] if self._uploads else None
            header = {"seq": self.frame_version, "width": screen.width, "height": screen.height,
                      "monitor": screen.monitor, "cursor": list(screen.cursor) if screen.cursor else None,
                      "full": full, "events": self.events_since(since_event), "event_seq": self.event_seq,
                      "session": self.session(now),
                      "stats": {"fps": round(len(self._traffic) / STATS_WINDOW, 1),
                                "bytes_per_s": int(sum(n for _, n in self._traffic) / STATS_WINDOW),
                                "age_ms": (int(max(0.0, now - newest) * 1000)
                                           if tiles and newest is not None else None)}}
            if self.frame_version > self.viewer_fetched:
                self.viewer_fetched = self.frame_version
                self.cond.notify_all()
            return header, tiles

    # -- the end ------------------------------------------------------------------------

    def end(self, reason: str) -> None:
        """The case ended (closed, expired, deleted): drop the picture, tell both sides, wake all."""
        with self.cond:
            if self.ended:
                return
            self.ended = True
            self.view = self.control = NONE
            self.screen.clear(self._next_frame_version())
            self._send({"type": "disconnect", "reason": reason})
            self._emit({"type": "ended", "reason": reason})
            self.cond.notify_all()

    def stop(self) -> None:
        """The server stops: every wait answers now."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()


@dataclasses.dataclass
class Sweep:
    """What a sweep found: presence that changed, sessions whose agent is gone, relays dropped."""

    changed: set[int] = dataclasses.field(default_factory=set)
    agent_gone: list[int] = dataclasses.field(default_factory=list)
    dropped: list[int] = dataclasses.field(default_factory=list)


class RelayHub:
    """Every case's relay, by case id (the small interface a multi-node setup would route by)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._relays: dict[int, CaseRelay] = {}
        self.stopping = False
        self._last_open_check: float | None = None

    def open_check_due(self, now: float, every: float) -> bool:
        """Whether it is time (every *every* s) to check that the relays' cases are still open."""
        with self._lock:
            if self._last_open_check is not None and abs(now - self._last_open_check) < every:
                return False
            self._last_open_check = now
            return True

    def get(self, case_id: int, now: float) -> CaseRelay:
        """The case's relay, made if there is none."""
        with self._lock:
            relay = self._relays.get(case_id)
            if relay is None:
                relay = self._relays[case_id] = CaseRelay(case_id, now)
                relay.stopping = self.stopping
            return relay

    def find(self, case_id: int) -> CaseRelay | None:
        """The case's relay if it has one."""
        with self._lock:
            return self._relays.get(case_id)

    def drop(self, case_id: int, reason: str = "case_closed") -> CaseRelay | None:
        """Forget the case's relay (its case ended); its waiters answer now."""
        with self._lock:
            relay = self._relays.pop(case_id, None)
        if relay is not None:
            relay.end(reason)
        return relay

    def case_ids(self) -> list[int]:
        """The cases that have a relay now."""
        with self._lock:
            return list(self._relays)

    def relays(self) -> list[CaseRelay]:
        """Every relay now."""
        with self._lock:
            return list(self._relays.values())

    def live(self, case_id: int, now: float) -> tuple[bool, dict[str, Any] | None]:
        """(online, remote) for the expert's case view."""
        relay = self.find(case_id)
        if relay is None:
            return False, None
        with relay.cond:
            return relay.online(now), relay.remote(now)

    def sweep(self, now: float) -> Sweep:
        """Once a second: presence that changed, agents gone from a session, idle relays dropped."""
        found = Sweep()
        for relay in self.relays():
            if relay.presence_changed(now):
                found.changed.add(relay.case_id)
            with relay.cond:
                if relay.view == ALLOWED and not relay.online(now):
                    found.agent_gone.append(relay.case_id)
                idle = relay.idle(now)
            if idle:
                with self._lock:
                    if self._relays.get(relay.case_id) is relay:
                        del self._relays[relay.case_id]
                        found.dropped.append(relay.case_id)
        return found

    def stop(self) -> list[CaseRelay]:
        """The server stops: every wait answers now; returns the relays that were viewing."""
        with self._lock:
            self.stopping = True
            relays = list(self._relays.values())
        for relay in relays:
            relay.stop()
        return [relay for relay in relays if relay.view == ALLOWED]

