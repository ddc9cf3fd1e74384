"""The auth matrix: every route of ``ROUTES`` (so a new route is covered at once)
times every bad credential, against real cases, with nothing leaked.

Credentials tried: none, a wrong token, an expired login session (a real cookie
whose web_session has run out), and a customer token of another case.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from sosdesk.server_stub import auth
from sosdesk.server_stub.http_api import ROUTES, SESSION_COOKIE, Route
from api_helpers import sosdesk_code
from conftest import LiveServer
from reliability_helpers import leaked
from servers import in_process

CREDENTIALS = ("none", "wrong_token", "expired_session", "other_customer_token")

#: (caller, credential) -> (status, error code) as docs/api.md documents them.
EXPECTED = {
    ("expert", "none"): (401, "unauthorized"),
    ("expert", "wrong_token"): (401, "invalid_token"),
    ("expert", "expired_session"): (401, "session_expired"),
    ("expert", "other_customer_token"): (401, "invalid_token"),
    ("customer", "none"): (401, "unauthorized"),
    ("customer", "wrong_token"): (401, "invalid_case_token"),
    ("customer", "expired_session"): (401, "unauthorized"),  # a cookie is no case token
}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole matrix (a fresh one per call would take half a minute)."""
    with in_process(tmp_path_factory.mktemp("auth") / "auth.db", sos_per_10min=10**6) as server:
        yield server


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> dict:
    """Real cases with recognisable data, a module, and every kind of credential."""
    api = live_server.api
    alice = live_server.sos("device-alice-auth-0001", description="ALICE-SECRET-PRINTER",
                            device={"hostname": "ALICE-PC-SECRET", "os": "Linux", "user": "alice"})
    bob = live_server.sos("device-bob-auth-000001", description="BOB-SECRET-MAIL")
    made = api("POST", "/api/v1/sessions",
               json={"description": "CAROL-SECRET-DESK", "custom_api": "CAROL-SECRET-API",
                     "end_customer": {"name": "Carol Secretname", "email": "carol@secret.example"},
                     "waiting_message": "CAROL-SECRET-WAIT"})
    assert made.status_code == 201
    module = api("POST", "/api/v1/modules", json={"name": "SECRET-MODULE-CO", "groupid": "acme"})
    assert module.status_code == 201
    carol, module_id = made.json(), module.json()["module_id"]
    store = live_server.store
    expert_id = store.expert_by_token(live_server.token)["id"]
    now = int(time.time())
    cookie, csrf = store.create_web_session(expert_id, now - 7200, ttl=60)  # ended an hour ago
    assert store.expert_by_session(cookie, now) is None
    codes = [alice["case"]["code"], bob["case"]["code"], carol["code"]]
    secrets = ["ALICE-SECRET", "BOB-SECRET", "CAROL-SECRET", "Secretname", "carol@secret",
               "SECRET-MODULE", "ALICE-PC", module_id, live_server.token, csrf]
    for code in codes:
        digits = code.replace("s", "").replace("-", "")
        secrets += [code, digits, f"{digits[:2]}-{digits[2:5]}-{digits[5:]}"]
    return {"alice": alice, "bob": bob, "carol": carol, "module_id": module_id,
            "cookie": cookie, "csrf": csrf, "secrets": secrets,
            "bob_secrets": [s for s in secrets if "ALICE" not in s
                            and s not in _code_forms(alice["case"]["code"])]}


def _code_forms(code: str) -> list[str]:
    digits = code.replace("s", "").replace("-", "")
    return [code, digits, f"{digits[:2]}-{digits[2:5]}-{digits[5:]}"]


def _path(route: Route, world: dict, existing: bool = True) -> str:
    code = world["carol"]["code"] if existing else "s00-000-001"
    module_id = world["module_id"] if existing else "m0000000000000000"
    return (route.template.replace("{code}", code).replace("{module_id}", module_id)
            .replace("{path}", "api.js"))


