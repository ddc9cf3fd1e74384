"""The connection handler: reads a request's head and body off the socket with
every protocol protection, hands them to its server's ``answer`` (``http_api.dispatch``,
or the https redirect) and writes the answer with the security headers. Nothing
here knows a route or a credential.

Its server (``server.Server``) gives it ``app``, ``answer``, ``watchdog``, the count
of requests in flight and ``tls`` (the socket is already a TLS one then): over TLS
every answer carries Strict-Transport-Security and every cookie is Secure.
"""

from __future__ import annotations

import email.utils
import logging
import re
import shutil
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from .errors import ServerError
from .http_api import body_limit, error_response, streams_body
from .request import BodyStream, Headers, HttpError, Response
from .tls import HSTS, secure_cookie

log = logging.getLogger("sosdesk.server")
access_log = logging.getLogger("sosdesk.access")

SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
)


class _ClientGone(Exception):
    """The client stopped sending (or vanished) in the middle of its request."""


class Handler(BaseHTTPRequestHandler):
    """Reads one request at a time off a keep-alive connection and writes its answer."""

    protocol_version = "HTTP/1.1"
    # Without this, a keep-alive client waits ~40 ms per response (Nagle + delayed ACK).
    disable_nagle_algorithm = True
    server_version = "sosdesk"
    sys_version = ""
    error_content_type = "application/json; charset=utf-8"

    def setup(self) -> None:
        self.timeout = self.server.app.settings.idle_timeout
        super().setup()

    def handle_one_request(self) -> None:
        """As in http.server, but the whole request must arrive within the deadline."""
        server = self.server
        self._started = None
        if server.app.stopping.is_set():  # accepted just before the server stopped
            self.close_connection = True
            return
        server.watchdog.waiting(self.connection)
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            self._started = time.perf_counter()
            if len(self.raw_requestline.split()) == 2:
                # HTTP/0.9: the request line is the whole request, so no headers follow;
                # answer now instead of waiting for them until the idle timeout.
                self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                "HTTP/0.9 is not supported; send HTTP/1.1")
                return
            if not self.parse_request():
                return
            if self._bad_head or _bad_request_line(self.raw_requestline):
                self.send_error(HTTPStatus.BAD_REQUEST, "malformed request head: a line with a "
                                "CR or NUL inside, without a colon, or folded")
                return
            if _before_http_10(self.request_version):
                # http.server would answer HTTP/0.9 with a bare body: no status line, no headers.
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                "HTTP/0.9 is not supported; send HTTP/1.1")
                return
            server.request_started()
            try:
                self._answer()
                self.wfile.flush()
            finally:
                server.request_done()
            if server.app.stopping.is_set():
                self.close_connection = True
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True
        except Exception:  # a bug outside dispatch's own net: log it, close cleanly
            log.exception("internal error while handling a request from %s", self.client_address[0])
            self.close_connection = True
        finally:
            server.watchdog.done(self.connection)

    def parse_request(self) -> bool:
        """http.server's parse_request with a header reader of its own (see RequestHead).

        The request line is checked as http.server does it (the same answers to
        a bad version, HTTP/2, a bad HTTP/0.9 line); the header lines are read by
        ``RequestHead.read`` instead of the e-mail parser, which took a sixth of
        a small request's time. A line that is not ``name: value`` is noted in
        ``_bad_head`` and refused by the caller, as before.
        """
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                numbers = version.split("/", 1)[1].split(".")
                if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
                    raise ValueError
                version_number = int(numbers[0]), int(numbers[1])
            except (ValueError, IndexError):
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad request version (%r)" % version)
                return False
            if version_number >= (1, 1):
                self.close_connection = False
            if version_number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                "Invalid HTTP version (%s)" % version.split("/", 1)[1])
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request syntax (%r)" % requestline)
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad HTTP/0.9 request type (%r)" % command)
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):  # as http.server: no scheme-relative open redirect
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers, self._bad_head = RequestHead.read(self.rfile)
        except _HeadTooLarge as exc:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, exc.args[0])
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if ((self.headers.get("Expect") or "").lower() == "100-continue"
                and self.request_version >= "HTTP/1.1"):
            if not self.handle_expect_100():
                return False
        return True

    def _body_length(self) -> int:
        """The body's length from its Content-Length (0 without one), within the route's limit."""
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "length_required",
                            "send the body with a Content-Length (no chunked encoding)", close=True)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return 0
        # ASCII digits only: str.isdigit() also takes '²', which int() then refuses.
        if len(set(lengths)) != 1 or not _DIGITS.fullmatch(lengths[0].strip(" \t")):
            raise HttpError(HTTPStatus.BAD_REQUEST, "bad_content_length",
                            "Content-Length must be one whole number", close=True)
        digits = lengths[0].strip(" \t").lstrip("0") or "0"
        # Over 18 digits is past any body we take (and int() refuses 4,301 digits).
        length = int(digits) if len(digits) <= 18 else 10**18
        max_body = body_limit(self.server.app, self.command, self.path)
        if length > max_body:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                            f"the body may be at most {max_body} bytes", close=True)
        return length

    def _read_body(self) -> bytes:
        length = self._body_length()
        if not length:
            return b""
        try:
            body = self.rfile.read(length)
        except OSError:  # the socket timeout (a client too slow) or a reset
            raise _ClientGone from None
        if len(body) != length:
            raise HttpError(HTTPStatus.BAD_REQUEST, "truncated_body",
                            "the body ended before Content-Length bytes", close=True)
        return body

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        if self.server.streams_uploads and streams_body(self.command, self.path):
            self._answer_upload(path)
            return
        try:
            # The body comes off the connection first, whatever the answer: a body
            # left unread would be taken for the next request on this connection.
            body = self._read_body()
        except ServerError as exc:
            self._send(error_response(exc, path))
            return
        except _ClientGone:
            # The body never came in time: as documented, the connection is just closed.
            self.close_connection = True
            return
        self.server.watchdog.done(self.connection)  # the request is in; answering may take long
        self._send(self.server.answer(self.server.app, self.command, self.path,
                                      Headers(self.headers.items()), body, self.client_address[0]))

    def _answer_upload(self, path: str) -> None:
        """A route that reads its body as it comes (a published agent, up to hundreds of MB):
        the route checks the credential before it reads a byte, and a body it leaves
        unread (a refusal) closes the connection instead of being read for nothing."""
        try:
            stream = BodyStream(self.rfile, self._body_length())
        except ServerError as exc:
            self._send(error_response(exc, path))
            return
        # Not under the whole-request deadline: a large body takes its time. Every read
        # still has the socket's timeout, and only an authenticated expert is read from.
        self.server.watchdog.done(self.connection)
        response = self.server.answer(self.server.app, self.command, self.path,
                                      Headers(self.headers.items()), b"", self.client_address[0],
                                      stream=stream)
        if stream.remaining:
            response.close = True
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self._send_head_and_body(response)
        finally:
            if response.file is not None:
                response.file.close()

    def _send_head_and_body(self, response: Response) -> None:
        if response.close:
            self.close_connection = True
        payload = response.payload()
        # The head and the body go out in one write: one packet for a small answer,
        # where http.server's flush of the head, then the body, made two.
        length = response.length if response.file is not None else len(payload)
        head = [f"{self.protocol_version} {response.status} {_phrase(response.status)}\r\n"
                f"Server: {self.version_string()}\r\nDate: {_http_date()}\r\n"
                f"Content-Type: {response.content_type}\r\n"
                f"Content-Length: {length}\r\n{_SECURITY_HEAD}"]
        over_tls = self.server.tls is not None
        if over_tls:
            head.append("%s: %s\r\n" % HSTS)
        for name, value in response.headers:
            if over_tls and name.lower() == "set-cookie":
                value = secure_cookie(value)  # a cookie sent over TLS never travels in clear
            head.append(f"{name}: {value}\r\n")
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1", "strict")
        if self.command == "HEAD":
            self.wfile.write(data)
        elif response.file is not None:
            self.wfile.write(data)
            # Streamed as it is read: a download of hundreds of MB is never held.
            shutil.copyfileobj(response.file, self.wfile, 1 << 20)
        elif len(payload) <= 65536:
            self.wfile.write(data + payload)
        else:  # a screen's frame: not worth a copy
            self.wfile.write(data)
            self.wfile.write(payload)
        self._log_access(response.status, length)

    # http.server calls send_error for problems it finds itself (bad request
    # line, unsupported method, header too long): answer those as JSON too.
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        codes = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large",
                 501: "method_not_allowed", 505: "unsupported_http_version"}
        if code == HTTPStatus.BAD_REQUEST and len((getattr(self, "requestline", "") or "").split()) == 2:
            code = HTTPStatus.HTTP_VERSION_NOT_SUPPORTED  # method and target only: HTTP/0.9
        # Anything http.server rejects is the client's fault: never answer it with a 5xx.
        status = {501: 405, 505: 400}.get(code, code)
        # We never speak HTTP/0.9 (whose answers have no status line), even to a bad request line.
        self.request_version = "HTTP/1.1"
        if not getattr(self, "command", None):
            self.command = "GET"
        self._send(Response(status, {"error": codes.get(code, "bad_request"),
                                     "message": message or HTTPStatus(code).phrase}, close=True))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # _log_access writes one line per request instead

    def _log_access(self, status: int, size: int) -> None:
        took = (time.perf_counter() - self._started) * 1000 if getattr(self, "_started", None) else 0
        path = getattr(self, "path", "") or ""
        # Only the path: query strings are the caller's, and a credential never belongs in a log.
        access_log.info('%s "%s %s" %d %d %.1fms', self.client_address[0],
                        getattr(self, "command", "") or "-", path.split("?", 1)[0][:200],
                        status, size, took)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)


