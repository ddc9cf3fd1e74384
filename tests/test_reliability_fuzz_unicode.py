"""Every character in every part of a request, property-based over raw sockets against a
real server: header values, Content-Length, request targets, query values and
credentials shaped like real ones over all of Unicode (surrogates included), every
ASCII byte and every latin-1 digit ('²'); valid JSON bodies with one string, value or
key replaced by any text (lone surrogates included). The checks of each exchange are
tests/fuzz_helpers.py's.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz_helpers import EXAMPLES, FUZZ, Target, target  # noqa: F401 (a fixture)


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
