"""A year of a million cash-wallet entries: the statement read page by page, against plain
PostgreSQL ``COPY`` of the same rows, and the wallet balance every charge reads.

    python -m bench.statement [--entries 1000000] [--page 200]      (also run by make bench)

Builds a fresh billing database (its own migrations), gives one account ``--entries`` journal
entries spread over the past 365 days (a cash posting and its bank counter-posting each, with
the balance after every cash posting, as the service writes them), loaded with ``COPY``; then
measures, in one run:

1. **floor** — ``COPY (the account's cash postings joined to their entries) TO STDOUT``: the
   cheapest way PostgreSQL can hand over the year;
2. **whole year** — every page of ``repository.statement`` (the code behind
   ``GET /account/statement``) for the year, ``--page`` movements a page; ratio = floor time /
   its time; the process's peak RSS growth shows it never held the year;
3. **one page** — the first page of the last month, and a page deep inside the year (what a
   customer opening the console asks for), with the opening and closing balances;
4. **balance** — ``repository.cash_balance`` of the account, read by every charge and refund.

Times are wall clock on an otherwise idle box; CPU-ms are this process's (the Python side) and,
for the whole year, PostgreSQL's backend (``/proc/<pid>/stat`` of the connection's backend).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.billing import repository
from services.billing.models import Account
from services.common import testing
from services.common.db import make_engine, migrate

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def backend_cpu_ms(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load(url: str, entries: int, now: datetime) -> str:
    """One account with ``entries`` entries over the past year, written with COPY."""
    engine = make_engine(url)
    account_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(Account(id=account_id, company_name="Statement AB", email="s@example.com",
                            currency="EUR", country="SE", language="en",
                            payment_reference="RF18539007547034"))
        session.commit()
    engine.dispose()
    load_entries(url, account_id, entries, now)
    return account_id


def load_entries(url: str, account_id: str, entries: int, now: datetime, days: int = 365) -> None:
    """``entries`` entries of an existing EUR account spread evenly over the ``days`` before
    ``now``, written with COPY (also used by ``bench.documents`` for an account signed up
    through the gateway).  Balances count from zero: the account should have no postings."""
    engine = make_engine(url)
    start = now - timedelta(days=days)
    step = timedelta(days=days) / entries
    journal, postings = io.StringIO(), io.StringIO()
    balance = 0
    for i in range(entries):
        entry_id = str(uuid.uuid4())
        amount = 10_000 if i % 3 == 0 else -3_000
        balance += amount
        at = (start + step * i).isoformat()
        journal.write(f"{entry_id}\t{account_id}\ttop_up\tbench {i}\tbench:{entry_id}\t{abs(amount)}"
                      f"\tEUR\t\\N\tbench\t{at}\n")
        postings.write(f"{entry_id}\tcustomer_cash\t{account_id}\t{amount}\tEUR\t{balance}\t{at}"
                       f"\ttop_up\tbench {i}\t\\N\n"
                       f"{entry_id}\tbank\t\\N\t{-amount}\tEUR\t\\N\t{at}\t\\N\t\\N\t\\N\n")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        journal.seek(0)
        cursor.copy_expert("COPY journal_entries (id, account_id, kind, reference, idempotency_key, "
                           "amount_minor, currency, order_id, actor, created_at) FROM STDIN", journal)
        postings.seek(0)
        cursor.copy_expert("COPY postings (entry_id, book, account_id, amount_minor, currency, "
                           "balance_after_minor, at, kind, reference, order_id) FROM STDIN", postings)
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args()
    prefix = f"bc_bench_stmt_{os.getpid()}"
    urls = testing.create_databases(prefix)
    try:
        url = urls["billing"]
        migrate("billing", url)
        now = datetime.now(UTC).replace(microsecond=0)
        began = time.perf_counter()
        account_id = load(url, args.entries, now)
        print(f"loaded {args.entries:,} entries ({2 * args.entries:,} postings) with COPY in "
              f"{time.perf_counter() - began:.1f} s")
        engine = make_engine(url)
        with Session(engine) as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            account = session.get(Account, account_id)
            assert account is not None
            year_from, year_to = now - timedelta(days=366), now + timedelta(days=1)

            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            sink = io.StringIO()
            began, cpu, db_cpu = time.perf_counter(), self_cpu_ms(), backend_cpu_ms(pid)
            raw.cursor().copy_expert(
                "COPY (SELECT p.id, p.amount_minor, p.balance_after_minor, e.id, e.kind, "
                "e.reference, e.order_id, e.created_at FROM postings p JOIN journal_entries e "
                f"ON e.id = p.entry_id WHERE p.account_id = '{account_id}' AND "
                "p.book = 'customer_cash' ORDER BY p.id) TO STDOUT", sink)
            floor = time.perf_counter() - began
            floor_cpu, floor_db = self_cpu_ms() - cpu, backend_cpu_ms(pid) - db_cpu
            copied = sink.getvalue().count("\n")
            del sink
            print(f"\nfloor: COPY of the year's {copied:,} movements: {floor:.2f} s "
                  f"(python {floor_cpu:.0f} CPU-ms, postgres {floor_db:.0f} CPU-ms)")

            rss_before = rss_mb()
            peak = rss_before
            began, cpu, db_cpu = time.perf_counter(), self_cpu_ms(), backend_cpu_ms(pid)
            cursor, seen, pages_read, slowest = None, 0, 0, 0.0
            while True:
                page_began = time.perf_counter()
                page = repository.statement(session, account, year_from, year_to, args.page, cursor)
                slowest = max(slowest, time.perf_counter() - page_began)
                seen += len(page.rows)
                pages_read += 1
                peak = max(peak, rss_mb())
                cursor = page.next_cursor
                session.rollback()
                if cursor is None:
                    break
            whole = time.perf_counter() - began
            whole_cpu, whole_db = self_cpu_ms() - cpu, backend_cpu_ms(pid) - db_cpu
            assert seen == copied, (seen, copied)
            print(f"whole year, {pages_read:,} pages of {args.page}: {whole:.2f} s, "
                  f"{floor / whole:.2f}x the floor, {whole / pages_read * 1000:.2f} ms a page "
                  f"(slowest {slowest * 1000:.1f} ms); python {whole_cpu / pages_read:.2f} CPU-ms "
                  f"a page, postgres {whole_db / pages_read:.2f} CPU-ms a page; "
                  f"RSS grew {peak - rss_before:.0f} MB")

            for label, since, until in (
                ("last month, first page", now - timedelta(days=30), year_to),
                ("mid-year page (a month from March)", now - timedelta(days=270),
                 now - timedelta(days=240)),
            ):
                times = []
                for _ in range(20):
                    began = time.perf_counter()
                    page = repository.statement(session, account, since, until, 50, None)
                    times.append(time.perf_counter() - began)
                    session.rollback()
                times.sort()
                print(f"{label}: p50 {times[10] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms "
                      f"(opening {page.opening}, closing {page.closing})")

            times = []
            for _ in range(200):
                began = time.perf_counter()
                balance = repository.cash_balance(session, account_id, "EUR")
                times.append(time.perf_counter() - began)
            session.rollback()
            times.sort()
            print(f"cash balance (read by every charge): p50 {times[100] * 1000:.3f} ms, "
                  f"p99 {times[198] * 1000:.3f} ms ({balance})")
        engine.dispose()
    finally:
        testing.drop_databases(prefix)


if __name__ == "__main__":
    main()
