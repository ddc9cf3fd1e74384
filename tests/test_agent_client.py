"""The agent's HTTP client against a mocked HTTP layer (responses): one attempt per
call, each failure classified as transient (the flow retries it) or not."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import requests
import responses
import urllib3

from sosdesk.agent.client import CONNECT_TIMEOUT, Client, READ_SLACK, error_from_exception
from sosdesk.agent.errors import (AgentError, CaseGone, CertificateRefused, ModuleRevoked, RateLimited,
                          RequestFailed, ServerError, ServerUnreachable, TlsFailed)

URL = "http://support.test"
SOS = URL + "/api/v1/customer/sos"
CASE = URL + "/api/v1/customer/case"
CASE_JSON = {"code": "s12-345-678", "status": "new", "state": "open", "version": 1}


@pytest.fixture
def client() -> Client:
    return Client(URL)


def error(code: str, message: str = "no") -> dict:
    return {"error": code, "message": message}


@responses.activate
def test_sos_sends_device_and_module_and_returns_a_ticket(client: Client) -> None:
    responses.post(SOS, status=201, json={"case": CASE_JSON, "token": "tok", "created": True},
                   match=[responses.matchers.json_params_matcher(
                       {"device_id": "d" * 20, "device": {"hostname": "h"}, "module_id": "m1"})])
    ticket = client.sos("d" * 20, {"hostname": "h"}, "m1")
    assert ticket.case == CASE_JSON and ticket.token == "tok" and ticket.created
    assert "tok" not in repr(ticket)


def tls_error(verify: bool) -> requests.exceptions.SSLError:
    """A requests SSLError wrapped like a real one (requests > urllib3 > ssl)."""
    if verify:
        cause: ssl.SSLError = ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
        cause.verify_message = "self-signed certificate"
    else:
        cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        cause.reason = "WRONG_VERSION_NUMBER"
    inner = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.SSLError(cause))
    return requests.exceptions.SSLError(inner)


@pytest.mark.parametrize("exc, kind, transient", [
    (requests.ConnectionError("refused"), ServerUnreachable, True),
    (requests.ConnectionError(ConnectionResetError(104, "reset")), ServerUnreachable, True),
    (requests.ConnectTimeout("slow"), ServerUnreachable, True),
    (requests.ReadTimeout("no answer"), ServerUnreachable, True),
    (requests.exceptions.ChunkedEncodingError("cut off"), ServerUnreachable, True),
    (tls_error(verify=True), CertificateRefused, False),
    (tls_error(verify=False), TlsFailed, False),
    (requests.TooManyRedirects("loop"), RequestFailed, False),
])
@responses.activate
def test_a_failure_without_answer_is_classified_after_one_attempt(
        client: Client, exc: Exception, kind: type, transient: bool) -> None:
    responses.get(CASE, body=exc)
    with pytest.raises(kind) as caught:
        client.case("tok")
    assert caught.value.transient is transient and type(caught.value) is kind
    assert len(responses.calls) == 1  # the flow decides about another attempt, not the client


def test_a_refused_certificate_says_so_with_the_tls_reason() -> None:
    error = error_from_exception(tls_error(verify=True))
    assert str(error) == "the support server's certificate was refused: self-signed certificate"
    assert error.code == "certificate_refused"
    assert str(error_from_exception(tls_error(verify=False))) == (
        "no secure connection to the support server: wrong version number")


@responses.activate
def test_one_attempt_even_for_idempotent_calls(client: Client) -> None:
    responses.post(SOS, body=requests.ConnectionError("refused"))
    responses.post(SOS, status=200, json={"case": CASE_JSON, "token": "t", "created": False})
    with pytest.raises(ServerUnreachable):
        client.sos("d" * 20, {})
    assert len(responses.calls) == 1
    assert client.sos("d" * 20, {}).created is False  # the next call is a new attempt


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
    assert Client(URL, ca_bundle="/etc/company-ca.pem").verify == "/etc/company-ca.pem"


def test_the_brandings_ca_bundle_wins_over_the_environments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) replace a session's CA bundle;
    the agent's own CA must still be the one checked (a real TLS server, a test CA)."""
    from servers import in_process
    from sosdesk.server_stub.tls import Certificate
    from tls_certs import TestCA

    ca = TestCA(tmp_path / "ca")
    issued = ca.issue("server")
    system_bundle = requests.certs.where()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", system_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", system_bundle)
    with in_process(tmp_path / "env.db", tls=Certificate(issued.cert, issued.key)) as live:
        ticket = Client(live.url, ca_bundle=str(ca.bundle)).sos("env-bundle-device-01", {})
    assert ticket.created


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
@responses.activate
def test_5xx_and_408_are_transient_and_carry_their_code(client: Client, status: int) -> None:
    responses.post(URL + "/api/v1/customer/case/start", status=status,
                   json=error("storage_unavailable", "database busy"))
    with pytest.raises(ServerError) as caught:
        client.start("tok")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        status, "storage_unavailable", "database busy")
    assert caught.value.transient and len(responses.calls) == 1


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
    (413, error("too_large"), ServerError),
])
@responses.activate
def test_4xx_maps_to_the_agents_errors(client: Client, status: int, body: dict, kind: type) -> None:
    responses.get(CASE, status=status, json=body)
    with pytest.raises(kind) as caught:
        client.case("tok")
    assert caught.value.code == body["error"] and caught.value.status == status
    assert not caught.value.transient  # asking again gets the same answer


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


