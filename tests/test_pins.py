"""Key pins and the small DER reader behind them (sosdesk.common.pins), checked against
``cryptography`` and the ``openssl`` command on real certificates, and fed garbage."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import subprocess
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require_tool
from sosdesk.common.pins import (CertificateFormatError, PinError, certificate_info,
                                 first_certificate_der, parse_pin, pin_of_certificate)
from tls_certs import TestCA, self_signed


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_the_pin_is_the_sha256_of_the_subject_public_key_info(tmp_path: Path, kind: str) -> None:
    issued = self_signed(tmp_path, kind, key_kind=kind)
    assert pin_of_certificate(issued.der()) == issued.pin == key_pin_of(issued)
    assert certificate_info(issued.der()).spki == issued.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_pin_of(issued) -> str:
    spki = issued.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_the_pin_matches_what_openssl_computes(tmp_path: Path, ca: TestCA) -> None:
    """The recipe the README gives for computing a pin by hand gives the same pin."""
    openssl = require_tool("openssl")
    issued = ca.issue("server", key_kind="rsa")
    public = subprocess.run([openssl, "x509", "-in", str(issued.cert), "-pubkey", "-noout"],
                            check=True, capture_output=True).stdout
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "der"], input=public,
                         check=True, capture_output=True).stdout
    assert pin_of_certificate(issued.der()) == "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_a_certificate_signed_by_a_ca_is_read_with_its_names_and_dates(ca: TestCA) -> None:
    not_after = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    issued = ca.issue("named", ("support.example.com",), not_after=not_after)
    info = certificate_info(issued.der())
    assert (info.subject, info.issuer) == ("support.example.com", "sosdesk test CA")
    assert info.not_after == not_after
    assert info.not_before == issued.certificate.not_valid_before_utc
    assert info.pin == issued.pin


def test_generalized_time_after_2049_is_read(tmp_path: Path, ca: TestCA) -> None:
    later = datetime.datetime(2051, 6, 1, tzinfo=datetime.timezone.utc)  # GeneralizedTime, not UTCTime
    assert certificate_info(ca.issue("far", not_after=later).der()).not_after == later


def test_the_first_certificate_of_a_chain_file_is_the_servers(ca: TestCA) -> None:
    issued = ca.issue("chained", chain=True)
    der = first_certificate_der(issued.cert.read_text())
    assert der == issued.der() and pin_of_certificate(der) == issued.pin
    with pytest.raises(CertificateFormatError, match="no PEM certificate"):
        first_certificate_der(issued.key.read_text())


def test_a_damaged_certificate_is_refused_with_a_reason(ca: TestCA) -> None:
    der = ca.issue("damaged").der()
    for broken in (b"", der[:1], der[:40], der[:-1], der + b"\0", b"\x31" + der[1:],
                   der[:1] + b"\x80" + der[2:], der[:1] + b"\x85\xff\xff\xff\xff\xff" + der[2:]):
        with pytest.raises(CertificateFormatError):
            certificate_info(broken)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_only_ever_raises_the_format_error(data: bytes) -> None:
    try:
        certificate_info(data)
    except CertificateFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_changed_byte_gives_the_format_error_or_a_reading(position: int, value: int) -> None:
    der = _sample()
    position %= len(der)
    changed = der[:position] + bytes([value]) + der[position + 1:]
    try:
        certificate_info(changed)
    except CertificateFormatError:
        pass


@functools.cache
def _sample() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return self_signed(Path(folder), "sample", key_kind="rsa").der()


@pytest.mark.parametrize("text", [
    "sha256/" + base64.b64encode(b"\1" * 32).decode(),
    "  sha256/" + base64.b64encode(b"\2" * 32).decode() + "\n",
])
def test_a_pin_is_read(text: str) -> None:
    assert parse_pin(text) == text.strip()


@pytest.mark.parametrize("text", [
    "", "sha256/", "sha1/" + base64.b64encode(b"\1" * 20).decode(),
    "sha256/" + base64.b64encode(b"\1" * 31).decode(),  # 31 bytes
    "sha256/" + base64.b64encode(b"\1" * 32).decode().rstrip("="),  # no padding
    "SHA256/" + base64.b64encode(b"\1" * 32).decode(),
    "sha256/" + "A" * 42 + "B=",  # bits past the 32 bytes set
    "sha256/" + base64.urlsafe_b64encode(b"\xff" * 32).decode(),  # url-safe alphabet
])
def test_a_malformed_pin_is_refused(text: str) -> None:
    with pytest.raises(PinError, match="not a key pin"):
        parse_pin(text)