def _call(live_server: LiveServer, world: dict, route: Route, credential: str,
          existing: bool = True):
    headers = {}
    token = None
    if credential == "wrong_token":
        token = "sdx_" + "A" * 43 if route.caller != "customer" else "1." + "0" * 64
    elif credential == "expired_session":
        headers = {"Cookie": f"{SESSION_COOKIE}={world['cookie']}", "X-CSRF-Token": world["csrf"]}
    elif credential == "other_customer_token":
        token = world["bob"]["token"]
    kwargs = {"json": {}} if route.method in ("POST", "PUT") else {}
    return live_server.api(route.method, _path(route, world, existing), token=token,
                           headers=headers, **kwargs)


MATRIX = [(route, credential) for route in ROUTES for credential in CREDENTIALS]


@pytest.mark.parametrize("route,credential", MATRIX,
                         ids=[f"{r.method} {r.template} {c}" for r, c in MATRIX])
def test_route_with_bad_credential(live_server: LiveServer, world: dict, route: Route,
                                   credential: str) -> None:
    response = _call(live_server, world, route, credential)
    assert response.status_code < 500, response.text
    text = response.text
    if route.caller in ("public", "agent", "optional"):
        # Credentials mean nothing here (ping says they are not valid); the answer still
        # names no case, but for the customer's page the code that named it.
        assert response.status_code != 401 or route.template == "/api/v1/login"
        if route.caller == "optional":
            assert response.json() == {"token_valid": False}
        if route.template.startswith(("/static", "/case/")) or route.template == "/":
            assert not leaked(text, [s for s in world["secrets"] if not s.isdigit()])
        elif route.template.startswith("/join/"):
            given = _code_forms(world["carol"]["code"])
            assert not leaked(text, [s for s in world["secrets"] if s not in given]), text
        else:
            assert not leaked(text, world["secrets"]), text
        return
    if route.caller == "customer" and credential == "other_customer_token":
        # Bob's token reaches Bob's case and nothing of Alice's or Carol's. The remote
        # session's routes and describing the request check their body (400) or Bob's
        # session state (409) after that.
        session_route = ("/session/" in route.template or route.template.endswith("/chat")
                         or (route.method, route.template) == ("PUT", "/api/v1/customer/case"))
        assert response.status_code in (200, 403) or (
            session_route and response.status_code in (400, 409)), response.text
        assert response.json().get("code", world["bob"]["case"]["code"]) == \
            world["bob"]["case"]["code"]
        assert not leaked(text, [s for s in world["secrets"]
                                 if s not in _code_forms(world["bob"]["case"]["code"])
                                 and "BOB" not in s]), text
        return
    status, code = EXPECTED[(route.caller, credential)]
    assert (response.status_code, sosdesk_code(response.json())) == (status, code), response.text
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert not leaked(text, world["secrets"]), text
    # No oracle: the same answer whether the case or module exists or not.
    other = _call(live_server, world, route, credential, existing=False)
    assert (other.status_code, other.json()) == (response.status_code, response.json())


def test_tampered_customer_tokens_reach_nothing(live_server: LiveServer, world: dict) -> None:
    """Alice's MAC on Bob's case id, a truncated token, a token from before a delete."""
    alice_token, bob_token = world["alice"]["token"], world["bob"]["token"]
    bob_id = auth.parse_case_token(bob_token)[0]
    forged = [f"{bob_id}.{alice_token.split('.', 1)[1]}", alice_token[:-1],
              alice_token + "0", alice_token.upper(), "0." + alice_token.split(".", 1)[1]]
    for token in forged:
        response = live_server.api("GET", "/api/v1/customer/case", token=token)
        assert (response.status_code, response.json()["error"]) == (401, "invalid_case_token")
        assert not leaked(response.text, world["secrets"])
    doomed = live_server.sos("device-doomed-auth-001")
    code = doomed["case"]["code"]
    assert live_server.api("DELETE", f"/api/v1/sessions/{code}").status_code == 200
    gone = live_server.api("GET", "/api/v1/customer/case", token=doomed["token"])
    assert (gone.status_code, gone.json()["error"]) == (401, "invalid_case_token")


def test_every_route_is_in_the_matrix() -> None:
    """A route with a caller the matrix does not know would slip through."""
    assert {r.caller for r in ROUTES} <= {"public", "agent", "expert", "customer", "optional"}
    assert len(MATRIX) == len(ROUTES) * len(CREDENTIALS)
