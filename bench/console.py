"""The console's pages against the JSON reads of the same data, with CPU-ms per request summed
over every process, measured in one run.

    python -m bench.console [--calls 1000]      (or: make bench)

Starts the whole product (``running_product``, hub-blocking detection off), makes 10 customers
with three paid orders and an issued invoice each, and then, with 10 concurrent connections
(one thread and ``httpx.Client`` per customer, signed in by its session cookie or token):

1. **Account Overview** — ``GET /`` (the page: 2 RPCs, billing ``get_account`` and orders
   ``list_orders``, made concurrently by the page through the API in process) against the JSON
   reads a client makes for the same data: ``GET /api/v1/account`` + ``GET /api/v1/orders?limit=5``;
2. **Invoice List** — ``GET /invoices`` (6 RPCs: applications, invoices, credit notes, payment
   invoices, shipped shipments, the account) against the same six JSON reads.

For each: pages (or JSON sets) per second, the gateway's own time (its ``Server-Timing``, summed
over the set's requests for JSON) p50 and p99, the client's latency p50 and p99, the ratio
page rate / JSON rate (target ≥ 0.8), and CPU-ms per page summed over the processes (see
``bench.gateway_vs_rpc`` for how CPU is read and its blind spots).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.gateway_vs_rpc import (
    CONCURRENCY,
    ORDER_PRICE,
    ROWS,
    SERVICES,
    Customer,
    Watched,
    Worker,
    apply_and_confirm,
    invoiceable_ids,
    measure,
    operator_client,
    place_order,
    register,
    top_up,
)
from services.common import testing

OVERVIEW_JSON = ("/api/v1/account", "/api/v1/orders?limit=5")
INVOICES_JSON = ("/api/v1/invoice-applications?limit=50", "/api/v1/invoices?limit=50",
                 "/api/v1/invoices?kind=credit_note&limit=50",
                 "/api/v1/invoices?kind=payment_invoice&limit=50",
                 "/api/v1/shipments?status=shipped&limit=50", "/api/v1/account")


def server_ms(answer: httpx.Response) -> float:
    timing = answer.headers.get("server-timing", "app;dur=nan")
    return float(timing.split("dur=")[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] if ordered else float("nan")


def scenario(label: str, clients: list[httpx.Client], paths: tuple[str, ...], calls: int,
             watched: Watched) -> tuple[Any, list[float]]:
    spent: list[float] = []
    lock = threading.Lock()

    def reader(client: httpx.Client) -> Callable[[Any], object]:
        def call(_: Any) -> None:
            total = 0.0
            for path in paths:
                answer = client.get(path)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
                total += server_ms(answer)
            with lock:
                spent.append(total)
        return call

    for client in clients:
        for _ in range(5):
            reader(client)(None)  # warm
    spent.clear()
    workers: list[Worker] = [(reader(client), range(calls // len(clients))) for client in clients]
    result = measure(label, "page", workers, watched, tuple(r for r in ROWS if r != "echo"))
    return result, spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="pages per scenario")
    args = parser.parse_args()
    calls = max(args.calls // CONCURRENCY, 1) * CONCURRENCY
    with tempfile.TemporaryDirectory() as tmp, \
            testing.running_product(Path(tmp), HUB_BLOCKING_DETECTION="0") as product:
        pids = {name: product.processes[name].pid for name in SERVICES}
        pids["load generator"] = os.getpid()
        watched = Watched(pids, f"bc_e2e_{os.getpid()}_")
        print(f"product up at {product.url}; preparing {CONCURRENCY} customers …", flush=True)
        operator = operator_client(product.url)
        customers: list[Customer] = [register(product, i) for i in range(CONCURRENCY)]
        for customer in customers:
            top_up(operator, customer.account_id, f"{ORDER_PRICE * 3}.00")
        orders = [[place_order(c) for _ in range(3)] for c in customers]
        for customer, mine in zip(customers, orders, strict=True):
            testing.wait_for(lambda c=customer, m=mine: set(m) <= invoiceable_ids(c), 90, 0.5,
                             "orders never became invoiceable")
            apply_and_confirm(customer, mine[0])
        tokens = [c.http.headers["authorization"].removeprefix("Bearer ") for c in customers]
        pages = [httpx.Client(base_url=product.url, cookies={"bc_session": t}, timeout=30,
                              headers={"accept": "text/html"}) for t in tokens]
        apis = [httpx.Client(base_url=product.url, headers={"authorization": f"Bearer {t}"}, timeout=30)
                for t in tokens]
        print(f"\n{calls} pages per scenario, {CONCURRENCY} concurrent connections\n", flush=True)
        rows = []
        for name, path, json_paths, rpcs in (("Account Overview", "/", OVERVIEW_JSON, 2),
                                             ("Invoice List", "/invoices", INVOICES_JSON, 6)):
            page, page_ms = scenario(f"{name}: GET {path}", pages, (path,), calls, watched)
            data, data_ms = scenario(f"{name}: {len(json_paths)} JSON reads", apis, json_paths, calls,
                                     watched)
            rows.append((name, rpcs, page, page_ms, data, data_ms))
        print("\n" + "=" * 100)
        print(f"{'':<34}{'pages/s':>9}{'server p50':>12}{'server p99':>12}{'client p50':>12}"
              f"{'client p99':>12}{'CPU-ms':>9}{'ratio':>8}")
        for name, rpcs, page, page_ms, data, data_ms in rows:
            for label, result, spent, ratio in ((f"{name} page ({rpcs} RPCs)", page, page_ms,
                                                 f"{page.rate / data.rate:.2f}"),
                                                ("  the same data as JSON", data, data_ms, "")):
                print(f"{label:<34}{result.rate:>9.1f}{statistics.median(spent):>12.1f}"
                      f"{percentile(spent, 0.99):>12.1f}{result.p50:>12.1f}{result.p99:>12.1f}"
                      f"{result.total:>9.2f}{ratio:>8}")
        print("server: the gateway's Server-Timing (for JSON, summed over the set's requests); "
              "ratio: page rate / JSON rate (target ≥ 0.8)")
        for client in (*pages, *apis):
            client.close()
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
