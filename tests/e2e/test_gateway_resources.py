"""The gateway holds one broker connection and one reply queue however it is used: health
checks (compose runs one every 15 s) and idle time leak nothing."""

import time

import httpx

from services.common import testing

IDLE_SECONDS = 60


def broker_footprint(product: testing.Product) -> tuple[int, int]:
    """(connections, queues) in the product's vhost, as the management API sees them."""
    vhost = product.env["AMQP_URI"].rsplit("/", 1)[1]
    with testing._rabbit() as api:
        connections = [c for c in api.get("/connections").json() if c.get("vhost") == vhost]
        queues = api.get(f"/queues/{vhost}").json()
    return len(connections), len(queues)


def test_health_checks_and_idle_time_leak_no_connections_or_queues(product):
    with httpx.Client(base_url=product.url, timeout=15) as http:
        for _ in range(10):
            assert http.get("/healthz").status_code == 200
        time.sleep(6)  # the management API's view of connections lags a few seconds
        before = broker_footprint(product)
        for _ in range(200):
            assert http.get("/healthz").status_code == 200
    time.sleep(IDLE_SECONDS)
    assert broker_footprint(product) == before
