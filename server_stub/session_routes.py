"""The remote session's routes (docs/remote-session.md): the agent's side with the
customer's case token, the viewer's side for the case's assignee, and the chat
for both. Listed in ``http_api.ROUTES`` like every other route."""

from __future__ import annotations

from typing import Any

from . import sessions
from .app import App
from .consent import ALLOWED
from .errors import Conflict, InvalidInput
from .request import Request, Response
from .session_log import chat_text
from .session_wire import encode_frame, input_events, parse_frame, screen_info

MAX_AGENT_WAIT = 30
MAX_VIEWER_WAIT = 30
NUMBER = 2**62


def _body_object(req: Request) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


# -- the agent's side (customer token) --------------------------------------------------------

def agent_inbox(app: App, req: Request) -> Any:
    """The agent's downlink and presence: messages after ``since``, waiting up to ``wait`` s."""
    since = req.int_query("since", 0, 0, NUMBER)
    wait = req.int_query("wait", 0, 0, MAX_AGENT_WAIT)
    case_id = req.own_case_id()
    now = app.clock()
    sessions.open_row(app, case_id, now)
    relay = app.relays.get(case_id, now)
    relay.agent_poll(now, started=True)
    try:
        sessions.note_presence(app, relay, now)
        if wait and not app.stopping.is_set():
            relay.wait_inbox(since, wait)
    finally:
        relay.agent_poll(app.clock(), started=False)
    seq, messages = relay.inbox_since(since)
    return {"seq": seq, "messages": messages, "session": relay.session(app.clock())}


def agent_consent(app: App, req: Request) -> Any:
    """The customer's answer to a request: ``{"what": "view"|"control", "allow": bool}``."""
    body = _body_object(req)
    what, allow = body.get("what"), body.get("allow")
    if what not in ("view", "control") or not isinstance(allow, bool) or set(body) - {"what", "allow"}:
        raise InvalidInput('the body must be {"what": "view"|"control", "allow": true|false}',
                           fields={"what": "view or control", "allow": "true or false"})
    case_id, now = req.own_case_id(), app.clock()
    sessions.open_row(app, case_id, now)
    relay = app.relays.get(case_id, now)
    relay.seen("agent", now)
    action = ("allow_" if allow else "deny_") + what
    sessions.change(app, relay, action, "customer", now, by="customer")
    sessions.establish_if_ready(app, relay, "customer", now)
    return {"session": relay.session(now)}


def agent_stop(app: App, req: Request) -> Any:
    """The customer's Stop: viewing and control end at once."""
    case_id, now = req.own_case_id(), app.clock()
    sessions.open_row(app, case_id, now)
    relay = app.relays.get(case_id, now)
    relay.seen("agent", now)
    sessions.change(app, relay, "stop", "customer", now, by="customer")
    return {"session": relay.session(now)}


def agent_screen_info(app: App, req: Request) -> Any:
    """The agent's monitors, the one it shares, and whether capture is impossible (Wayland)."""
    info = screen_info(req.json())
    case_id, now = req.own_case_id(), app.clock()
    sessions.open_row(app, case_id, now)
    relay = app.relays.get(case_id, now)
    relay.seen("agent", now)
    relay.set_screen(info)
    return {"session": relay.session(now)}


def agent_frame(app: App, req: Request) -> Any:
    """A FRAME from the agent; answered once the viewer has fetched the one before (<= 1 s)."""
    frame = parse_frame(req.raw_body)
    now = app.clock()
    relay = app.relays.find(req.own_case_id())
    if relay is None:
        raise Conflict("the customer has not allowed viewing the screen", code="no_consent")
    relay.seen("agent", now)
    _, previous = relay.put_frame(frame, now, len(req.raw_body))
    if not app.stopping.is_set():
        relay.wait_fetched(previous, sessions.FLOW_WAIT)
    return {"ack": frame.seq, "viewer_seq": relay.viewer_agent_seq(),
            "session": relay.session(app.clock())}


def customer_chat_read(app: App, req: Request) -> Any:
    """The case's chat after message id ``since``, for its customer."""
    since = req.int_query("since", 0, 0, NUMBER)
    return {"messages": app.store.chat_since(req.own_case_id(), since)}


def customer_chat_send(app: App, req: Request) -> Response:
    """The customer writes to the expert (also to the viewer's events)."""
    text = chat_text(req.json())
    case_id, now = req.own_case_id(), app.clock()
    row = sessions.open_row(app, case_id, now)
    name = row["customer_name"] or row["device_user"] or ""
    message = app.store.add_chat(case_id, "customer", name, text, int(now))
    relay = app.relays.get(case_id, now)
    relay.seen("agent", now)
    relay.emit({"type": "chat", "message": message})
    return Response(201, {"message": message})


