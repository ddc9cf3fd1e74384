"""Per-key token buckets (time passed in), for login failures, code guesses and SOS."""

from __future__ import annotations

import threading


class RateLimiter:
    """Allows *burst* hits per key at once, refilled at *burst* per *period* seconds."""

    def __init__(self, burst: int, period: float) -> None:
        if burst < 1 or period <= 0:
            raise ValueError("a rate limit needs burst >= 1 and period > 0")
        self.burst = burst
        self.rate = burst / period  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def retry_after(self, key: str, now: float) -> float:
        """0 if *key* may act now, else the seconds until it may."""
        with self._lock:
            tokens = self._tokens(key, now)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def hit(self, key: str, now: float) -> None:
        """Spend one token of *key* (going below zero extends the wait)."""
        with self._lock:
            self._buckets[key] = (self._tokens(key, now) - 1, now)
            if len(self._buckets) > 10_000:
                self._prune(now)

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._tokens(k, now) >= self.burst]
        for key in full:
            del self._buckets[key]
