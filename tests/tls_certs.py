"""Certificates for the TLS tests, made here: a test CA and the server certificates it
signs (good, expired, for another name), self-signed ones, and their key pins.

The ``cryptography`` package is a test dependency only; the code under test reads
certificates with the standard library (and sosdesk.common.pins).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)


def new_key(kind: str = "ec"):
    """A private key: ec (P-256, quick), rsa (2048) or ed25519."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def key_pin(key) -> str:
    """The pin of a private key's public half, computed by cryptography (the reference)."""
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sosdesk tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alt_names(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _sign_with(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def write_key(path: Path, key) -> Path:
    """*key* as unencrypted PKCS#8 PEM, readable by the owner only."""
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path


@dataclasses.dataclass
class Issued:
    """A certificate and its key on disk."""

    cert: Path
    key: Path
    pin: str
    certificate: x509.Certificate

    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


class TestCA:
    """A certificate authority for one test: its own certificate file is the trust bundle."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, name: str = "sosdesk test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.key = new_key("ec")
        self.certificate = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.bundle = folder / "ca.pem"
        self.bundle.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, names: tuple[str, ...] = ("127.0.0.1", "localhost"), *, key=None,
              key_kind: str = "ec", not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None, chain: bool = True) -> Issued:
        """A server certificate for *names* signed by this CA, written to <stem>.pem and
        <stem>.key (the CA's certificate appended when *chain*)."""
        key = key or new_key(key_kind)
        certificate = (
            x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(self.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=10))
            .add_extension(_alt_names(list(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        return _write(self.folder, stem, certificate, key,
                      extra=self.certificate if chain else None)


def self_signed(folder: Path, stem: str, names: tuple[str, ...] = ("127.0.0.1", "localhost"), *,
                key=None, key_kind: str = "ec", not_after: datetime.datetime | None = None) -> Issued:
    """A self-signed server certificate for *names* (what a lab makes with openssl)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = key or new_key(key_kind)
    certificate = (
        x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(_name(names[0]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=10))
        .add_extension(_alt_names(list(names)), critical=False)
        .sign(key, _sign_with(key)))
    return _write(folder, stem, certificate, key)


def _write(folder: Path, stem: str, certificate: x509.Certificate, key,
           extra: x509.Certificate | None = None) -> Issued:
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    if extra is not None:
        pem += extra.public_bytes(serialization.Encoding.PEM)
    cert_path = folder / f"{stem}.pem"
    cert_path.write_bytes(pem)
    key_path = write_key(folder / f"{stem}.key", key)
    return Issued(cert_path, key_path, key_pin(key), certificate)


def replace_files(target: Issued, source: Issued) -> None:
    """Put *source*'s certificate and key where *target*'s are, each by an atomic rename
    (as certbot and most deploy hooks do)."""
    for src, dst in ((source.cert, target.cert), (source.key, target.key)):
        temporary = dst.with_name(dst.name + ".new")
        temporary.write_bytes(src.read_bytes())
        os.chmod(temporary, 0o600)
        os.replace(temporary, dst)
