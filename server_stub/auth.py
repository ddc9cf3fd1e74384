"""Credentials: scrypt password hashes, random tokens stored as hashes, and
customer case tokens derived from a server key (so they are never stored)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import math
import re
import secrets
import threading
from typing import Callable, TypeVar

from .errors import Busy

T = TypeVar("T")

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
    # hmac.digest: the one-shot form, in C (a third of hmac.new's time).
    mac = hmac.digest(key, f"case:{case_id}:{device_hash}".encode(), "sha256").hex()
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


class PasswordChecks:
    """Runs password checks on at most *slots* long-lived threads.

    Each scrypt takes 16 MiB and log-in needs no credential, so without a bound a
    flood of log-ins hashes in hundreds of threads at once (2.8 GiB for 200).
    Running them on a few fixed threads also keeps the freed buffers in those
    threads' malloc arenas, instead of one left behind in every request thread's
    arena. A check that finds no free slot within *wait* seconds gets ``Busy`` (503).
    """

    def __init__(self, slots: int, wait: float) -> None:
        if slots < 1 or wait < 0:
            raise ValueError("password checks need slots >= 1 and wait >= 0")
        self.slots, self.wait = slots, wait
        self._free = threading.BoundedSemaphore(slots)
        # Never more jobs than threads (the semaphore), so none waits in the pool's queue.
        self._pool = concurrent.futures.ThreadPoolExecutor(slots, "sosdesk-password-check")

    def run(self, check: Callable[[], T]) -> T:
        """check() on a hashing thread, once one is free; Busy if none frees up in time."""
        if not self._free.acquire(timeout=self.wait):
            raise Busy("the server is checking too many log-ins at once; try again shortly",
                       retry_after=max(1, math.ceil(self.wait)))
        try:
            return self._pool.submit(check).result()
        finally:
            self._free.release()

    def close(self) -> None:
        """Stop the hashing threads (after the checks in progress)."""
        self._pool.shutdown(wait=True)
