"""The agent's HTTP client against a mocked HTTP layer (responses)."""

from __future__ import annotations

import pytest
import requests
import responses

from agent.client import CONNECT_TIMEOUT, Client, backoff_delay, READ_SLACK
from agent.errors import (AgentError, CaseGone, ModuleRevoked, RateLimited, ServerError,
                          ServerUnreachable)

URL = "http://support.test"
SOS = URL + "/api/v1/customer/sos"
CASE = URL + "/api/v1/customer/case"
CASE_JSON = {"code": "s12-345-678", "status": "new", "state": "open", "version": 1}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Client:
    return Client(URL, sleep=sleeps.append)


def error(code: str, message: str = "no") -> dict:
    return {"error": code, "message": message}


def test_backoff_doubles_from_half_a_second_and_is_capped() -> None:
    assert [backoff_delay(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff_delay(10_000) == 10


@responses.activate
def test_sos_sends_device_and_module_and_returns_a_ticket(client: Client) -> None:
    responses.post(SOS, status=201, json={"case": CASE_JSON, "token": "tok", "created": True},
                   match=[responses.matchers.json_params_matcher(
                       {"device_id": "d" * 20, "device": {"hostname": "h"}, "module_id": "m1"})])
    ticket = client.sos("d" * 20, {"hostname": "h"}, "m1")
    assert ticket.case == CASE_JSON and ticket.token == "tok" and ticket.created
    assert "tok" not in repr(ticket)


@responses.activate
def test_connection_errors_are_retried_with_backoff(client: Client, sleeps: list) -> None:
    responses.post(SOS, body=requests.ConnectionError("refused"))
    responses.post(SOS, body=requests.ConnectionError("refused"))
    responses.post(SOS, status=200, json={"case": CASE_JSON, "token": "t", "created": False})
    assert client.sos("d" * 20, {}).created is False
    assert sleeps == [0.5, 1]


@responses.activate
def test_unreachable_after_the_retries(client: Client, sleeps: list) -> None:
    responses.get(CASE, body=requests.ConnectTimeout("slow"))
    with pytest.raises(ServerUnreachable):
        client.case("tok")
    assert len(responses.calls) == 3 and sleeps == [0.5, 1]


@responses.activate
def test_read_timeout_on_a_long_poll_is_unreachable(client: Client) -> None:
    responses.get(CASE, body=requests.ReadTimeout("no answer"))
    with pytest.raises(ServerUnreachable) as caught:
        client.case("tok", since=3, wait=30)
    assert isinstance(caught.value, AgentError)


@responses.activate
def test_timeouts_connect_5s_read_wait_plus_10(client: Client) -> None:
    responses.get(CASE, json=CASE_JSON)
    client.case("tok", since=3, wait=30)
    call = responses.calls[0]
    assert call.request.req_kwargs["timeout"] == (CONNECT_TIMEOUT, 30 + READ_SLACK)
    assert call.request.headers["Authorization"] == "Bearer tok"
    assert "since=3" in call.request.url and "wait=30" in call.request.url
    assert call.request.req_kwargs["verify"] not in (False, None, "")  # never switched off


def test_ca_bundle_is_used_for_verification() -> None:
    assert Client(URL, ca_bundle="/etc/company-ca.pem").session.verify == "/etc/company-ca.pem"


@responses.activate
def test_5xx_is_retried_then_raised_with_its_code(client: Client, sleeps: list) -> None:
    responses.post(URL + "/api/v1/customer/case/start", status=503,
                   json=error("storage_unavailable", "database busy"))
    with pytest.raises(ServerError) as caught:
        client.start("tok")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        503, "storage_unavailable", "database busy")
    assert caught.value.transient and len(responses.calls) == 3


@responses.activate
def test_close_is_not_retried(client: Client) -> None:
    responses.post(URL + "/api/v1/customer/case/close", status=500, json=error("internal_error"))
    with pytest.raises(ServerError):
        client.close("tok")
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status, body, kind", [
    (401, error("invalid_case_token"), CaseGone),
    (404, error("case_not_found"), CaseGone),
    (403, error("module_revoked"), ModuleRevoked),
    (409, error("case_closed"), ServerError),
    (400, error("invalid_input"), ServerError),
])
@responses.activate
def test_4xx_maps_to_the_agents_errors(client: Client, status: int, body: dict, kind: type) -> None:
    responses.get(CASE, status=status, json=body)
    with pytest.raises(kind) as caught:
        client.case("tok")
    assert caught.value.code == body["error"] and caught.value.status == status
    assert len(responses.calls) == 1  # a 4xx is never retried


@responses.activate
def test_wrong_join_code_is_not_case_gone(client: Client) -> None:
    responses.post(URL + "/api/v1/customer/join", status=404, json=error("case_not_found"))
    with pytest.raises(ServerError) as caught:
        client.join("s99-999-999", "d" * 20, {})
    assert type(caught.value) is ServerError and caught.value.code == "case_not_found"


@responses.activate
def test_revoked_module_on_sos(client: Client) -> None:
    responses.post(SOS, status=403, json=error("module_revoked", "revoked"))
    with pytest.raises(ModuleRevoked):
        client.sos("d" * 20, {}, "m1")


@responses.activate
def test_rate_limited_carries_retry_after(client: Client) -> None:
    responses.post(SOS, status=429, json=error("too_many_requests"), headers={"Retry-After": "42"})
    with pytest.raises(RateLimited) as caught:
        client.sos("d" * 20, {})
    assert caught.value.retry_after == 42


@responses.activate
def test_non_json_error_still_maps(client: Client) -> None:
    responses.get(CASE, status=502, body="<html>Bad gateway</html>")
    with pytest.raises(ServerError) as caught:
        client.case("tok")
    assert caught.value.code == "http_502"


@responses.activate
def test_a_page_that_is_not_json_is_retried_and_transient(client: Client, sleeps: list) -> None:
    # A captive portal answers 200 with HTML: not fatal, the flow keeps trying.
    responses.get(CASE, status=200, body="<html>Please log in to the hotel Wi-Fi</html>")
    responses.get(CASE, status=200, json=CASE_JSON)
    assert client.case("tok") == CASE_JSON
    assert sleeps == [0.5]
    responses.get(CASE, status=200, body="<html>again</html>")
    with pytest.raises(ServerError) as info:
        Client(URL, retries=0, sleep=sleeps.append).case("tok")
    assert info.value.code == "invalid_response" and info.value.transient
