"""Service cases in SQLite: every state change in one transaction, time passed in.

Store is the one object the server holds; it puts together the parts that each
keep one concern, over one connection (db.Database):

- db.py: the connection, its pragmas, transactions, SQLite errors -> ours;
- migrate.py and schema/: the schema's versions, made, upgraded or refused;
- accounts.py: experts, API tokens, login sessions;
- modules.py: personalized agents (modules) and groups;
- cases.py: cases as experts see them, expiry;
- case_search.py: the console's queue searched and sorted (GET /api/v1/queue);
- customers.py: the customer's own case;
- session_log.py: remote sessions in the history, the chat, the session's status change;
- changes.py: the change feed and the long-polls' waiters;
- views.py: how rows look in the API.
"""

from __future__ import annotations

from typing import Callable

from . import core
from .accounts import Accounts
from .case_search import CaseSearch
from .changes import ChangeFeed
from .customers import CustomerCases
from .modules import Modules
from .session_log import SessionLog


class Store(CustomerCases, SessionLog, CaseSearch, Accounts, Modules):
    """The server's state. Every public method that changes something takes *now*."""

    def __init__(self, path: str, default_validity: int = core.DEFAULT_VALIDITY) -> None:
        """Open (create, or upgrade) the database at *path*; ':memory:' for a throwaway one."""
        super().__init__(path)
        self.default_validity = default_validity
        self._token_key = bytes.fromhex(self._meta("customer_token_key"))
        newest = self._read("SELECT COALESCE(MAX(version), 0) FROM cases")[0][0]
        self._feed = ChangeFeed(self._lock, newest)

    def on_cases_ended(self, listener: Callable[[set[int]], None]) -> None:
        """Call *listener* with the ids of cases closed, expired or deleted, after each change."""
        self._feed.on_ended = listener

    def wake_waiters(self) -> None:
        """Make every long-poll answer now (the server is stopping)."""
        self._feed.stop()

    def wait_changes(self, since: int, timeout: float, clock: Callable[[], float]) -> int:
        """Long-poll for the console: the change version once it differs from *since*.

        A *since* from before a restart differs at once, so the console reloads.
        """
        return self._feed.wait_version(since, timeout, clock)