# -- the viewer's side (the case's assignee) --------------------------------------------------

def _assignee_relay(app: App, req: Request) -> tuple[Any, Any, float]:
    now = app.clock()
    row = sessions.assignee_case(app, req.params["code"], req.the_expert(), now)
    relay = app.relays.get(row["id"], now)
    relay.seen("viewer", now)
    return row, relay, now


def viewer_remote(app: App, req: Request) -> Response:
    """The viewer's long-poll: a FRAME with what is new since ``since_frame``/``since_event``."""
    since_frame = req.int_query("since_frame", 0, 0, NUMBER)
    since_event = req.int_query("since_event", 0, 0, NUMBER)
    wait = req.int_query("wait", 0, 0, MAX_VIEWER_WAIT)
    _, relay, now = _assignee_relay(app, req)
    actor = sessions.expert_actor(req.the_expert())
    relay.viewer_poll(now, started=True)
    try:
        sessions.note_presence(app, relay, now)
        sessions.establish_if_ready(app, relay, actor, now)
        if wait and not app.stopping.is_set():
            relay.wait_viewer(since_frame, since_event, wait)
    finally:
        relay.viewer_poll(app.clock(), started=False)
    header, tiles = relay.fetch(since_frame, since_event, app.clock())
    return Response(200, raw=encode_frame(header, tiles), content_type="application/octet-stream")


def viewer_control(app: App, req: Request) -> Any:
    """``{"request": true}`` asks the customer for control; ``false`` gives it back."""
    body = _body_object(req)
    if not isinstance(body.get("request"), bool) or set(body) != {"request"}:
        raise InvalidInput('the body must be {"request": true|false}', fields={"request": "true or false"})
    _, relay, now = _assignee_relay(app, req)
    expert = req.the_expert()
    action = "request_control" if body["request"] else "release_control"
    sessions.change(app, relay, action, sessions.expert_actor(expert), now, expert=expert["name"])
    return {"session": relay.session(now)}


def _require_view(relay: Any) -> None:
    if relay.view != ALLOWED:
        raise Conflict("the customer has not allowed viewing the screen", code="no_view")


def viewer_monitor(app: App, req: Request) -> Any:
    """Share another of the customer's monitors: ``{"index": n}``."""
    body = _body_object(req)
    index = body.get("index")
    _, relay, now = _assignee_relay(app, req)
    known = {m["index"] for m in relay.monitors}
    if not isinstance(index, int) or isinstance(index, bool) or set(body) != {"index"} \
            or (known and index not in known) or not 0 <= index < 16:
        raise InvalidInput("index must be one of the customer's monitors",
                           fields={"index": f"one of {sorted(known) or [0]}"})
    _require_view(relay)
    relay.send({"type": "monitor", "index": index})
    return {"session": relay.session(now)}


def viewer_input(app: App, req: Request) -> Any:
    """Mouse and keyboard for the agent; 409 ``no_control`` unless the customer allowed control."""
    events = input_events(req.json())
    _, relay, _ = _assignee_relay(app, req)
    if relay.control != ALLOWED:
        raise Conflict("the customer has not allowed control", code="no_control")
    relay.send({"type": "input", "events": events})
    return {"queued": len(events)}


def viewer_refresh(app: App, req: Request) -> Any:
    """Ask the agent for a full frame."""
    _, relay, now = _assignee_relay(app, req)
    _require_view(relay)
    relay.send({"type": "refresh"})
    return {"session": relay.session(now)}


def viewer_disconnect(app: App, req: Request) -> Any:
    """The expert leaves the session: viewing and control end; the case stays as it is."""
    _, relay, now = _assignee_relay(app, req)
    sessions.change(app, relay, "disconnect", sessions.expert_actor(req.the_expert()), now, by="expert")
    return {"session": relay.session(now)}


def expert_chat_read(app: App, req: Request) -> Any:
    """The case's chat after message id ``since``; any expert may read it."""
    since = req.int_query("since", 0, 0, NUMBER)
    case_id = app.store.case_id_for_code(req.params["code"], req.now)
    return {"messages": app.store.chat_since(case_id, since)}


def expert_chat_send(app: App, req: Request) -> Response:
    """The assignee (or anyone while unassigned) writes to the customer's agent."""
    text = chat_text(req.json())
    expert, now = req.the_expert(), app.clock()
    row = sessions.open_row(app, app.store.case_id_for_code(req.params["code"], int(now)), now)
    sessions.may_chat(row, expert)
    message = app.store.add_chat(row["id"], sessions.expert_actor(expert), expert["name"], text,
                                 int(now))
    relay = app.relays.get(row["id"], now)
    relay.send({"type": "chat", "message": message})
    relay.emit({"type": "chat", "message": message})
    return Response(201, {"message": message})
