"""TLS for the server, with the standard library's ``ssl``: the certificate and its
renewal, the handshake of each connection, and the plain-HTTP redirect.

``Certificate`` loads a PEM certificate (a chain file works) and its key into an
``SSLContext`` that speaks TLS 1.2 or newer. It keeps an eye on the two files:
at most every ``check_every`` seconds a new connection compares their SHA-256
with the loaded ones and, when they changed (a renewal), loads them into a new
context for the connections that follow. Connections already open keep the
context they were made with, so nothing is dropped. A half-renewed pair (new
certificate, old key) fails to load and the previous context stays until the
pair matches again.

``handshake`` runs in the connection's own thread (never the listener's, so a
slow client holds up nobody else). A handshake that trickles in is closed after
the idle timeout like a slow request: Python bounds a whole ``do_handshake`` by
the socket's timeout, and the handshake is under the same watchdog as a request
too, which also ends it when the server stops. Whatever arrives that is not TLS
(plain HTTP, garbage) ends in a clean close.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import ssl
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Callable, Protocol

from sosdesk.common.pins import CertificateFormatError, CertificateInfo, certificate_info, \
    first_certificate_der

from .errors import ServerError
from .request import Headers, Response

log = logging.getLogger("sosdesk.server")

__all__ = ["Certificate", "CertificateProblem", "HSTS", "handshake", "redirect_answer",
           "secure_cookie"]

#: How often (seconds, at most) a new connection looks whether the files changed.
CHECK_EVERY = 5.0
#: Browsers that saw this keep to https for a year (no includeSubDomains: the
#: server does not own its neighbours' names).
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class CertificateProblem(ServerError):
    """The certificate or key cannot be read or used (missing, damaged, not a pair)."""

    code = "tls_certificate"


class _Watchdog(Protocol):
    def waiting(self, conn: socket.socket) -> None: ...
    def done(self, conn: socket.socket) -> None: ...


def _no_password() -> str:
    # Without a callback, OpenSSL would ask for the passphrase on the terminal.
    raise CertificateProblem("the key is encrypted with a passphrase; the server needs it "
                             "unencrypted (openssl pkey -in KEY -out PLAIN.key), readable only by its user")


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """An SSLContext serving *cert* (PEM, chain allowed) with *key*, TLS 1.2 or newer only."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except CertificateProblem:
        raise
    except FileNotFoundError as exc:
        raise CertificateProblem(f"no such file: {exc.filename}") from None
    except ssl.SSLError as exc:
        raise CertificateProblem(f"cannot use the certificate {cert} with the key {key}: "
                                 f"{_ssl_reason(exc)}") from None
    except OSError as exc:
        raise CertificateProblem(f"cannot read {exc.filename or cert}: {exc.strerror or exc}") from None
    return context


def _ssl_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's reason in words an operator can act on."""
    reasons = {"KEY_VALUES_MISMATCH": "the key does not belong to the certificate",
               "EE_KEY_TOO_SMALL": "the key is too small (RSA needs 2048 bits or more)",
               "CA_MD_TOO_WEAK": "the certificate is signed with a weak hash (e.g. SHA-1)"}
    if exc.reason in reasons:
        return reasons[exc.reason]
    if exc.reason in ("PEM_LIB", "NO_START_LINE") or "PEM lib" in str(exc):
        # OpenSSL says only "PEM lib" for a file that is no PEM certificate or key.
        return "a file is not PEM, or holds no certificate or no key"
    return str(exc.reason or exc.strerror or exc)


