"""Gateway vs bare nameko RPC, with CPU-ms per request for every process, measured in one run.

    python -m bench.gateway_vs_rpc [--calls 2000] [--applications 100]      (or: make bench)

Starts the whole product as separate processes (``services.common.testing.running_product``: its
own PostgreSQL databases and RabbitMQ vhost, hub-blocking detection off, the default RPC timeout)
plus a bare nameko echo service (``bench/echo_service.py``), then measures:

1. **the floor** — the bare RPC echo, sequential (``--calls / 2`` calls) and with 10 concurrent
   callers (``--calls``), one standalone ``ClusterRpcProxy`` per caller thread;
2. **read** — ``GET /api/v1/orders/{id}`` through the gateway, 10 concurrent connections
   (``--calls``; one thread with its own ``httpx.Client`` per connection, each reading an order
   of its own customer); ratio = its rate / the concurrent floor's rate (target ≥ 0.6);
3. **apply + confirm** — on orders made beforehand (one customer per caller, topped up by the
   operator, each order paid from the balance and waited for until it is on the Invoiceable
   List), ``POST /invoice-applications`` then ``POST /invoice-applications/{id}/confirm`` per
   order, 10 concurrent (``--applications`` pairs), with the documents service paused
   (SIGSTOP) so that the figure is the two requests alone; the unit is one application;
   target ≤ 30 CPU-ms per application summed over every process;
3b. **render** — the documents service is resumed and the PDFs those confirms queued are
   rendered; the "after" reading is taken once the renderer processes have been idle for a
   second and every invoice's PDF answers 200 (those checks come after the reading). The unit
   is one PDF: the renderers' CPU, and the rest (the documents service taking the event and
   storing the file, invoicing recording ``document_ready``, the broker, the database);
4. **read while rendering** — 10 apply + confirm are completed (10 PDFs queued for rendering) and
   the read of (2) is measured at once for a fixed number of calls; compared with (2) it shows
   whether rendering starves reads. Its CPU-ms per call include those 10 renders.

For each: rate, p50, p99, the ratio to the concurrent floor, and CPU-ms per unit per process.
CPU is utime + stime (fields 14 and 15 of ``/proc/<pid>/stat``, in ``SC_CLK_TCK`` ticks) read from
one scan of ``/proc`` before and after each scenario, for: the gateway and the four service
processes (``Product.processes``); the renderer processes (children of the documents process)
plus the documents process's reaped-children time (cutime + cstime, fields 16 and 17), which
catches renderers replaced during the window; RabbitMQ (every ``beam.smp``); PostgreSQL (every
``postgres`` process, summed, plus the postmaster's reaped-children time); the echo service; and
this load generator (``/proc/self``: all its threads, not its children). A process born during the
window counts with all of its CPU. Also printed: the sum over the processes, ≈ 2,000 / sum as the
throughput the 2-core box could sustain at that cost, and the whole box's busy CPU from
``/proc/stat`` as a cross-check (box > sum means CPU went to something not listed).

Known blind spots:

* RabbitMQ and PostgreSQL are shared with anything else on the box (other vhosts, other
  databases, other test runs): their CPU is the whole broker's and the whole cluster's; the
  "postgres, our backends" row counts only backends connected to this run's databases.
* A PostgreSQL backend that exits during the window is counted through the postmaster's
  cutime/cstime, with all of its lifetime CPU (also what it used before the window); one that has
  exited but not yet been reaped is missed. Same for a renderer replaced during the window.
* Processes not listed (the kernel's own work: softirqs for loopback TCP, page cache) show only
  in the box total.
* Ticks are 10 ms: fine over thousands of calls, coarse for short windows.
* The load generator's CPU (httpx in 10 threads under the GIL) competes with the product for the
  same two cores, so rates are lower than a remote client would see; its cost is reported.
* Idle work (heartbeats, outbox relay sweeps) during a window is charged to its requests; the
  "idle" column shows each process's CPU-ms per second at rest for comparison.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import testing
from services.common.profile_testing import BILLING, MAILING

CONCURRENCY = 10
BUSY_READS = 500  # calls measured in scenario 4, while 10 invoices render
ORDER_PRICE = 25  # VM-S-1M, EUR incl. VAT
SKU = "VM-S-1M"
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
SERVICES = ("gateway", "billing", "orders", "invoicing", "documents")
ROWS = (*SERVICES, "renderers", "rabbitmq", "postgres", "echo", "load generator")
FLOOR_ROWS = ("echo", "rabbitmq", "load generator")


# -- CPU from /proc -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    comm: str
    ppid: int
    start: int  # field 22, to tell a reused pid from the same process
    ticks: int  # utime + stime
    child_ticks: int  # cutime + cstime: reaped children
    cmdline: str = ""


@dataclass(frozen=True)
class Snapshot:
    at: float
    procs: dict[int, ProcStat]
    box_busy: int  # ticks over all CPUs from /proc/stat


def read_stat(pid: int | str) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()  # rest[0] is field 3
    stat = ProcStat(comm=comm, ppid=int(rest[1]), start=int(rest[19]),
                    ticks=int(rest[11]) + int(rest[12]), child_ticks=int(rest[13]) + int(rest[14]))
    if comm == "postgres":  # the backend's title names its database
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        stat = ProcStat(stat.comm, stat.ppid, stat.start, stat.ticks, stat.child_ticks, cmdline)
    return stat


def snapshot() -> Snapshot:
    procs: dict[int, ProcStat] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = read_stat(entry.name)
            if stat is not None:
                procs[int(entry.name)] = stat
    with open("/proc/stat") as cpu:
        fields = [int(value) for value in cpu.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # everything but idle and iowait (guest is in user)
    busy -= sum(fields[8:10]) if len(fields) >= 10 else 0
    return Snapshot(time.perf_counter(), procs, busy)


@dataclass
class Watched:
    """Which pids make up each row of the table."""

    pids: dict[str, int]  # gateway, billing, …, echo, load generator
    database_prefix: str

    def cpu_ms(self, before: Snapshot, after: Snapshot) -> dict[str, float]:
        def delta(pids: Iterable[int]) -> int:
            total = 0
            for pid in set(pids):
                now, then = after.procs.get(pid), before.procs.get(pid)
                if now is None:
                    continue  # exited in the window: only a reaping parent's cutime shows it
                if then is not None and then.start == now.start:
                    total += now.ticks - then.ticks
                else:
                    total += now.ticks  # born in the window
            return total

        def reaped(pid: int) -> int:
            now, then = after.procs.get(pid), before.procs.get(pid)
            if now is None or then is None or now.start != then.start:
                return 0
            return now.child_ticks - then.child_ticks

        def matching(test: Callable[[ProcStat], bool]) -> list[int]:
            return [pid for snap in (before, after) for pid, stat in snap.procs.items() if test(stat)]

        ticks: dict[str, int] = {}
        for name, pid in self.pids.items():
            ticks[name] = delta([pid])
        documents = self.pids["documents"]
        ticks["renderers"] = delta(matching(lambda s: s.ppid == documents)) + reaped(documents)
        ticks["rabbitmq"] = delta(matching(lambda s: s.comm == "beam.smp"))
        postgres = matching(lambda s: s.comm == "postgres")
        postmasters = [pid for pid in set(postgres)
                       if (parent := after.procs.get(pid) or before.procs.get(pid)) is not None
                       and (after.procs.get(parent.ppid) or before.procs.get(parent.ppid)
                            or ProcStat("", 0, 0, 0, 0)).comm != "postgres"]
        ticks["postgres"] = delta(postgres) + sum(reaped(pid) for pid in postmasters)
        ticks["postgres, our backends"] = delta(
            matching(lambda s: s.comm == "postgres" and self.database_prefix in s.cmdline))
        ticks["box total"] = after.box_busy - before.box_busy
        return {name: value * TICK_MS for name, value in ticks.items()}


# -- driving load -------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    unit: str
    count: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU-ms per unit
    summed: tuple[str, ...]  # the rows that make up "sum"
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def p99(self) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000

    @property
    def total(self) -> float:
        return sum(self.cpu.get(name, 0.0) for name in self.summed)


# (one call, the items it is called with).  The call is typed "...", not "[Any]": mypy cannot
# match lambdas that capture a loop variable as a default argument (python/mypy#15459).
Worker = tuple[Callable[..., object], Sequence[Any]]


def drive(workers: list[Worker], ready: Callable[[], None]) -> tuple[float, list[float]]:
    """Run every worker in its own thread, all released together after ``ready()``."""
    latencies: list[list[float]] = [[] for _ in workers]
    errors: list[BaseException] = []
    gate = threading.Barrier(len(workers) + 1)

    def run(index: int) -> None:
        call, items = workers[index]
        mine = latencies[index]
        gate.wait()
        try:
            for item in items:
                started = time.perf_counter()
                call(item)
                mine.append(time.perf_counter() - started)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    ready()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, [value for mine in latencies for value in mine]


def measure(label: str, unit: str, workers: list[Worker], watched: Watched,
            summed: tuple[str, ...]) -> Result:
    before: list[Snapshot] = []
    elapsed, latencies = drive(workers, lambda: before.append(snapshot()))
    notes: list[str] = []
    after = snapshot()
    count = len(latencies)
    cpu = {name: ms / count for name, ms in watched.cpu_ms(before[0], after).items()}
    result = Result(label, unit, count, elapsed, latencies, cpu, summed, notes)
    print(f"{label:<44} {result.rate:8.1f} {unit}/s   p50 {result.p50:7.1f} ms   p99 {result.p99:7.1f} ms"
          f"   {result.total:6.2f} CPU-ms/{unit}", flush=True)
    for note in notes:
        print(f"    {note}", flush=True)
    return result


def measure_until(label: str, unit: str, count: int, until: Callable[[], list[str]],
                  watched: Watched, summed: tuple[str, ...]) -> Result:
    """CPU per unit of background work: from now until ``until()`` says it is all done."""
    before = snapshot()
    started = time.perf_counter()
    notes = until()
    after = snapshot()
    elapsed = time.perf_counter() - started
    cpu = {name: ms / count for name, ms in watched.cpu_ms(before, after).items()}
    result = Result(label, unit, count, elapsed, [], cpu, summed, notes)
    print(f"{label:<44} {result.rate:8.1f} {unit}/s   {'':27}{result.total:6.2f} CPU-ms/{unit}", flush=True)
    for note in notes:
        print(f"    {note}", flush=True)
    return result


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    return [list(items[i::parts]) for i in range(parts)]


# -- the HTTP API (kept in small helpers: its shape is still moving) ----------------------------


class ApiError(RuntimeError):
    pass


def expect(answer: httpx.Response, *codes: int) -> Any:
    if answer.status_code not in codes:
        raise ApiError(f"{answer.request.method} {answer.request.url.path} answered "
                       f"{answer.status_code}: {answer.text[:500]}")
    is_json = answer.headers.get("content-type", "").startswith("application/json")
    return answer.json() if answer.content and is_json else answer.content


def once() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@dataclass
class Customer:
    http: httpx.Client  # base URL /api/v1, the customer's bearer token set
    account_id: str


def register(product: testing.Product, index: int) -> Customer:
    """Sign up, open the verification link from the product's mail sink, and sign in."""
    http = httpx.Client(base_url=product.url + "/api/v1", timeout=60)
    email, password = f"bench-{uuid.uuid4().hex[:12]}@example.com", "bench-password-1"
    body = expect(http.post("/auth/register", headers=once(), json={
        "email": email, "password": password, "company_name": f"Bench {index} AB",
        "country": "SE", "billing_address": "Sveavägen 1, 111 57 Stockholm",
    }), 201)
    assert product.mail is not None
    (mail,) = product.mail.wait_for_mail(email)
    expect(http.post("/auth/verify", json={"token": testing.link_token(mail)}), 200)
    token = expect(http.post("/auth/login", json={"email": email, "password": password}), 200)
    http.headers["Authorization"] = f"Bearer {token['token']}"
    expect(http.put("/account/billing-info", json=BILLING), 200)  # what applying needs
    expect(http.put("/account/mailing-info", json=MAILING), 200)
    return Customer(http, str(body["account_id"]))


