"""Public-key pins: ``sha256/BASE64`` of a certificate's SubjectPublicKeyInfo.

A pin names a server's *key*, not its certificate (the form HPKP used): a
certificate renewed with the same key keeps its pin, and whoever holds the key
is the server. The builder stamps pins into the agent, the agent checks the key
the server presents against them, the server prints its own at start-up.

Reading a certificate needs a little DER (X.509 is ASN.1 in DER). The standard
library hands out the certificate a peer presented (``getpeercert(True)``) but
not its key, so this module walks the few elements it needs by itself:

    Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    tbsCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER,
        signature SEQUENCE, issuer Name, validity SEQUENCE, subject Name,
        subjectPublicKeyInfo SEQUENCE, ... }

Standard library only: the server and the agent import it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import re
import ssl

__all__ = [
    "CertificateFormatError",
    "CertificateInfo",
    "PinError",
    "PIN_PREFIX",
    "certificate_info",
    "first_certificate_der",
    "parse_pin",
    "pin_of_certificate",
    "pin_of_spki",
]

PIN_PREFIX = "sha256/"
_PIN = re.compile(r"sha256/([A-Za-z0-9+/]{43}=)")

# DER tags (universal class, or context-specific [0] for the version).
_SEQUENCE, _SET, _INTEGER, _BIT_STRING, _OID = 0x30, 0x31, 0x02, 0x03, 0x06
_UTC_TIME, _GENERALIZED_TIME, _VERSION = 0x17, 0x18, 0xA0
#: The OID 2.5.4.3 (commonName), DER-encoded.
_COMMON_NAME = bytes.fromhex("550403")
#: Text types a commonName may be written in (UTF8String, PrintableString, T61, IA5, BMP).
_TEXT_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x14: "latin-1", 0x16: "ascii", 0x1E: "utf-16-be"}
#: No certificate comes near this; a length field saying more is damage.
_MAX_LENGTH = 1 << 24


class PinError(ValueError):
    """A pin as written is not ``sha256/`` and the base64 of 32 bytes."""


class CertificateFormatError(ValueError):
    """The bytes are not a DER X.509 certificate (or not one this reader understands)."""


@dataclasses.dataclass(frozen=True)
class CertificateInfo:
    """What a certificate says that a person checks before trusting its key."""

    spki: bytes  #: the SubjectPublicKeyInfo, DER, as the certificate holds it
    subject: str  #: the subject's commonName ('' when it has none)
    issuer: str  #: the issuer's commonName ('' when it has none)
    not_before: datetime.datetime  #: UTC
    not_after: datetime.datetime  #: UTC

    @property
    def pin(self) -> str:
        """The key's pin, ``sha256/BASE64``."""
        return pin_of_spki(self.spki)


def parse_pin(text: str) -> str:
    """*text* as a pin (surrounding blanks dropped); PinError saying what a pin looks like."""
    if not isinstance(text, str):
        raise PinError(f"a pin must be a text like sha256/<base64 of 32 bytes>, not {text!r}")
    pin = text.strip()
    if not _PIN.fullmatch(pin):
        raise PinError(f"{pin!r} is not a key pin: expected sha256/ and the base64 of 32 bytes "
                       "(44 characters ending in '='), as `sos-builder --pin-from` or "
                       "`sos-server serve` print it")
    encoded = pin[len(PIN_PREFIX):]
    try:
        canonical = base64.b64encode(base64.b64decode(encoded, validate=True)).decode("ascii")
    except binascii.Error:
        canonical = ""
    # Pins are compared as text, so only the one spelling of 32 bytes counts (a last
    # character with stray low bits decodes to the same bytes but is another text).
    if canonical != encoded:
        raise PinError(f"{pin!r} is not a key pin: its base64 is damaged")
    return pin


def pin_of_spki(spki: bytes) -> str:
    """The pin of a DER SubjectPublicKeyInfo: ``sha256/`` + base64 of its SHA-256."""
    return PIN_PREFIX + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def pin_of_certificate(der: bytes) -> str:
    """The pin of the key in a DER certificate; CertificateFormatError if it is none."""
    return pin_of_spki(certificate_info(der).spki)


def first_certificate_der(pem: str) -> bytes:
    """The first certificate of a PEM text (a chain file starts with the server's own)."""
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = pem.find(begin)
    stop = pem.find(end, start)
    if start < 0 or stop < 0:
        raise CertificateFormatError("no PEM certificate (-----BEGIN CERTIFICATE-----) in the text")
    try:
        return ssl.PEM_cert_to_DER_cert(pem[start:stop + len(end)])
    except ValueError as exc:  # binascii.Error is one
        raise CertificateFormatError(f"the PEM certificate is damaged: {exc}") from None


