"""Credentials: scrypt password hashes, random tokens stored as hashes, and
customer case tokens derived from a server key (so they are never stored)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# scrypt cost: about 16 MiB and tens of milliseconds per hash, paid on login only.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A self-describing scrypt hash of *password* with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether *password* matches the stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex),
                                n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024,
                                dklen=len(digest_hex) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# Hashing a password that does not exist costs the same as a real check, so a
# login attempt cannot tell names that exist from names that do not.
DUMMY_HASH = hash_password(secrets.token_hex(8))


def new_token(prefix: str) -> str:
    """A fresh bearer token, e.g. 'sdx_...' (256 bits of randomness)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """How a token is stored: sha256 hex (tokens have enough entropy for that)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def case_token(key: bytes, case_id: int, device_hash: str) -> str:
    """The customer's token for one case on one device: '<case id>.<mac>'."""
    mac = hmac.new(key, f"case:{case_id}:{device_hash}".encode(), hashlib.sha256).hexdigest()
    return f"{case_id}.{mac}"


_CASE_TOKEN = re.compile(r"([0-9]{1,18})\.([0-9a-f]{64})")


def parse_case_token(token: str) -> tuple[int, str] | None:
    """(case id, mac) from a customer token, or None if it is not one."""
    # ASCII only: str.isdigit() takes '²' (int() refuses it) and hmac.compare_digest
    # refuses str with non-ASCII characters.
    found = _CASE_TOKEN.fullmatch(token)
    return (int(found[1]), found[2]) if found else None


def check_case_token(key: bytes, token: str, case_id: int, device_hash: str | None) -> bool:
    """Whether *token* was issued for this case and device."""
    if device_hash is None:
        return False
    return hmac.compare_digest(case_token(key, case_id, device_hash), token)
