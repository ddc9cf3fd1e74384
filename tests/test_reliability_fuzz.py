"""Malformed input: property-based requests over raw sockets against a real server.

Random methods, paths (route templates filled with junk), headers, JSON shapes,
huge and negative numbers, invalid UTF-8, truncated bodies and wrong
Content-Length; header values, Content-Length, request targets, query values
and credentials shaped like real ones over all of Unicode (surrogates included),
every ASCII byte and every latin-1 digit ('²'); valid JSON bodies with one
string, value or key, replaced by any text (lone surrogates included); HTTP/0.9
request lines. Every request must get exactly one well-formed HTTP/1.x answer (the raw
bytes parsed strictly) or a clean close within a bound, never a 5xx, and the
server must keep serving normal requests.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sosdesk.server_stub.app import App
from sosdesk.server_stub.http_api import ROUTES
from reliability_helpers import raw_exchange, responses, status_lines
from servers import in_process

IDLE_TIMEOUT = 2.0
# An answer or a close must come within this: the watchdog ticks once a second.
BOUND = IDLE_TIMEOUT + 3.0
EXAMPLES = 300

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)


_HEAD_END = re.compile(rb"\n\r?\n")  # http.server ends a head at a line of "\r\n" or "\n"


def requests_in(payload: bytes) -> int:
    """How many requests a payload frames at most: a head up to its first empty
    line and its declared body, then whatever bytes follow (taken as further
    requests, as HTTP/1.1 says)."""
    count, rest = 0, payload
    while rest:
        count += 1
        end = _HEAD_END.search(rest)
        if end is None:
            break
        head, rest = rest[:end.start()], rest[end.end():]
        lengths = re.findall(rb"(?im)^content-length:[ \t]*([0-9]+)[ \t]*\r?$", head)
        rest = rest[int(lengths[0]) if len(set(lengths)) == 1 else 0:]
    return count


class Target:
    """The server under fuzz, with credentials and a count of requests sent."""

    def __init__(self, url: str, expert_token: str, customer_token: str, app: App) -> None:
        self.url, self.expert_token, self.customer_token, self.app = (
            url, expert_token, customer_token, app)
        self.case_code = ""
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.slowest = 0.0

    def exchange(self, payload: bytes) -> list[int]:
        answer, took, closed = raw_exchange(self.url, payload, timeout=BOUND)
        self.sent += 1
        self.slowest = max(self.slowest, took)
        assert closed, f"no answer and no close within {BOUND}s for {payload[:300]!r}"
        try:
            # Every byte must be a well-formed HTTP/1.x answer (an HTTP/0.9 answer,
            # a body without a status line, is not); b"" is a clean close.
            answers = responses(answer, head=b"HEAD" in payload)
        except AssertionError as exc:
            raise AssertionError(f"{exc} for {payload[:300]!r}") from None
        statuses = [status for status, _ in answers]
        for status in statuses:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        # At most one answer per request the payload holds: more would mean a body
        # was taken for a request (request smuggling behind a proxy).
        requests_sent = requests_in(payload)
        assert len(statuses) <= requests_sent, f"{statuses} for {payload[:300]!r}"
        server_errors = [s for s in statuses if s >= 500]
        assert not server_errors, f"{server_errors} for {payload[:300]!r}: {answer[:500]!r}"
        for status, headers in answers:
            assert headers.get(b"x-content-type-options") == [b"nosniff"], (status, headers)
        if self.sent % 100 == 0:
            self.assert_still_serving()
        return statuses

    def assert_still_serving(self) -> None:
        """A normal request still gets its normal answer."""
        answer, _, _ = raw_exchange(self.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n", timeout=BOUND)
        assert status_lines(answer) == [200], answer[:300]


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    errors = _ErrorLog()
    logging.getLogger("sosdesk").addHandler(errors)
    try:
        with in_process(tmp_path_factory.mktemp("fuzz") / "fuzz.db", IDLE_TIMEOUT,
                        sos_per_10min=10**6) as server:
            _, customer_token, _ = server.store.sos({"device_id": "fuzz-device-000000001",
                                                     "description": "printer"}, int(time.time()))
            fuzz = Target(server.url, server.token, customer_token, server.app)
            fuzz.case_code = server.store.create_case({}, 1, int(time.time()))["code"]
            yield fuzz
    finally:
        logging.getLogger("sosdesk").removeHandler(errors)
    print(f"\nfuzz: {fuzz.sent} requests, statuses {dict(sorted(fuzz.statuses.items()))}, "
          f"slowest answer {fuzz.slowest:.2f}s, server errors logged: {len(errors.records)}")
    assert errors.records == [], errors.records[:3]


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


# -- every character: headers, targets, queries, credentials, JSON strings ------------

# Hypothesis leaves surrogates out of text unless asked; a lone one is what broke.
any_char = st.characters(blacklist_categories=())
ascii_char = st.characters(max_codepoint=127)  # every ASCII byte, CR, LF and NUL included
lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.one_of(
    st.text(any_char, max_size=30),
    st.text(ascii_char, max_size=30),
    st.text(st.characters(max_codepoint=255), max_size=30),  # every byte, read back as latin-1
    st.text(st.characters(whitelist_categories=("Nd", "No")), min_size=1, max_size=4),  # '٣'
    st.builds(lambda a, s, b: a + s + b, st.text(any_char, max_size=8), lone_surrogate,
              st.text(any_char, max_size=8)))

# What str takes for a number or a blank among the bytes a head is read as (latin-1):
# '²'.isdigit() is True, but int('²') fails.
number_like = st.text(st.sampled_from([c for c in map(chr, range(256)) if c.isdigit()
                                       or c.isnumeric() or c.isspace() or c in "+-.,_"]),
                      min_size=1, max_size=6)
# Only what str.isdigit() takes among latin-1: ASCII digits and '²', '³', '¹'.
digits_like = st.text(st.sampled_from(sorted(c for c in map(chr, range(256)) if c.isdigit())),
                      min_size=1, max_size=6)


def _wire(text: str) -> bytes:
    """Text as the bytes of a request head: code points up to 255 as one byte each
    (http.server reads heads as latin-1, so '\xb2' arrives as '²'), others as UTF-8,
    surrogates included."""
    return b"".join(bytes([ord(c)]) if ord(c) < 256 else c.encode("utf-8", "surrogatepass")
                    for c in text)


header_names = st.one_of(
    st.sampled_from(["Content-Length", "Transfer-Encoding", "Host", "Authorization", "Cookie",
                     "Connection", "Expect", "X-CSRF-Token", "Content-Type"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"),
            min_size=1, max_size=20))
simple_paths = st.sampled_from(["/healthz", "/api/v1/customer/sos", "/api/v1/login",
                                "/api/v1/sessions", "/api/v1/customer/case", "/"])


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "HEAD", "PUT"]), path=simple_paths,
       headers=st.lists(st.tuples(header_names, any_text), min_size=1, max_size=4),
       body=st.sampled_from([b"", b"{}", b'{"device_id": "fuzz-device-000000009"}']),
       credential=st.booleans())
def test_header_values_over_all_of_unicode(target: Target, method: str, path: str, headers,
                                           body: bytes, credential: bool) -> None:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: x"]
    if credential:
        lines.append(f"Authorization: Bearer {target.expert_token}".encode())
    lines += [name.encode() + b": " + _wire(value) for name, value in headers]
    if not any(name.lower() == "content-length" for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}".encode())
    target.exchange(b"\r\n".join(lines) + b"\r\n\r\n" + body)


@FUZZ
@given(value=st.one_of(number_like, any_text, st.integers(-1, 10**30).map(str)),
       path=st.sampled_from(["/api/v1/customer/sos", "/api/v1/login", "/healthz"]),
       body=st.sampled_from([b"", b"{}", b'{"device_id": "fuzz-device-000000009"}']))
def test_content_length_values_over_all_of_unicode(target: Target, value: str, path: str,
                                                   body: bytes) -> None:
    """The header that frames the body: any text as its value, '²' included."""
    target.exchange(f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode() + b"Content-Length: "
                    + _wire(value) + b"\r\n\r\n" + body)


target_prefixes = st.sampled_from(["", "/", "/api/v1/", "/api/v1/sessions/", "/static/",
                                   "http://", "https://", "http://127.0.0.1/", "//", "*", "?"])
url_chars = st.text(st.sampled_from(list("[]@:/?#%.\\&=;+ \t")) | ascii_char, max_size=30)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "HEAD", "DELETE", "OPTIONS"]),
       prefix=target_prefixes, rest=st.one_of(any_text, url_chars),
       version=st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
def test_request_targets_over_all_of_unicode(target: Target, method: str, prefix: str, rest: str,
                                             version: str) -> None:
    target.exchange(method.encode() + b" " + _wire(prefix + rest) + b" " + version.encode()
                    + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n")


QUERY_KEYS = ["since", "wait", "limit", "offset", "status", "state", "groupid", "assigned_userid",
              "x"]
query_values = st.one_of(any_text, number_like, digits_like, digits_like.map(lambda t: "u" + t),
                         digits_like.map(lambda t: "-" + t))


@pytest.mark.parametrize("key", QUERY_KEYS)
@settings(FUZZ, max_examples=EXAMPLES // 6)
@given(value=query_values, other=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), query_values),
                                          max_size=2),
       path=st.sampled_from(["/api/v1/sessions", "/api/v1/changes", "/api/v1/customer/case"]))
def test_query_values_over_all_of_unicode(target: Target, key: str, value: str, other,
                                          path: str) -> None:
    """Query values percent-encoded, as a browser sends them: they arrive decoded ('u²')."""
    encoded = "&".join(f"{name}={quote(text, safe='', errors='surrogatepass')}"
                       for name, text in [(key, value), *other])
    token = target.customer_token if path.endswith("case") else target.expert_token
    statuses = target.exchange(f"GET {path}?{encoded} HTTP/1.1\r\nHost: x\r\n"
                               f"Authorization: Bearer {token}\r\n\r\n".encode())
    assert len(statuses) == 1, statuses


# A customer token is '<case id>.<64 hex>': hex and every byte above ASCII (read as latin-1).
mac_like = st.one_of(
    st.text(st.sampled_from(list("0123456789abcdef") + [chr(c) for c in range(0x80, 0x100)]),
            min_size=64, max_size=64),
    st.text(any_char, min_size=64, max_size=64), any_text)
CREDENTIAL_SHAPES = {
    "case token of the case": lambda case_id, _, mac: ("Authorization", f"Bearer {case_id}.{mac}"),
    "case token, any id": lambda _, any_id, mac: ("Authorization", f"Bearer {any_id}.{mac}"),
    "expert token": lambda _, any_id, mac: ("Authorization", f"Bearer sdx_{mac}"),
    "authorization": lambda _, any_id, mac: ("Authorization", mac),
    "cookie": lambda _, any_id, mac: ("Cookie", f"sosdesk_session={mac}"),
    "csrf": lambda _, any_id, mac: ("X-CSRF-Token", mac),
}


@pytest.mark.parametrize("shape", CREDENTIAL_SHAPES)
@settings(FUZZ, max_examples=EXAMPLES // 3)
@given(any_id=st.one_of(digits_like, any_text), mac=mac_like,
       route=st.sampled_from([("GET", "/api/v1/customer/case"), ("POST", "/api/v1/customer/case/start"),
                              ("POST", "/api/v1/customer/case/close"), ("GET", "/api/v1/sessions"),
                              ("POST", "/api/v1/logout")]))
def test_credentials_over_all_of_unicode(target: Target, shape: str, any_id: str, mac: str,
                                         route) -> None:
    """Credentials shaped like real ones, with any text in one part."""
    case_id = target.customer_token.partition(".")[0]
    name, value = CREDENTIAL_SHAPES[shape](case_id, any_id, mac)
    method, path = route
    target.exchange(f"{method} {path} HTTP/1.1\r\nHost: x\r\n".encode() + name.encode()
                    + b": " + _wire(value) + b"\r\nContent-Length: 2\r\n\r\n{}")


def _json_routes(fuzz: Target) -> list[tuple[str, str, bool, dict]]:
    """(method, path, as expert?, a valid body) for every route that reads JSON."""
    device = {"hostname": "PC-7", "os": "Linux", "user": "bob"}
    return [
        ("POST", "/api/v1/customer/sos", False,
         {"device_id": "fuzz-device-000000002", "description": "printer", "device": device}),
        ("POST", "/api/v1/customer/join", False,
         {"code": fuzz.case_code, "device_id": "fuzz-device-000000003", "device": device}),
        ("POST", "/api/v1/login", False, {"name": "anna", "password": "not the password"}),
        ("POST", "/api/v1/sessions", True,
         {"description": "VPN", "end_customer": {"name": "Bob", "email": "bob@example.com"},
          "groupid": "vip", "waiting_message": "soon", "custom_api": "x",
          "assigned_userid": "u1"}),
        ("PUT", f"/api/v1/sessions/{fuzz.case_code}", True,
         {"description": "VPN", "end_customer": {"name": "Bob"}, "waiting_message": "soon"}),
        ("POST", "/api/v1/modules", True, {"name": "ACME", "groupid": "acme"}),
        ("POST", "/api/v1/sessions/delete", True, {"codes": ["s00-000-000"]}),
    ]


def _string_slots(value, path=()) -> list[tuple]:
    """Paths to every string value and every key in a JSON value (("key", ...) for keys)."""
    slots = []
    if isinstance(value, dict):
        for key, item in value.items():
            slots.append(("key",) + path + (key,))
            slots += _string_slots(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            slots += _string_slots(item, path + (index,))
    elif isinstance(value, str):
        slots.append(("value",) + path)
    return slots


def _replaced(body, slot: tuple, text: str):
    """A copy of *body* with the key or string value at *slot* replaced by *text*."""
    body = json.loads(json.dumps(body))
    kind, *path = slot
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if kind == "key":
        parent[text] = parent.pop(path[-1])
    else:
        parent[path[-1]] = text
    return body


@FUZZ
@given(data=st.data(), text=any_text, raw_utf8=st.booleans())
def test_json_strings_over_all_of_unicode(target: Target, data, text: str, raw_utf8: bool) -> None:
    """Valid bodies with one key or string replaced: lone surrogates must reach no
    database and no error body (an unknown key is echoed in the answer)."""
    method, path, expert, body = data.draw(st.sampled_from(_json_routes(target)))
    slot = data.draw(st.sampled_from(_string_slots(body)))
    changed = _replaced(body, slot, text)
    # As JSON escapes ("\ud800") or raw (a surrogate in UTF-8 is invalid UTF-8).
    encoded = (json.dumps(changed, ensure_ascii=False).encode("utf-8", "surrogatepass")
               if raw_utf8 else json.dumps(changed).encode())
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(encoded)}\r\n"
    if expert:
        head += f"Authorization: Bearer {target.expert_token}\r\n"
    statuses = target.exchange(head.encode() + b"\r\n" + encoded)
    assert len(statuses) == 1, f"one whole request, {statuses} for {encoded[:200]!r}"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert statuses == [400], statuses


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