@pytest.mark.parametrize("header, seconds", [("42", 42), ("0", 1), ("-5", 1), ("soon", 1),
                                              ("Wed, 21 Oct 2015 07:28:00 GMT", 1), ("inf", 600)])
@responses.activate
def test_rate_limited_carries_retry_after(client: Client, header: str, seconds: float) -> None:
    responses.post(SOS, status=429, json=error("too_many_requests"), headers={"Retry-After": header})
    with pytest.raises(RateLimited) as caught:
        client.sos("d" * 20, {})
    assert caught.value.retry_after == seconds and caught.value.transient


@responses.activate
def test_non_json_error_still_maps(client: Client) -> None:
    responses.get(CASE, status=502, body="<html>Bad gateway</html>")
    with pytest.raises(ServerError) as caught:
        client.case("tok")
    assert caught.value.code == "http_502"


@responses.activate
def test_a_page_that_is_not_json_is_transient(client: Client) -> None:
    # A captive portal answers 200 with HTML: not fatal, the flow keeps trying.
    responses.get(CASE, status=200, body="<html>Please log in to the hotel Wi-Fi</html>")
    with pytest.raises(ServerError) as info:
        client.case("tok")
    assert info.value.code == "invalid_response" and info.value.transient
    assert len(responses.calls) == 1


@pytest.mark.parametrize("verify_code, problem", [
    (10, "expired"), (9, "not_yet_valid"), (18, "untrusted"), (19, "untrusted"), (20, "untrusted"),
    (62, "wrong_name"), (64, "wrong_name"), (23, "other"),
])
def test_a_refused_certificate_says_what_was_wrong(verify_code: int, problem: str) -> None:
    exc = tls_error(verify=True)
    cause = exc.args[0].reason.args[0]
    cause.verify_code = verify_code
    error = error_from_exception(exc)
    assert isinstance(error, CertificateRefused) and error.problem == problem
    assert error.reason == "self-signed certificate" and error.code == "certificate_refused"


def test_a_key_that_is_not_pinned_is_its_own_error() -> None:
    from sosdesk.agent.client import NotPinned
    from sosdesk.agent.errors import KeyNotPinned

    exc = requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/", urllib3.exceptions.SSLError(NotPinned("sha256/" + "A" * 43 + "="))))
    error = error_from_exception(exc)
    assert isinstance(error, KeyNotPinned) and error.code == "certificate_not_pinned"
    assert error.problem == "not_pinned" and error.reason == "sha256/" + "A" * 43 + "="
    assert error.transient is False
