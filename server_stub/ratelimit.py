"""Per-key token buckets (time passed in), for login failures, code guesses and SOS.

An attempt takes its token *before* the work (``reserve``), under the bucket's
lock, and gives it back (``refund``) if the outcome turns out not to count (a
right password, a right code, an SOS that found the device's open case).
Checking first and counting after the work would let every request sent at the
same moment pass the check before any of them is counted.
"""

from __future__ import annotations

import threading


class RateLimiter:
    """Allows *burst* attempts per key at once, refilled at *burst* per *period* seconds."""

    def __init__(self, burst: int, period: float) -> None:
        if burst < 1 or period <= 0:
            raise ValueError("a rate limit needs burst >= 1 and period > 0")
        self.burst = burst
        self.rate = burst / period  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> tuple[float, float]:
        """(tokens of *key* at *now*, the time to store with them); never back in time."""
        tokens, last = self._buckets.get(key, (self.burst, now))
        # Requests pass their start time, so a later one may be counted first.
        now = max(now, last)
        return min(self.burst, tokens + (now - last) * self.rate), now

    def retry_after(self, key: str, now: float) -> float:
        """0 if *key* has a token now, else the seconds until it has one."""
        with self._lock:
            tokens, _ = self._tokens(key, now)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def reserve(self, key: str, now: float) -> float:
        """Take one token of *key* if there is one: 0.0 if taken, else the seconds to wait."""
        with self._lock:
            tokens, now = self._tokens(key, now)
            if tokens < 1:
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 10_000:
                self._prune(now)
            return 0.0

    def refund(self, key: str, now: float) -> None:
        """Give back a token that ``reserve`` took, for an attempt that does not count."""
        with self._lock:
            tokens, now = self._tokens(key, now)
            self._buckets[key] = (min(self.burst, tokens + 1), now)

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._tokens(k, now)[0] >= self.burst]
        for key in full:
            del self._buckets[key]
