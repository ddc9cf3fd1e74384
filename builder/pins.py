"""``--pin-from URL``: read the certificate a server presents and have the expert
confirm its key before it is pinned into the agent.

The certificate is read without trusting it (that is the point of asking): its
names, dates, issuer, whether this machine's CAs vouch for it, and the key pin,
which the expert compares with the one ``sos-server serve`` printed on the
server itself.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import sys
from typing import Callable, TextIO
from urllib.parse import urlsplit

from sosdesk.common.pins import CertificateFormatError, CertificateInfo, certificate_info

from .errors import BuilderError, InputError

__all__ = ["Presented", "confirm_pin", "describe", "fetch_certificate"]


@dataclasses.dataclass(frozen=True)
class Presented:
    """What a server presented when asked for its certificate."""

    host: str
    port: int
    info: CertificateInfo
    #: '' when this machine's CAs vouch for the certificate and its name, else why not.
    untrusted_because: str


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InputError([f"--pin-from needs an https:// address, not {url!r}"])
    try:
        port = parts.port or 443
    except ValueError:
        raise InputError([f"--pin-from {url!r} has an invalid port"]) from None
    return parts.hostname, port


def fetch_certificate(url: str, timeout: float = 15.0) -> Presented:
    """The certificate the server at *url* presents (read without trusting it)."""
    host, port = _address(url)
    reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reader.check_hostname, reader.verify_mode = False, ssl.CERT_NONE
    reader.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with reader.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise BuilderError(f"cannot read the certificate of {host}:{port}: "
                           f"{getattr(exc, 'reason', None) or exc.strerror or exc}") from None
    try:
        info = certificate_info(der or b"")
    except CertificateFormatError as exc:
        raise BuilderError(f"the certificate {host}:{port} presents cannot be read: {exc}") from None
    return Presented(host, port, info, _trust(host, port, timeout))


def _trust(host: str, port: int, timeout: float) -> str:
    """'' if this machine's CAs vouch for the server's certificate and name, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ssl.create_default_context().wrap_socket(raw, server_hostname=host):
                return ""
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message or exc)
    except (OSError, ssl.SSLError) as exc:
        return f"could not be checked ({exc})"


def describe(presented: Presented) -> str:
    """The lines the expert reads before confirming."""
    info = presented.info
    trusted = ("yes, by this computer's certificate authorities" if not presented.untrusted_because
               else f"no: {presented.untrusted_because} (fine for a lab; the pin is what the agent checks)")
    return "\n".join([
        f"The server at {presented.host}:{presented.port} presents:",
        f"  certificate for  {info.subject or '(no common name)'}",
        f"  issued by        {info.issuer or '(no common name)'}",
        f"  valid            {info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d} (UTC)",
        f"  CA-trusted       {trusted}",
        f"  key pin          {info.pin}",
        "Compare the key pin with the one `sos-server serve` printed when it started (or compute it "
        "on the server as the README shows): if they differ, someone is in between.",
    ])


def confirm_pin(presented: Presented, assume_yes: bool, stdin: TextIO | None = None,
                out: TextIO | None = None, ask: Callable[[], str] | None = None) -> str:
    """The presented key's pin once the expert confirmed it (or *assume_yes*); InputError if not."""
    stdin = stdin or sys.stdin
    out = out or sys.stderr
    print(describe(presented), file=out, flush=True)
    if assume_yes:
        print("Pinned (--yes).", file=out, flush=True)
        return presented.info.pin
    if ask is None:
        if not stdin.isatty():
            raise InputError(["--pin-from asks you to confirm the key, and there is no terminal "
                              "to ask on: check the pin above, then pass --yes (or --pin "
                              f"{presented.info.pin})"])

        def ask() -> str:
            print("Pin this key into the agent? [y/N] ", end="", file=out, flush=True)
            return stdin.readline()
    if ask().strip().lower() not in ("y", "yes"):
        raise InputError(["the key was not confirmed; nothing was built"])
    return presented.info.pin
