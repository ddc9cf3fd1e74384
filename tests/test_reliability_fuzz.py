"""Malformed input: property-based requests over raw sockets against a real server.

Random methods, paths (route templates filled with junk), headers, JSON shapes,
huge and negative numbers, invalid UTF-8, truncated bodies and wrong
Content-Length; HTTP/0.9 request lines; bodies that stall. Every request must get
exactly one well-formed HTTP/1.x answer (the raw bytes parsed strictly) or a clean
close within a bound, never a 5xx, and the server must keep serving normal requests
(tests/fuzz_helpers.py). test_reliability_fuzz_unicode.py puts every character in
each part of a request.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sosdesk.server_stub.http_api import ROUTES
from fuzz_helpers import BOUND, EXAMPLES, FUZZ, IDLE_TIMEOUT, Target, target  # noqa: F401 (a fixture)
from reliability_helpers import raw_exchange, responses, status_lines


# -- strategies -------------------------------------------------------------------------

numbers = st.one_of(st.integers(min_value=-2**70, max_value=2**70),
                    st.sampled_from([0, -1, 2**31, 2**63, -2**63, 10**30]),
                    st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=15), children, max_size=5),
    max_leaves=20)
field_names = st.sampled_from(["device_id", "device", "description", "module_id", "code",
                               "codes", "name", "password", "groupid", "end_customer",
                               "assigned_userid", "valid_until", "state", "waiting_message",
                               "custom_api", "hostname", "os", "user"])
known_shapes = st.dictionaries(field_names, json_values, max_size=6)
junk_segment = st.one_of(
    st.text(min_size=1, max_size=30).map(lambda t: t.replace("/", "%2F")),
    st.sampled_from(["s12-345-678", "12345678", "..", "%00", "%ff%fe", "-1",
                     "99999999999999999999", "m0000", "a" * 300]))


def _filled(template: str, segment: str) -> str:
    return re.sub(r"\{\w+\}", lambda _: segment, template)


def _one_line(text: str) -> str:
    """Keep a request line one line most of the time (the raw-bytes test breaks it)."""
    return text.replace(" ", "%20").replace("\r", "%0D").replace("\n", "%0A")


paths = st.one_of(
    st.builds(_filled, st.sampled_from([r.template for r in ROUTES]), junk_segment),
    st.text(max_size=60).map(lambda t: "/" + t),
    st.sampled_from(["*", "", "//", "/api/v1/", "/api/v1/sessions/", "http://x/healthz"]))
queries = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from(["since", "wait", "limit", "offset", "status", "state",
                                     "groupid", "assigned_userid", "x"]),
                    st.one_of(numbers.map(str), st.text(max_size=20)), max_size=4)
    .map(lambda q: "?" + "&".join(f"{k}={v}" for k, v in q.items())),
    st.text(max_size=40).map(lambda t: "?" + t))
methods = st.one_of(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS",
                                     "TRACE", "CONNECT"]),
                    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12))
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda v: json.dumps(v).encode()),
    known_shapes.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),  # mostly invalid UTF-8 and invalid JSON
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")))
lengths = st.one_of(st.just("exact"), st.just("none"), st.just("short"), st.just("long"),
                    st.sampled_from(["-1", "1e3", "0x10", "99999999999999999999", " 5", "",
                                     "5, 6", "65537"]))
credentials = st.sampled_from(["none", "expert", "customer", "junk", "cookie", "basic"])
extra_headers = st.lists(
    st.tuples(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                             blacklist_characters=":"), min_size=1, max_size=20),
              st.text(max_size=40)), max_size=4)


@st.composite
def requests_(draw) -> tuple:
    method = draw(methods)
    target_path = draw(paths) + draw(queries)
    if draw(st.integers(0, 9)):
        target_path = _one_line(target_path)
    body = draw(bodies)
    length = draw(lengths)
    return method, target_path, body, length, draw(credentials), draw(extra_headers), \
        draw(st.booleans()), draw(st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/9",
                                                                    "HTTP/0.9", ""]))


def _encode(fuzz: Target, drawn) -> bytes:
    method, target_path, body, length, credential, extra, truncate, version = drawn
    lines = [f"{method} {target_path} {version}".rstrip(" ").encode("utf-8", "surrogateescape"),
             b"Host: 127.0.0.1"]
    token = {"expert": fuzz.expert_token, "customer": fuzz.customer_token,
             "junk": "sdx_" + "0" * 40}.get(credential)
    if token:
        lines.append(f"Authorization: Bearer {token}".encode())
    elif credential == "cookie":
        lines.append(b"Cookie: sosdesk_session=forged; other=\xff\xfe")
    elif credential == "basic":
        lines.append(b"Authorization: Basic YWRtaW46YWRtaW4=")
    sent = body[: len(body) // 2] if truncate else body
    if length == "exact":
        lines.append(f"Content-Length: {len(body)}".encode())
    elif length == "short":
        lines.append(f"Content-Length: {max(0, len(body) - 3)}".encode())
    elif length == "long":
        lines.append(f"Content-Length: {len(body) + 10}".encode())
    elif length != "none":
        lines.append(f"Content-Length: {length}".encode())
    lines.append(b"Content-Type: application/json")
    for name, value in extra:
        lines.append(f"{name}: {value}".encode("utf-8", "surrogatepass"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + sent


@FUZZ
@given(drawn=requests_())
def test_random_requests_never_get_a_5xx_or_hang(target: Target, drawn) -> None:
    target.exchange(_encode(target, drawn))


@FUZZ
@given(payload=st.one_of(st.binary(max_size=400),
                         st.binary(max_size=200).map(lambda b: b"GET /healthz HTTP/1.1\r\n" + b),
                         st.binary(max_size=200).map(
                             lambda b: b"POST /api/v1/customer/sos HTTP/1.1\r\nContent-Length: "
                             + str(len(b)).encode() + b"\r\n\r\n" + b)))
def test_random_bytes_never_get_a_5xx_or_hang(target: Target, payload: bytes) -> None:
    target.exchange(payload)


@pytest.mark.parametrize("line", [b"GET /healthz", b"GET /", b"GET /api/v1/sessions",
                                  b"POST /api/v1/login", b"HEAD /healthz", b"GET /healthz HTTP/0.9",
                                  b"GET /healthz HTTP/0.1", b"GET /healthz HTTP/0.0"])
@pytest.mark.parametrize("end", [b"\r\n", b"\r\n\r\n", b"\n"])
def test_http_09_request_lines_get_an_http_11_error(target: Target, line: bytes, end: bytes) -> None:
    """HTTP/0.9 has no status line or headers: it is refused as an HTTP/1.1 400."""
    answer = raw_exchange(target.url, line + end, timeout=BOUND)[0]
    answers = responses(answer, head=line.startswith(b"HEAD"))
    target.sent += 1
    assert [status for status, _ in answers] == [400], answers
    assert answers[0][1][b"connection"] == [b"close"]
    if not line.startswith(b"HEAD"):
        body = json.loads(answer.partition(b"\r\n\r\n")[2])
        assert body["error"] == "unsupported_http_version", body


def test_stalled_bodies_are_closed_within_the_bound(target: Target) -> None:
    """Content-Length larger than what comes, no half-close: the watchdog must close."""
    results: list[tuple[float, bool, bytes]] = []

    def stall(n: int) -> None:
        payload = (b"POST /api/v1/customer/sos HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n"
                   + b'{"device_id": "' + str(n).encode())
        answer, took, closed = raw_exchange(target.url, payload, timeout=BOUND + 5,
                                            half_close=False)
        results.append((took, closed, answer))

    threads = [threading.Thread(target=stall, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND + 10)
    target.sent += len(threads)
    assert len(results) == 10
    for took, closed, answer in results:
        assert closed and took <= BOUND, (took, answer[:200])
        assert not [s for s in status_lines(answer) if s >= 500]
    print(f"\nstalled bodies: 10 closed after {min(r[0] for r in results):.2f}-"
          f"{max(r[0] for r in results):.2f}s (idle timeout {IDLE_TIMEOUT}s)")


def test_server_still_serves_after_the_fuzz(target: Target) -> None:
    answer, _, _ = raw_exchange(target.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
    assert status_lines(answer) == [200]
    answer, _, _ = raw_exchange(
        target.url, f"GET /api/v1/sessions?limit=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        f"{target.expert_token}\r\nConnection: close\r\n\r\n".encode())
    assert status_lines(answer) == [200]
    assert target.sent >= 2 * EXAMPLES