def operator_client(base: str) -> httpx.Client:
    http = httpx.Client(base_url=base + "/api/v1", timeout=60)
    body = expect(http.post("/auth/login", json={
        "email": "operator@example.com", "password": "operator-password"}), 200)
    http.headers["Authorization"] = f"Bearer {body['token']}"
    return http


def top_up(operator: httpx.Client, account_id: str, amount: str) -> None:
    answer = operator.post(f"/admin/accounts/{account_id}/top-ups", headers=once(),
                           json={"amount": {"amount": amount, "currency": "EUR"}})
    if answer.status_code in (404, 405, 422):  # the API before money became an object
        answer = operator.post(f"/accounts/{account_id}/top-ups", headers=once(),
                               json={"amount": amount, "currency": "EUR"})
    expect(answer, 200, 201)


def place_order(customer: Customer) -> str:
    order = expect(customer.http.post("/orders", headers=once(),
                                      json={"lines": [{"sku": SKU, "quantity": 1}]}), 201)
    return str(order["id"])


def invoiceable_ids(customer: Customer) -> set[str]:
    """Every order id on the Invoiceable List: a bare list or pages of ``{items, next_cursor}``."""
    ids: set[str] = set()
    params: dict[str, str] = {}
    seen: set[str] = set()
    while True:
        body = expect(customer.http.get("/invoiceable-orders", params=params), 200)
        rows = body if isinstance(body, list) else body.get("items", [])
        ids.update(str(row["order_id"]) for row in rows)
        cursor = None if isinstance(body, list) else body.get("next_cursor")
        if not cursor or cursor in seen:
            return ids
        seen.add(cursor)
        params = {"cursor": str(cursor)}