def certificate_info(der: bytes) -> CertificateInfo:
    """Read the key, names and validity out of a DER certificate."""
    if not isinstance(der, (bytes, bytearray)):
        raise CertificateFormatError("a certificate is bytes")
    der = bytes(der)
    certificate = _Reader(der, 0, len(der))
    tbs = certificate.enter(_SEQUENCE, "the certificate")
    certificate.done("the certificate")  # nothing may follow it
    fields = tbs.enter(_SEQUENCE, "tbsCertificate")
    if fields.peek_tag() == _VERSION:
        fields.skip(_VERSION, "the version")
    fields.skip(_INTEGER, "the serial number")
    fields.skip(_SEQUENCE, "the signature algorithm")
    issuer = fields.enter(_SEQUENCE, "the issuer")
    validity = fields.enter(_SEQUENCE, "the validity")
    subject = fields.enter(_SEQUENCE, "the subject")
    start, _, end = fields.element(_SEQUENCE, "the subjectPublicKeyInfo")
    key = _Reader(der, start, end).enter(_SEQUENCE, "the subjectPublicKeyInfo")
    key.skip(_SEQUENCE, "the key's algorithm")
    key.skip(_BIT_STRING, "the public key")
    key.done("the subjectPublicKeyInfo")
    not_before = validity.time("notBefore")
    not_after = validity.time("notAfter")
    validity.done("the validity")
    return CertificateInfo(spki=der[start:end], subject=_common_name(subject),
                           issuer=_common_name(issuer), not_before=not_before,
                           not_after=not_after)


class _Reader:
    """The elements of one DER constructed value, read front to back: ``data[pos:end]``."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def at_end(self) -> bool:
        """Whether every element has been read."""
        return self.pos >= self.end

    def peek_tag(self) -> int | None:
        """The next element's tag, or None at the end."""
        return None if self.at_end() else self.data[self.pos]

    def element(self, tag: int, what: str) -> tuple[int, int, int]:
        """Read the next element, which must have *tag*: where its header, content and it end."""
        start = self.pos
        if self.at_end():
            raise CertificateFormatError(f"{what} is missing (the data ends early)")
        found = self.data[self.pos]
        if found != tag:
            raise CertificateFormatError(f"{what}: expected DER tag 0x{tag:02x}, found 0x{found:02x}")
        pos = self.pos + 1
        if pos >= self.end:
            raise CertificateFormatError(f"{what}: the length is missing")
        first = self.data[pos]
        pos += 1
        if first < 0x80:
            length = first
        elif first == 0x80:
            raise CertificateFormatError(f"{what}: an indefinite length, which DER does not allow")
        else:
            count = first & 0x7F
            if count > 3 or pos + count > self.end:
                raise CertificateFormatError(f"{what}: a length field that cannot be right")
            length = int.from_bytes(self.data[pos:pos + count], "big")
            pos += count
        if length > _MAX_LENGTH or pos + length > self.end:
            raise CertificateFormatError(f"{what}: its length runs past the end of the data")
        self.pos = pos + length
        return start, pos, self.pos

    def content(self, tag: int, what: str) -> bytes:
        """The next element's content bytes (it must have *tag*)."""
        _, content, end = self.element(tag, what)
        return self.data[content:end]

    def enter(self, tag: int, what: str) -> "_Reader":
        """A reader over the next element's content (it must have *tag*)."""
        _, content, end = self.element(tag, what)
        return _Reader(self.data, content, end)

    def skip(self, tag: int, what: str) -> None:
        """Step over the next element (it must have *tag*)."""
        self.element(tag, what)

    def done(self, what: str) -> None:
        """Insist that nothing is left."""
        if not self.at_end():
            raise CertificateFormatError(f"unexpected data after {what}")

    def time(self, what: str) -> datetime.datetime:
        """The next element as a UTCTime or GeneralizedTime, in UTC."""
        tag = self.peek_tag()
        if tag not in (_UTC_TIME, _GENERALIZED_TIME):
            raise CertificateFormatError(f"{what} is not a time")
        text = self.content(tag, what).decode("ascii", "replace")
        # RFC 5280 4.1.2.5: YYMMDDHHMMSSZ (years 1950-2049) or YYYYMMDDHHMMSSZ.
        pattern = r"\d{12}Z" if tag == _UTC_TIME else r"\d{14}Z"
        if not re.fullmatch(pattern, text):
            raise CertificateFormatError(f"{what} {text!r} is not a time in the form RFC 5280 asks")
        if tag == _UTC_TIME:
            year = int(text[:2])
            text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
        try:
            return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise CertificateFormatError(f"{what} {text!r} is no date") from None


def _common_name(name: _Reader) -> str:
    """The (last) commonName in a Name, '' when there is none or it is not text."""
    found = ""
    while not name.at_end():
        relative = name.enter(_SET, "a name part")
        while not relative.at_end():
            attribute = relative.enter(_SEQUENCE, "a name attribute")
            oid = attribute.content(_OID, "a name attribute's type")
            tag = attribute.peek_tag()
            if tag is None:
                raise CertificateFormatError("a name attribute without a value")
            value = attribute.content(tag, "a name attribute's value")
            if oid == _COMMON_NAME and tag in _TEXT_TAGS:
                found = value.decode(_TEXT_TAGS[tag], "replace")
    return found