class Certificate:
    """The server's certificate and key, loaded again for new connections once renewed."""

    def __init__(self, cert: Path, key: Path, check_every: float = CHECK_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cert, self.key = Path(cert), Path(key)
        self.check_every = check_every
        self.clock = clock
        self._lock = threading.Lock()
        digest = self._digest()
        self._context = server_context(self.cert, self.key)
        self.info = self._read_info()
        self._loaded = digest
        self._refused: str | None = None  # the digest of files that failed to load (said once)
        self._checked = clock()

    def _digest(self) -> str:
        digest = hashlib.sha256()
        for path in (self.cert, self.key):
            try:
                digest.update(path.read_bytes())
            except FileNotFoundError:
                raise CertificateProblem(f"no such file: {path}") from None
            except OSError as exc:
                raise CertificateProblem(f"cannot read {path}: {exc.strerror or exc}") from None
            digest.update(b"\0")
        return digest.hexdigest()

    def _read_info(self) -> CertificateInfo | None:
        try:
            return certificate_info(first_certificate_der(self.cert.read_text("ascii", "replace")))
        except (CertificateFormatError, OSError):
            return None  # ssl took it: show no details rather than refuse it

    @property
    def pin(self) -> str | None:
        """The key pin of the certificate being served (what ``sos-builder --pin`` takes)."""
        return self.info.pin if self.info else None

    def describe(self) -> str:
        """One line for the log: for whom, until when, and the key pin."""
        if self.info is None:
            return f"certificate {self.cert}"
        return (f"certificate for {self.info.subject or '(no common name)'} "
                f"until {self.info.not_after:%Y-%m-%d %H:%M} UTC, key pin {self.info.pin}")

    def context(self) -> ssl.SSLContext:
        """The context for a new connection: the files' current pair once they changed."""
        with self._lock:
            now = self.clock()
            if now - self._checked < self.check_every:
                return self._context
            self._checked = now
            try:
                digest = self._digest()
            except CertificateProblem as exc:  # e.g. renamed away for a moment, or permissions
                self._refuse("unreadable", exc)
                return self._context
            if digest in (self._loaded, self._refused):
                return self._context
            try:
                context = server_context(self.cert, self.key)
            except CertificateProblem as exc:  # e.g. the new certificate with the old key
                self._refuse(digest, exc)
                return self._context
            old_pin = self.pin
            self._context, self._loaded, self._refused = context, digest, None
            self.info = self._read_info()
            log.info("loaded the renewed TLS %s", self.describe())
            if old_pin and self.pin and self.pin != old_pin:
                log.warning("the renewed certificate has a NEW KEY (pin %s, was %s): agents "
                            "pinned to the old key only will refuse this server", self.pin, old_pin)
            return self._context


    def _refuse(self, digest: str, problem: CertificateProblem) -> None:
        """Keep serving the loaded pair; say why once per state of the files."""
        if digest != self._refused:
            log.warning("the TLS certificate files changed but cannot be used (%s); "
                        "still serving the previous certificate", problem)
            self._refused = digest


def handshake(conn: socket.socket, certificate: Certificate, watchdog: _Watchdog,
              timeout: float) -> ssl.SSLSocket | None:
    """Make *conn* a TLS connection, or close it and return None if the client fails to.

    Each read may take *timeout* seconds and the watchdog bounds the whole
    handshake (it shuts the socket down, which ends a read waiting here).
    """
    conn.settimeout(timeout)
    try:
        secured = certificate.context().wrap_socket(conn, server_side=True,
                                                    do_handshake_on_connect=False)
    except (OSError, ValueError) as exc:  # the client already went away
        log.debug("TLS: cannot start a handshake: %s", exc)
        conn.close()
        return None
    watchdog.waiting(secured)
    try:
        secured.do_handshake()
        return secured
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError; so are timeouts
        # Plain HTTP, garbage, a client that refused our certificate, a slow one.
        log.debug("TLS handshake failed: %s", getattr(exc, "reason", None) or exc)
        secured.close()
        return None
    finally:
        watchdog.done(secured)


def secure_cookie(value: str) -> str:
    """A Set-Cookie value with the Secure attribute (added when it lacks it)."""
    attributes = [part.strip().lower() for part in value.split(";")[1:]]
    return value if "secure" in attributes else value + "; Secure"


# A host as a Host header names it: a DNS name, an IPv4 address or [an IPv6 one], and a port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::[0-9]{1,5})?")


def redirect_answer(https_port: int, fallback_host: str | None) -> Callable[..., Response]:
    """What the plain-HTTP port answers: every request sent to the same host and path over https.

    The host is the request's Host header (without its port), else *fallback_host*
    (400 without either);
    GET and HEAD get 301, other methods 308 (which keeps the method and body).
    """
    port = "" if https_port == 443 else f":{https_port}"

    def answer(app: object, method: str, target: str, headers: Headers, body: bytes,
               client: str) -> Response:
        given = (headers.get("Host") or "").strip()
        found = _HOST.fullmatch(given)
        host = found.group(1) if found else fallback_host if not given else None
        if host is None:
            return Response(HTTPStatus.BAD_REQUEST, {"error": "bad_host",
                                                     "message": "the Host header is not a host name"})
        if target.startswith(("http://", "https://")):  # absolute form: keep its path only
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        if not target.startswith("/"):
            target = "/"
        location = f"https://{host}{port}{target}"
        status = HTTPStatus.MOVED_PERMANENTLY if method in ("GET", "HEAD") \
            else HTTPStatus.PERMANENT_REDIRECT
        return Response(status, {"error": "https_required", "message": "this server speaks https",
                                 "location": location},
                        headers=[("Location", location)])

    return answer