def apply_and_confirm(customer: Customer, order_id: str) -> str:
    """One invoice application for one order, confirmed; returns the invoice id."""
    application = expect(customer.http.post("/invoice-applications", headers=once(),
                                            json={"order_ids": [order_id]}), 201)
    invoice = expect(customer.http.post(f"/invoice-applications/{application['id']}/confirm",
                                        headers=once()), 200, 201)
    return str(invoice["invoice_id"])


def pdf_ready(customer: Customer, invoice_id: str) -> bool:
    answer = customer.http.get(f"/invoices/{invoice_id}/pdf")
    if answer.status_code == 409:
        return False
    expect(answer, 200)
    return True


# -- scenarios ----------------------------------------------------------------------------------


def renderer_ticks(documents: int) -> int:
    """CPU ticks of the documents process's children so far (alive ones plus reaped ones)."""
    total = (read_stat(documents) or ProcStat("", 0, 0, 0, 0)).child_ticks
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = read_stat(entry.name)
            if stat is not None and stat.ppid == documents:
                total += stat.ticks
    return total


def wait_rendered(documents: int, invoices: list[tuple[Customer, str]], since: float,
                  timeout: float = 180) -> list[str]:
    """Wait until the renderers have been idle for a second and every PDF answers 200.

    The PDF checks run between the renderers going quiet and returning, so their own cost lands
    in the "after" reading only if a PDF was still missing at the first check."""
    deadline = time.monotonic() + timeout
    pending = list(invoices)
    checks = 0
    while True:
        last, quiet_since = renderer_ticks(documents), time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            time.sleep(0.1)
            now = renderer_ticks(documents)
            if now != last:
                last, quiet_since = now, time.monotonic()
            if time.monotonic() > deadline:
                raise AssertionError(f"renderers still busy after {timeout} s")
        quiet_at = time.perf_counter()
        checks += 1
        pending = [(customer, invoice) for customer, invoice in pending if not pdf_ready(customer, invoice)]
        if not pending:
            note = f"all {len(invoices)} PDFs rendered {quiet_at - since - 1.0:.1f} s after the loop"
            if checks > 1:
                note += f" (PDF checks needed {checks} rounds; the earlier ones are in the CPU figures)"
            return [note]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} PDFs still not ready after {timeout} s")