_DIGITS = re.compile(r"[0-9]+")
_SECURITY_HEAD = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS)


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value, made once a second (email.utils.formatdate is slow)."""
    global _date_cache
    now = int(time.time())
    second, text = _date_cache
    if second != now:
        text = email.utils.formatdate(now, usegmt=True)
        _date_cache = (now, text)
    return text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _HeadTooLarge(Exception):
    """A header line over MAX_HEADER_LINE bytes, or more than MAX_HEADERS lines."""


#: As http.client allows (its _MAXLINE and _MAXHEADERS), answered with 431 past them.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100


class RequestHead:
    """A request's header fields: ``get`` (the first of a name, any case), ``get_all``, ``items``.

    Read by ``read``, which also notes any line other than ``name: value`` (a
    token, a colon, no CR inside and no NUL). http.server reads lines up to LF,
    but its e-mail header parser also splits at a bare CR, stops at a line
    without a colon ("Content-Length : 5") and takes the rest for a body, drops
    a "From " line and joins folded lines. A proxy in front may frame such a
    request otherwise: "X: a<CR>Content-Length: 5" is one header there and two
    here, a request smuggled past it. RFC 9110 (5.5) and RFC 9112 (5) say to
    reject these, so the caller refuses a head with such a line, and for every
    other head this reading and the e-mail parser's agree.
    """

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        self._by_name: dict[str, list[str]] = {}
        for name, value in fields:
            self._by_name.setdefault(name.lower(), []).append(value)

    @classmethod
    def read(cls, rfile: Any) -> tuple["RequestHead", bool]:
        """The header lines up to the blank line: (head, whether a line was malformed)."""
        fields: list[tuple[str, str]] = []
        bad = False
        while True:
            line = rfile.readline(MAX_HEADER_LINE + 1)
            if len(line) > MAX_HEADER_LINE:
                raise _HeadTooLarge("Line too long")
            if line in (b"\r\n", b"\n", b""):
                break
            if len(fields) >= MAX_HEADERS:
                raise _HeadTooLarge("Too many headers")
            if not _HEADER_LINE.fullmatch(line):
                bad = True
                continue
            name, _, value = line.decode("iso-8859-1").partition(":")
            fields.append((name, value.lstrip(" \t").rstrip("\r\n")))
        return cls(fields), bad

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first field called *name* (any case), else *default*."""
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str, default: Any = None) -> list[str] | Any:
        """Every value of the fields called *name*, in order, else *default*."""
        return list(self._by_name.get(name.lower(), ())) or default

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) in the order received."""
        return list(self._fields)

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name


# A field name (any visible ASCII but ':', as the email parser takes it), a colon,
# a value without CR, LF or NUL, the line's end (none on a head cut off by EOF).
_HEADER_LINE = re.compile(rb"[!-9;-~]+:[^\r\n\0]*\r?\n?")


def _bad_request_line(line: bytes) -> bool:
    """Whether a request line has a CR (other than its CRLF end) or a NUL."""
    content = line[:-2] if line.endswith(b"\r\n") else line.removesuffix(b"\n")
    return b"\r" in content or b"\0" in content


def _before_http_10(version: str) -> bool:
    """Whether a version http.server accepted ('HTTP/0.9' for a line without one) is < 1.0."""
    major = version.removeprefix("HTTP/").partition(".")[0]
    return major.isascii() and major.isdigit() and int(major) < 1
