"""Gateway GET of an order vs a bare nameko RPC echo, measured in one run.

    python -m bench.gateway_vs_rpc [--calls 1000]      (or: make bench)

Starts the whole product (as the end-to-end tests do: its own PostgreSQL databases and RabbitMQ
vhost) plus a bare nameko echo service, then measures

* bare RPC echo: sequential, and with 10 concurrent callers (one standalone proxy each);
* ``GET /api/v1/orders/{id}`` through the gateway with 10 concurrent connections
  (gateway → orders RPC → PostgreSQL → JSON);

and prints calls/s, p50 and p99 of each and the ratio of the gateway to the bare RPC floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import testing

CONCURRENCY = 10


def measure(label: str, calls: int, workers: int, make_call: Callable[[], Callable[[], object]]) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    per_worker = calls // workers

    def worker() -> None:
        call = make_call()
        mine = []
        for _ in range(per_worker):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    result = {
        "label": label,
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }
    print(f"{label:<48} {result['rate']:8.0f} /s   p50 {result['p50']:6.1f} ms   "
          f"p99 {result['p99']:6.1f} ms", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, \
            testing.running_product(Path(tmp), HUB_BLOCKING_DETECTION="0") as product:
        echo = subprocess.Popen([sys.executable, "-m", "bench.echo_service"], env=product.env)
        config = {"AMQP_URI": product.env["AMQP_URI"], "serializer": "json"}
        try:
            # a customer with one paid order to fetch
            api = httpx.Client(base_url=product.url + "/api/v1", timeout=30)
            email = f"bench-{time.time_ns()}@example.com"
            token = api.post("/auth/register", json={
                "email": email, "password": "bench-password", "company_name": "Bench AB"}).json()
            operator = api.post("/auth/login", json={
                "email": "operator@example.com", "password": "operator-password"}).json()
            api.post(f"/accounts/{token['account_id']}/top-ups", json={"amount": "100", "currency": "EUR"},
                     headers={"Authorization": f"Bearer {operator['token']}"}).raise_for_status()
            auth = {"Authorization": f"Bearer {token['token']}"}
            order = api.post("/orders", json={"lines": [{"sku": "VM-S-1M", "quantity": 1}]},
                             headers=auth).json()

            def rpc_caller() -> Callable[[], object]:
                proxy = ClusterRpcProxy(config, timeout=10).start()
                return lambda: proxy.bench_echo.echo("ping")

            testing.wait_for(lambda: _echo_ready(config), 30, message="echo service never started")

            def gateway_caller() -> Callable[[], object]:
                client = httpx.Client(base_url=product.url, timeout=30, headers=auth)
                path = f"/api/v1/orders/{order['id']}"
                return lambda: client.get(path).raise_for_status()

            print(f"\n{args.calls} calls each; {CONCURRENCY} concurrent callers where stated\n")
            measure("warm-up", 100, 1, gateway_caller)
            sequential = measure("bare nameko RPC echo, sequential", args.calls // 2, 1, rpc_caller)
            concurrent = measure(f"bare nameko RPC echo, {CONCURRENCY} callers", args.calls,
                                 CONCURRENCY, rpc_caller)
            gateway = measure(f"gateway GET /orders/{{id}}, {CONCURRENCY} connections", args.calls,
                              CONCURRENCY, gateway_caller)
            print(f"\nratio gateway / bare RPC ({CONCURRENCY} concurrent): "
                  f"{gateway['rate'] / concurrent['rate']:.2f} of the floor's throughput, "
                  f"p50 {gateway['p50'] / concurrent['p50']:.1f}x its latency")
            print(f"ratio gateway / bare RPC (sequential):   "
                  f"{gateway['rate'] / sequential['rate']:.2f} of the floor's throughput")
        finally:
            echo.terminate()
            echo.wait(timeout=20)
    return 0


def _echo_ready(config: dict) -> bool:
    try:
        with ClusterRpcProxy(config, timeout=2) as proxy:
            return proxy.bench_echo.echo("ready") == "ready"
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