class RenderWatch:
    """Samples renderer CPU in the background to say when the renders of scenario 4 ended."""

    def __init__(self, documents: int) -> None:
        self.documents = documents
        self.last_change = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = renderer_ticks(self.documents)
        while not self._stop.wait(0.05):
            now = renderer_ticks(self.documents)
            if now != last:
                last, self.last_change = now, time.perf_counter()

    def __enter__(self) -> RenderWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def start_echo(product: testing.Product) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    echo = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "bench.echo_service"],
                            env={**product.env, "PYTHONWARNINGS": "ignore"})
    config = {"AMQP_URI": product.env["AMQP_URI"], "serializer": "json"}
    testing.wait_for(lambda: _echo_ready(config), 30, message="echo service never started")
    return echo, config


def _echo_ready(config: dict[str, str]) -> bool:
    try:
        with ClusterRpcProxy(config, timeout=2) as proxy:
            return proxy.bench_echo.echo("ready") == "ready"
    except Exception:
        return False


def floor(config: dict[str, str], calls: int, callers: int, watched: Watched) -> Result:
    proxies = [ClusterRpcProxy(config, timeout=30) for _ in range(callers)]
    started = [proxy.start() for proxy in proxies]
    try:
        for service in started:
            service.bench_echo.echo("warm")
        workers: list[Worker] = [(lambda _, s=service: s.bench_echo.echo("ping"), range(calls // callers))
                                 for service in started]
        label = "floor: bare RPC echo, " + ("sequential" if callers == 1 else f"{callers} callers")
        return measure(label, "call", workers, watched, FLOOR_ROWS)
    finally:
        for proxy in proxies:
            proxy.stop()


def reads(label: str, customers: list[Customer], orders: list[str], calls: int,
          watched: Watched) -> Result:
    clients = [httpx.Client(base_url=str(c.http.base_url), headers=dict(c.http.headers), timeout=30)
               for c in customers]
    try:
        def reader(client: httpx.Client, order_id: str) -> Callable[[Any], object]:
            path = f"/orders/{order_id}"

            def call(_: Any) -> None:
                answer = client.get(path)
                if answer.status_code != 200:
                    raise ApiError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")

            return call

        for client, order_id in zip(clients, orders, strict=True):  # a connection each, warm
            reader(client, order_id)(None)
        workers: list[Worker] = [(reader(client, order_id), range(calls // len(clients)))
                                 for client, order_id in zip(clients, orders, strict=True)]
        return measure(label, "call", workers, watched, tuple(r for r in ROWS if r != "echo"))
    finally:
        for client in clients:
            client.close()


# -- the table ----------------------------------------------------------------------------------


def table(results: list[Result], idle: dict[str, float], floor_rate: float, read_rate: float) -> None:
    width = 12
    names = ["seq floor", "floor x10", "read x10", "apply+conf", "render", "read+render"][: len(results)]
    print("\n" + "=" * (30 + (width + 1) * (len(results) + 1)))
    print(f"{'':<30}" + "".join(f"{name:>{width + 1}}" for name in names) + f"{'idle ms/s':>{width + 1}}")
    print(f"{'unit':<30}" + "".join(f"{r.unit:>{width + 1}}" for r in results))

    def line(label: str, values: list[str], extra: str = "") -> None:
        print(f"{label:<30}" + "".join(f"{v:>{width + 1}}" for v in values) + f"{extra:>{width + 1}}")

    line("rate /s", [f"{r.rate:.1f}" for r in results])
    line("p50 ms", [f"{r.p50:.1f}" if r.latencies else "-" for r in results])
    line("p99 ms", [f"{r.p99:.1f}" if r.latencies else "-" for r in results])
    line("ratio to floor x10", [f"{r.rate / floor_rate:.2f}" for r in results])
    if len(results) >= 6:
        line("ratio to read x10", ["", "", "1.00", "", "", f"{results[5].rate / read_rate:.2f}"])
    print(f"{'CPU-ms per unit':<30}")
    for row in (*ROWS, "postgres, our backends"):
        values = []
        for r in results:
            value = r.cpu.get(row)
            if value is None:
                values.append("-")
            elif row in r.summed:
                values.append(f"{value:.3f}")
            else:
                values.append(f"({value:.3f})")
        line(f"  {row}", values, f"{idle[row]:.1f}" if row in idle else "")
    line("  sum", [f"{r.total:.2f}" for r in results], f"{sum(idle.get(n, 0) for n in ROWS):.1f}")
    line("  sum excluding renderers",
         [f"{r.total - (r.cpu.get('renderers', 0) if 'renderers' in r.summed else 0):.2f}" for r in results])
    line("  box total (/proc/stat)", [f"{r.cpu['box total']:.2f}" for r in results],
         f"{idle['box total']:.1f}")
    line("2000 / sum  (units/s on 2 cores)", [f"{2000 / r.total:.0f}" if r.total else "-" for r in results])
    print("(parenthesised: not in the sum — for the floor the sum is echo + RabbitMQ + load generator;"
          "\n 'postgres, our backends' is part of 'postgres')")


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per read/floor scenario")
    parser.add_argument("--applications", type=int, default=100, help="apply+confirm pairs")
    args = parser.parse_args()
    calls = max(args.calls // CONCURRENCY, 1) * CONCURRENCY
    applications = max(args.applications, CONCURRENCY)
    busy_reads = min(BUSY_READS, calls)

    with tempfile.TemporaryDirectory() as tmp, \
            testing.running_product(Path(tmp), HUB_BLOCKING_DETECTION="0") as product:
        base = product.url
        pids = {name: product.processes[name].pid for name in SERVICES}
        pids["load generator"] = os.getpid()
        watched = Watched(pids, f"bc_e2e_{os.getpid()}_")
        echo, config = start_echo(product)
        pids["echo"] = echo.pid

        # -- customers and orders, made before anything is measured ------------------------
        print(f"product up at {base}; preparing {CONCURRENCY} customers and their orders …", flush=True)
        t0 = time.perf_counter()
        operator = operator_client(base)
        customers = [register(product, i) for i in range(CONCURRENCY)]
        per_customer = -(-applications // CONCURRENCY) + 1 + 1  # apply share, scenario 4, warm-up
        for customer in customers:
            top_up(operator, customer.account_id, f"{ORDER_PRICE * per_customer}.00")
        orders: list[list[str]] = [[] for _ in customers]
        drive([(lambda _, c=c, mine=mine: mine.append(place_order(c)), range(per_customer))
               for c, mine in zip(customers, orders, strict=True)], lambda: None)
        for customer, mine in zip(customers, orders, strict=True):
            testing.wait_for(lambda c=customer, m=mine: set(m) <= invoiceable_ids(c), 90, 0.5,
                             f"orders of {customer.account_id} never all became invoiceable")
        print(f"{CONCURRENCY * per_customer} orders placed and invoiceable in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        warm_orders = [(customers[i], orders[i].pop()) for i in range(2)]
        busy_orders = [(customer, mine.pop()) for customer, mine in zip(customers, orders, strict=True)]
        shares = split(range(applications), CONCURRENCY)  # how many pairs each caller makes
        apply_items = [mine[: len(share)] for mine, share in zip(orders, shares, strict=True)]
        read_orders = [mine[-1] for mine in orders]

        # -- warm-up: both renderers, the read path, the echo -------------------------------
        warm = [(c, apply_and_confirm(c, o)) for c, o in warm_orders]
        drive([(lambda _, c=c, o=o: c.http.get(f"/orders/{o}"), range(20))
               for c, o in zip(customers, read_orders, strict=True)], lambda: None)
        testing.wait_for(lambda: all(pdf_ready(c, i) for c, i in warm), 60, 0.5, "warm-up PDFs")

        # -- idle baseline -------------------------------------------------------------------
        before = snapshot()
        time.sleep(2.0)
        after = snapshot()
        idle = {name: ms / (after.at - before.at) for name, ms in watched.cpu_ms(before, after).items()}

        print(f"\nfloor and reads: {calls} calls ({calls // 2} sequential); {applications} applications; "
              f"{CONCURRENCY} concurrent callers; CPU-ms per unit summed over processes\n", flush=True)
        results: list[Result] = []
        try:
            results.append(floor(config, calls // 2, 1, watched))
            results.append(floor(config, calls, CONCURRENCY, watched))
        finally:
            echo.terminate()
            echo.wait(timeout=20)
        floor_rate = results[1].rate

        read = reads(f"GET /orders/{{id}} via gateway, {CONCURRENCY} conns", customers, read_orders,
                     calls, watched)
        results.append(read)

        invoices: list[tuple[Customer, str]] = []
        lock = threading.Lock()

        def pair(customer: Customer) -> Callable[[Any], object]:
            def call(order_id: str) -> None:
                invoice = apply_and_confirm(customer, order_id)
                with lock:
                    invoices.append((customer, invoice))
            return call

        # The documents service is paused while the applications are made, so their figure is
        # apply + confirm alone; the renders they queued are measured on their own after it.
        everything = tuple(r for r in ROWS if r != "echo")
        appliers: list[Worker] = [(pair(c), items) for c, items in zip(customers, apply_items, strict=True)]
        os.kill(pids["documents"], signal.SIGSTOP)
        try:
            results.append(measure(f"apply + confirm, {CONCURRENCY} callers", "app", appliers,
                                   watched, everything))
        finally:
            resumed = time.perf_counter()
            os.kill(pids["documents"], signal.SIGCONT)
        results.append(measure_until(f"render their {len(invoices)} PDFs", "pdf", len(invoices),
                                     lambda: wait_rendered(pids["documents"], invoices, resumed),
                                     watched, everything))

        # -- scenario 4: reads while 10 invoices render ------------------------------------------
        with RenderWatch(pids["documents"]) as watch:
            busy_invoices: list[tuple[Customer, str]] = []
            drive([(lambda _, c=c, o=o: busy_invoices.append((c, apply_and_confirm(c, o))), [None])
                   for c, o in busy_orders], lambda: None)
            confirmed_at = time.perf_counter()
            busy = reads(f"same read while {len(busy_orders)} PDFs render", customers, read_orders,
                         busy_reads, watched)
            reads_done = time.perf_counter()
            ready = sum(pdf_ready(c, i) for c, i in busy_invoices)
        rendering_for = watch.last_change - confirmed_at
        busy.notes.append(f"renderers busy until {rendering_for:.2f} s after the confirms; the reads took "
                          f"{reads_done - confirmed_at:.2f} s; {ready}/{len(busy_invoices)} PDFs ready after")
        print(f"    {busy.notes[-1]}", flush=True)
        results.append(busy)

        table(results, idle, floor_rate, read.rate)
        apply, render = results[3], results[4]
        print(f"\n>>> gateway read / bare RPC floor (10 concurrent): {read.rate / floor_rate:.2f}"
              f"   (target >= 0.6; p50 {read.p50 / results[1].p50:.1f}x the floor's)")
        print(f">>> apply+confirm: {apply.total:.1f} CPU-ms per application excluding PDF rendering"
              f" (target <= 30); then per PDF {render.total:.1f} CPU-ms, of which the renderers"
              f" {render.cpu['renderers']:.1f}")
        print(f">>> reads while rendering: {busy.rate / read.rate:.2f} of the undisturbed read rate,"
              f" p99 {busy.p99:.1f} ms vs {read.p99:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
