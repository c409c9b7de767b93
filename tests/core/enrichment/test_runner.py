"""The runner: retries honouring Retry-After, 5xx back-off, one deadline per call (slow and
slow-drip answers), the response size cap, and per-provider concurrency and rate limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from audiences_app.core.enrichment.net import OutboundPolicy
from audiences_app.core.enrichment.runner import CallLimits, FetchError, HttpRunner, TokenBucket, retry_after_seconds
from tests.core.enrichment.loopback import LoopbackServer


def _run(calls):
    async def go():
        runner = HttpRunner(OutboundPolicy.allowing(["127.0.0.1"]))
        try:
            return await calls(runner)
        finally:
            await runner.aclose()

    return asyncio.run(go())


def _get(url: str, limits: CallLimits, **options):
    return _run(lambda runner: runner.fetch("t", limits, "GET", url, **options))


def test_a_429_is_retried_after_the_retry_after_it_names(server):
    server.fail_next("/limited", 1)
    started = time.monotonic()
    response = _get(f"{server.url}/limited?domain=a.com", CallLimits(timeout_seconds=10))
    assert response.status == 200 and time.monotonic() - started >= 0.95
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and retry_after_seconds("7") == 7


def test_5xx_answers_are_retried_with_back_off_then_given_up(server):
    server.fail_next("/flaky", 2)
    assert _get(f"{server.url}/flaky?domain=a.com", CallLimits(timeout_seconds=10)).status == 200
    server.fail_next("/flaky", 10)
    with pytest.raises(FetchError, match="HTTP 503") as raised:
        _get(f"{server.url}/flaky?domain=a.com", CallLimits(timeout_seconds=10, max_attempts=3))
    assert raised.value.retryable
    server.fail_next("/flaky", 0)


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_call_ends_at_its_deadline_however_the_server_dawdles(server, path):
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 0.5 s|deadline"):
        _get(f"{server.url}{path}", CallLimits(timeout_seconds=0.5, max_attempts=3))
    assert time.monotonic() - started < 10  # the server would take 30 s


@pytest.mark.parametrize("path", ["/huge", "/huge-stream"])
def test_a_body_past_the_size_cap_is_refused_or_cut(server, path):
    limits = CallLimits(max_response_bytes=100_000, timeout_seconds=10, max_attempts=1)
    with pytest.raises(FetchError, match="larger than the 100,000-byte cap"):
        _get(f"{server.url}{path}", limits)
    cut = _get(f"{server.url}{path}", limits, truncate=True)
    assert cut.truncated and len(cut.body) == 100_000


def test_the_concurrency_cap_bounds_calls_in_flight():
    slow = LoopbackServer(latency=0.2).start()
    try:
        limits = CallLimits(concurrency=2, timeout_seconds=10)
        started = time.monotonic()
        _run(lambda runner: asyncio.gather(*(runner.fetch("cap", limits, "GET", f"{slow.url}/company?domain=x{n}.com")
                                             for n in range(6))))
        assert time.monotonic() - started >= 0.6  # 6 calls, 2 at a time, 0.2 s each
    finally:
        slow.stop()


class LateClock:
    """Simulated time whose sleeps wake `lateness` seconds late, as on a busy machine: the
    tests assert the schedule the bucket keeps, not the seconds a machine happened to take."""

    def __init__(self, lateness: float = 0.0, frozen: bool = False):
        self.now, self.lateness, self.frozen = 100.0, lateness, frozen
        self.wake_targets: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.wake_targets.append(self.now + seconds)
        if self.frozen:  # hand over to the other callers while time stands still
            await asyncio.sleep(0)
        else:
            self.now += seconds + self.lateness


def test_the_token_bucket_keeps_the_rate_and_loses_no_slot_to_late_wakeups():
    clock = LateClock(lateness=0.005)
    bucket = TokenBucket(rate=50, burst=1, clock=clock, sleep=clock.sleep)

    async def go():
        for _ in range(51):
            await bucket.acquire()

    asyncio.run(go())
    # 51 calls at 50/s take 1 s: each sleeps to its slot on a fixed timeline, so a late wake-up
    # shortens the next sleep instead of adding up (sleeping 20 ms after each call would take
    # 50 × 25 ms = 1.25 s).
    assert clock.wake_targets == pytest.approx([100.0 + 0.02 * k for k in range(1, 51)])
    assert clock.now == pytest.approx(101.0 + 0.005)


def test_concurrent_callers_each_take_their_own_slot_and_a_burst_goes_at_once():
    clock = LateClock(frozen=True)
    bucket = TokenBucket(rate=10, burst=5, clock=clock, sleep=clock.sleep)

    async def go():
        await asyncio.gather(*(bucket.acquire() for _ in range(15)))

    asyncio.run(go())
    # all 15 arrive at the same instant: 5 go at once, the next 10 wait for slots 0.1 s apart
    assert sorted(clock.wake_targets) == pytest.approx([100.0 + 0.1 * k for k in range(1, 11)])


def test_a_retry_after_holds_every_call_to_that_provider(server):
    server.fail_next("/limited", 1)
    limits = CallLimits(concurrency=5, rate_per_second=100, timeout_seconds=10)
    started = time.monotonic()

    async def calls(runner):
        first = asyncio.ensure_future(runner.fetch("held", limits, "GET", f"{server.url}/limited?domain=a.com"))
        await asyncio.sleep(0.2)
        await runner.fetch("held", limits, "GET", f"{server.url}/limited?domain=b.com")
        second_done = time.monotonic() - started
        await first
        return second_done

    assert _run(calls) >= 0.9
