"""Passwords are checked in a thread, never on the eventlet hub, and an unknown address costs
what a known one costs: a flood of logins for addresses that do not exist stalls no other
billing call, and the time of an answer does not tell whether an address is registered."""

import statistics
import time
import uuid

import eventlet
import pytest

from services.billing.service import BillingService
from services.common.errors import InvalidCredentials

# An argon2id hash takes ~50 ms; on the hub, every login would stall everything else that long.
TICK_SECONDS = 0.005
STALL_SECONDS = 0.035


CLIENT = f"test-client-{uuid.uuid4().hex}"  # this module's failures throttle no other test


def login(proxy, email: str) -> float:
    started = time.perf_counter()
    with pytest.raises(InvalidCredentials):
        proxy.billing.authenticate(email, "wrong-password-1", CLIENT)
    return time.perf_counter() - started


def test_a_flood_of_unknown_user_logins_does_not_stall_the_hub(run_services, rpc_factory):
    """The service runs in this process: a greenthread that wants to wake every 5 ms sees how
    long the hub was held between its ticks while 24 unknown-address logins run."""
    run_services(BillingService)
    proxies = [rpc_factory() for _ in range(8)]
    login(proxies[0], "warm-up@example.com")
    gaps: list[float] = []
    flooding = True

    def tick() -> None:
        last = time.perf_counter()
        while flooding:
            eventlet.sleep(TICK_SECONDS)
            now = time.perf_counter()
            gaps.append(now - last - TICK_SECONDS)
            last = now

    ticker = eventlet.spawn(tick)
    list(eventlet.GreenPool(8).imap(
        lambda proxy: [login(proxy, f"{uuid.uuid4().hex}@example.com") for _ in range(3)],
        proxies))
    flooding = False
    ticker.wait()
    stalls = [gap for gap in gaps if gap > STALL_SECONDS]
    # Hashing on the hub stalls it once per login: 24 times.  Off the hub a few gaps still pass
    # the threshold when the box is busy (other processes on the two cores), so the line is
    # drawn at half of 24.
    assert len(stalls) < 12, stalls


def test_an_unknown_address_takes_as_long_as_a_known_one(run_services, rpc):
    run_services(BillingService)
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    rpc.billing.register_account({"email": email, "password": "long-enough-pw", "country": "SE",
                                  "company_name": "Timing AB"})
    known = statistics.median(login(rpc, email) for _ in range(9))
    unknown = statistics.median(login(rpc, f"{uuid.uuid4().hex}@example.com") for _ in range(9))
    assert unknown < known * 1.5, (known, unknown)  # two hashes (the old way) is 2x
