"""The consent state of a remote session and the only ways it changes: one table-like
function, ``plan``, from (view, control, action) to the new state and the history
event it makes. The agent enforces consent on the customer's machine; this is
the server's record of what the customer answered (docs/remote-session.md)."""

from __future__ import annotations

import dataclasses

from .errors import Conflict

NONE, REQUESTED, ALLOWED, DENIED = "none", "requested", "allowed", "denied"
STATES = (NONE, REQUESTED, ALLOWED, DENIED)
ACTIONS = ("request_view", "allow_view", "deny_view", "request_control", "allow_control",
           "deny_control", "release_control", "stop", "disconnect", "agent_gone", "server_stop")


@dataclasses.dataclass(frozen=True)
class Change:
    """A planned change of the consent state and the history event it makes (None: no change)."""

    action: str
    event: str | None
    view: str
    control: str


def plan(view: str, control: str, action: str) -> Change:
    """The consent state after *action*; raises Conflict if it is not possible now.

    Actions: request_view, allow_view, deny_view, request_control, allow_control,
    deny_control, release_control, stop (the customer), disconnect (the expert),
    agent_gone, server_stop.
    """
    def to(event: str | None, new_view: str = view, new_control: str = control) -> Change:
        return Change(action, event, new_view, new_control)

    if action == "request_view":
        return to("session_requested", REQUESTED, NONE) if view in (NONE, DENIED) else to(None)
    if action in ("allow_view", "deny_view"):
        if view == REQUESTED:
            return to("session_allowed", ALLOWED) if action == "allow_view" else to("session_denied", DENIED)
        if view == ALLOWED and action == "deny_view":
            return to("session_stopped", NONE, NONE)
        raise Conflict("there is no request to see the screen to answer", code="no_request")
    if action == "request_control":
        if view != ALLOWED:
            raise Conflict("the customer has not allowed viewing", code="no_view")
        return to("control_requested", new_control=REQUESTED) if control in (NONE, DENIED) else to(None)
    if action in ("allow_control", "deny_control"):
        if control == REQUESTED and view == ALLOWED:
            return (to("control_allowed", new_control=ALLOWED) if action == "allow_control"
                    else to("control_denied", new_control=DENIED))
        if control == ALLOWED and action == "deny_control":
            return to("control_stopped", new_control=NONE)
        raise Conflict("there is no request for control to answer", code="no_request")
    if action == "release_control":
        return to("control_released", new_control=NONE) if control in (REQUESTED, ALLOWED) else to(None)
    if action == "stop":
        if view == REQUESTED:
            return to("session_denied", DENIED, NONE)
        return to("session_stopped", NONE, NONE) if view == ALLOWED else to(None, new_control=NONE)
    if action in ("disconnect", "agent_gone", "server_stop"):
        if view == ALLOWED or (view == REQUESTED and action == "disconnect"):
            return to("session_stopped", NONE, NONE)
        return to(None)
    raise ValueError(action)
