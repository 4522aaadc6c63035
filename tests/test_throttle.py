"""Token bucket and adaptive in-flight cap, with a fake clock (no sleeping on the happy path)."""

from __future__ import annotations

import threading

from reconciler.providers.throttle import RECOVERY_STREAK, AdaptiveLimit, TokenBucket


def test_bucket_spaces_requests_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    waits = [bucket._reserve() for _ in range(5)]
    # One token to start, then each request waits one more tenth of a second.
    assert all(abs(wait - 0.1 * i) < 1e-9 for i, wait in enumerate(waits))
    now[0] = 10.0  # idle time refills only up to the burst
    assert bucket._reserve() == 0.0
    assert bucket._reserve() > 0.0


def test_adaptive_limit_halves_on_429_and_recovers() -> None:
    limit = AdaptiveLimit(16)
    limit.throttled()
    limit.throttled()
    assert limit.limit == 4
    for _ in range(RECOVERY_STREAK):
        limit.succeeded()
    assert limit.limit == 5
    for _ in range(10):
        limit.throttled()
    assert limit.limit == 1


def test_adaptive_limit_caps_requests_in_flight() -> None:
    limit = AdaptiveLimit(2)
    inside, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def worker() -> None:
        with limit.slot():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            release.wait(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 2
