"""Unit tests of the token buckets (time passed in); the HTTP level is in
tests/test_reliability_limits.py."""

from __future__ import annotations

import threading

import pytest

from sosdesk.server_stub.ratelimit import RateLimiter


def test_reserve_takes_up_to_the_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(burst=3, period=30)  # one token back every 10 s
    assert [limiter.reserve("a", 100) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve("a", 100) == pytest.approx(10)
    assert limiter.retry_after("a", 104) == pytest.approx(6)
    assert limiter.reserve("b", 100) == 0.0  # keys are apart
    assert limiter.reserve("a", 110) == 0.0  # refilled
    assert limiter.reserve("a", 110) > 0


def test_a_refused_reserve_does_not_lengthen_the_wait() -> None:
    limiter = RateLimiter(burst=1, period=10)
    assert limiter.reserve("a", 0) == 0.0
    for _ in range(50):
        assert limiter.reserve("a", 0) == pytest.approx(10)
    assert limiter.reserve("a", 10) == 0.0


def test_refund_gives_a_token_back_but_never_above_the_burst() -> None:
    limiter = RateLimiter(burst=2, period=100)
    assert limiter.reserve("a", 0) == 0.0
    assert limiter.reserve("a", 0) == 0.0
    limiter.refund("a", 0)
    assert limiter.reserve("a", 0) == 0.0
    assert limiter.reserve("a", 0) > 0
    for _ in range(5):
        limiter.refund("a", 0)
    assert [limiter.reserve("a", 0) == 0.0 for _ in range(3)] == [True, True, False]


def test_an_earlier_now_does_not_turn_the_clock_back() -> None:
    limiter = RateLimiter(burst=1, period=10)
    assert limiter.reserve("a", 100) == 0.0
    limiter.refund("a", 95)  # a request that started earlier finishes later
    assert limiter.reserve("a", 100) == 0.0
    assert limiter.reserve("a", 100) == pytest.approx(10)


def test_reserve_is_atomic_across_threads() -> None:
    limiter = RateLimiter(burst=10, period=3600)
    barrier = threading.Barrier(200)
    won: list[bool] = []

    def attempt() -> None:
        barrier.wait()
        won.append(limiter.reserve("a", 0) == 0.0)

    threads = [threading.Thread(target=attempt) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 10


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(burst=0, period=1)
    with pytest.raises(ValueError):
        RateLimiter(burst=1, period=0)
