"""The application object: what answering a request needs, typed and in one place.

``dispatch`` (http_api) answers requests for an ``App``; ``server.Server`` listens for one.
Nothing here opens a socket or reads the clock itself: ``clock`` is passed in.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Callable

from . import __version__
from .auth import PasswordChecks
from .published import PublishedAgents
from .ratelimit import RateLimiter
from .relay import RelayHub
from .store import Store


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the operator chooses (``sos-server serve``'s options), fixed while serving."""

    version: str = __version__
    max_body: int = 64 * 1024
    max_frame_body: int = 4 * 1024 * 1024  # the one route that takes more: a screen's frame
    idle_timeout: float = 15.0  # per socket operation and per whole request
    session_ttl: int = 12 * 3600
    secure_cookies: bool = False
    sos_per_10min: int = 20
    #: The address customers and experts reach the server at, for the links in a session
    #: (end_customer_link, supporter_link); None: the request's Host header.
    public_url: str | None = None
    #: The largest personalized agent an expert may publish (sos-builder --publish).
    max_agent_bytes: int = 256 * 1024 * 1024
    #: Where published agents are kept; None: the database's folder (none for ':memory:').
    data_dir: Path | None = None


@dataclasses.dataclass
class Limiters:
    """The rate limits on attempts that need no credential (docs/security.md)."""

    login: RateLimiter  # failed log-ins per address and name
    login_ip: RateLimiter  # failed log-ins per address
    code: RateLimiter  # wrong session codes per address
    sos: RateLimiter  # new SOS cases per address

    @classmethod
    def for_settings(cls, settings: Settings) -> "Limiters":
        """The limits the server runs with."""
        return cls(login=RateLimiter(burst=5, period=300),
                   login_ip=RateLimiter(burst=20, period=300),
                   # 10 wrong codes at once, then one per 6 minutes. A customer mistypes
                   # a few times; a guesser gets ~250 tries a day (docs/security.md).
                   code=RateLimiter(burst=10, period=3600),
                   sos=RateLimiter(burst=settings.sos_per_10min, period=600))


def _password_checks() -> PasswordChecks:
    # Log-ins from all addresses together: 2 scrypt checks at once (16 MiB each).
    return PasswordChecks(slots=2, wait=3.0)


@dataclasses.dataclass
class App:
    """Everything answering a request needs: the store, the limits, the clock, the settings."""

    store: Store
    settings: Settings = dataclasses.field(default_factory=Settings)
    clock: Callable[[], float] = time.time
    # Left out: Limiters.for_settings(settings).
    limiters: Limiters = None  # type: ignore[assignment]
    password_checks: PasswordChecks = dataclasses.field(default_factory=_password_checks)
    # Set when the server stops: long-polls answer at once, connections close.
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)
    #: The remote sessions' live state (memory only; sessions.py drives it).
    relays: RelayHub = dataclasses.field(default_factory=RelayHub)
    #: The scheme the server speaks ("https" with TLS; server.running sets it), for links.
    scheme: str = "http"
    #: The personalized agents experts published (files in the data folder).
    published: PublishedAgents = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.limiters is None:
            self.limiters = Limiters.for_settings(self.settings)
        if self.published is None:
            folder = self.settings.data_dir
            if folder is None and self.store.path != ":memory:":
                folder = Path(self.store.path).absolute().parent
            self.published = PublishedAgents(folder / "agents" if folder else None)
        # The expert's case views carry the live state; a session ends with its case.
        self.store.live = self.relays.live
        self.store.on_cases_ended(self._end_sessions)

    def _end_sessions(self, case_ids: set[int]) -> None:
        """Drop the relays of cases that were closed, expired or deleted (and are still so:
        a rolled-back close leaves its id behind, see changes.ChangeFeed.notify)."""
        known = [case_id for case_id in case_ids if self.relays.find(case_id) is not None]
        statuses = self.store.case_statuses(known)
        for case_id in known:
            status = statuses.get(case_id, "deleted")
            if status in ("closed", "expired", "deleted"):
                self.relays.drop(case_id, f"case_{status}")
