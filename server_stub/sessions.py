"""The remote session's rules between the routes, the store and the relay: who may
use a session, consent changes recorded in the history, the status change when
the session is established, presence, and the periodic sweep.

A consent change is planned on the relay, written into the history, then made
(all under the relay's ``ops`` lock), so that the history never lacks a change
that happened and never holds one that was refused. Times: the relay takes the
clock's float seconds, the store whole seconds.
"""

from __future__ import annotations

import logging
import sqlite3

from . import core
from .app import App
from .consent import ALLOWED, Change
from .errors import Conflict, Forbidden, ServerError
from .relay import CaseRelay

log = logging.getLogger("sosdesk.server")

#: How long a frame upload's answer may be held for the viewer (flow control).
FLOW_WAIT = 1.0
#: How often the sweep checks that every relay's case is still open.
OPEN_CHECK_SECONDS = 15.0


def expert_actor(expert: dict) -> str:
    """The history's actor for an expert."""
    return f"expert:{expert['id']}"


def open_row(app: App, case_id: int, now: float) -> sqlite3.Row:
    """The case's row if it is open; 409 case_closed / case_expired otherwise (404 if deleted)."""
    row = app.store.session_case(case_id, int(now))
    if row["status"] in core.FINAL_STATUSES:
        app.relays.drop(case_id, f"case_{row['status']}")
        core.next_status(row["status"], "start")  # raises case_closed / case_expired
    return row


def assignee_case(app: App, code: str, expert: dict, now: float) -> sqlite3.Row:
    """The open case *code* if *expert* is the one connected to it; else 403 or 409."""
    row = open_row(app, app.store.case_id_for_code(code, int(now)), now)
    if row["assigned_userid"] == expert["id"] and row["expert_started_at"] is not None:
        return row
    if row["assigned_userid"] not in (None, expert["id"]):
        raise Forbidden(f"{row['assigned_name'] or 'another expert'} is connected to this case; "
                        "only they can use its session", code="not_your_session")
    raise Conflict("press Connect first: the session belongs to the expert who connected",
                   code="not_connected")


def may_chat(row: sqlite3.Row, expert: dict) -> None:
    """An expert may chat in a case assigned to them or to nobody; 403 otherwise."""
    if row["assigned_userid"] not in (None, expert["id"]):
        raise Forbidden(f"{row['assigned_name'] or 'another expert'} has this case; only they "
                        "can chat with the customer", code="not_your_session")


def change(app: App, relay: CaseRelay, action: str, actor: str, now: float, *,
           expert: str = "", by: str = "") -> Change:
    """Plan *action* on the relay, record its event in the history, then make it."""
    with relay.ops:
        planned = relay.plan(action)
        if planned.event is not None:
            detail = {key: value for key, value in (("by", by), ("expert", expert)) if value}
            app.store.record_session_event(relay.case_id, planned.event, actor, int(now),
                                           detail or None)
        relay.apply(planned, expert=expert, by=by)
    return planned


def establish_if_ready(app: App, relay: CaseRelay, actor: str, now: float) -> None:
    """The customer allowed viewing and the viewer is attached: the case is in progress."""
    with relay.cond:
        ready = relay.view == ALLOWED and relay.viewer_attached(now) and not relay.established
    if ready:
        app.store.establish_session(relay.case_id, actor, int(now))
        relay.established = True


def note_presence(app: App, relay: CaseRelay, now: float) -> None:
    """Tell the console's feed when the agent came or went, or the viewer attached or left."""
    if relay.presence_changed(now):
        app.store.touch([relay.case_id])


def agent_seen(app: App, case_id: int, now: float) -> None:
    """A request of the customer's agent other than a long-poll: it is online."""
    relay = app.relays.get(case_id, now)
    relay.seen("agent", now)
    note_presence(app, relay, now)


def request_view(app: App, case_id: int, expert: dict, now: float) -> None:
    """Connect: ask the customer to allow viewing (again, unless asked or allowed already)."""
    relay = app.relays.get(case_id, now)
    change(app, relay, "request_view", expert_actor(expert), now, expert=expert["name"])


def assignee_changed(app: App, case_id: int, expert: dict, now: float) -> None:
    """The case went to another expert: the session the customer allowed for the one
    before ends (the consent named them); the new assignee asks again with Connect."""
    relay = app.relays.find(case_id)
    if relay is None:
        return
    try:
        change(app, relay, "disconnect", expert_actor(expert), now, by="expert")
    except ServerError as exc:  # the session ended with the case meanwhile
        log.info("no session to end on reassignment: %s", exc.code)


def sweep(app: App, now: float) -> None:
    """Once a second (server.py's timer): presence changes to the feed, sessions whose agent
    is gone ended in the history, and now and then relays of cases no longer open dropped."""
    found = app.relays.sweep(now)
    for case_id in found.agent_gone:
        relay = app.relays.find(case_id)
        if relay is None:
            continue
        try:
            change(app, relay, "agent_gone", "system", now, by="agent")
        except ServerError as exc:  # the case ended meanwhile: its relay goes with it
            log.info("could not record the end of a session: %s", exc.code)
    if found.changed:
        app.store.touch(found.changed)
    if app.relays.open_check_due(now, OPEN_CHECK_SECONDS):
        ids = app.relays.case_ids()
        statuses = app.store.case_statuses(ids)
        for case_id in ids:
            status = statuses.get(case_id, "deleted")
            if status not in core.OPEN_STATUSES:
                app.relays.drop(case_id, f"case_{status}")


def stop_all(app: App, now: float) -> None:
    """The server stops: every session's waits answer now, and the live ones end in the history."""
    for relay in app.relays.stop():
        try:
            change(app, relay, "server_stop", "system", now, by="server")
        except (ServerError, sqlite3.Error) as exc:
            log.info("could not record the end of a session: %s", exc)
