"""Code guessing: measure, over HTTP, how many wrong codes one address may try.

The server's clock is replaced by a fake one (the rate limiter takes ``now``
from it), so an hour of guessing runs in seconds. docs/security.md turns the
measured rate into the chance of hitting a live case.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from servers import in_process

SIMULATED = 24 * 3600  # seconds of guessing: one day
STEP = 360  # the attacker retries every STEP simulated seconds, as often as allowed
LIVE_CASES = 10_000
CODE_SPACE = 10**8


def test_measured_code_guessing_rate_and_hit_chance(tmp_path: Path) -> None:
    with in_process(tmp_path / "codes.db") as server:
        fake = [float(int(time.time()))]
        server.app.clock = lambda: fake[0]
        api = server.api
        guess = 0

        def join(code: str):
            return api("POST", "/api/v1/customer/join", token=None,
                       json={"code": code, "device_id": "attacker-device-0000001",
                             "device": {"hostname": "x", "os": "y", "user": "z"}})

        allowed = limited = 0
        first_hour = None
        for step in range(SIMULATED // STEP):
            fake[0] += STEP if step else 0
            for _ in range(50):  # bounded: at most the burst per step
                guess += 1
                response = join(f"s99-{guess // 1000 % 1000:03d}-{guess % 1000:03d}")
                if response.status_code == 429:
                    assert int(response.headers["Retry-After"]) >= 1
                    assert response.json()["error"] == "too_many_wrong_codes"
                    limited += 1
                    break
                assert response.status_code == 404, response.text
                allowed += 1
            if step * STEP < 3600:
                first_hour = allowed
        # Even the right code is refused while the address is limited.
        made = api("POST", "/api/v1/sessions", json={"description": "unbound"}).json()
        assert join(made["code"]).status_code == 429
        fake[0] += 360  # one token back
        hit = join(made["code"])
        assert hit.status_code == 200 and hit.json()["token"]
        # A code already bound to a device answers 409, and costs the guesser a try
        # like a wrong code (else it would tell which codes are live).
        fake[0] += 3600
        statuses = []
        for _ in range(12):
            taken = api("POST", "/api/v1/customer/join", token=None,
                        json={"code": made["code"], "device_id": "another-device-000001"})
            statuses.append(taken.status_code)
        assert statuses == [409] * 10 + [429] * 2, statuses

    per_hour = (allowed - 10) / (SIMULATED / 3600)
    assert 10 <= first_hour <= 21, first_hour  # the burst of 10, plus the hour's refill
    assert 9.5 <= per_hour <= 10.5, per_hour
    p = LIVE_CASES / CODE_SPACE
    chances = {label: 1 - math.exp(guesses * math.log1p(-p))
               for label, guesses in (("hour", 10 + 10), ("day", 10 + 240),
                                      ("30 days", 10 + 7_200))}
    print(f"\ncode guessing from one address: {allowed} wrong codes allowed in {SIMULATED}s "
          f"simulated ({limited} answered 429); sustained {per_hour:.2f}/h, burst 10")
    print(f"with {LIVE_CASES:,} unbound live cases in 10^8 codes, P(hit) per address: "
          + ", ".join(f"{label} {chance:.2%}" for label, chance in chances.items()))
