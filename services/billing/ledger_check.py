"""Proof that the ledger is whole: every entry balances, and every wallet's recorded balance
after each posting is the sum of its postings up to it.  ``python -m services.billing.cli
check-ledger`` runs it; the tests run it after every property-test sequence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.domain import WALLETS
from services.billing.models import Posting

BATCH = 5_000


def problems(session: Session) -> Iterator[str]:
    """What is wrong, one line each; nothing when the ledger is whole.  Reads the postings once,
    in order, a batch at a time (a year of entries never loads whole)."""
    entry_sums: dict[tuple[str, str], int] = defaultdict(int)
    running: dict[tuple[str, str, str], int] = defaultdict(int)
    query = select(Posting.id, Posting.entry_id, Posting.book, Posting.account_id,
                   Posting.amount_minor, Posting.currency, Posting.balance_after_minor
                   ).order_by(Posting.id).execution_options(yield_per=BATCH)
    for row in session.execute(query):
        entry_sums[(row.entry_id, row.currency)] += row.amount_minor
        if row.book in WALLETS and row.account_id is not None:
            key = (row.account_id, row.book, row.currency)
            running[key] += row.amount_minor
            if row.balance_after_minor is not None and row.balance_after_minor != running[key]:
                yield (f"posting {row.id}: {WALLETS[row.book]} wallet of {row.account_id} records "
                       f"{row.balance_after_minor} after it, its postings sum to {running[key]}")
    for (entry_id, currency), total in entry_sums.items():
        if total != 0:
            yield f"entry {entry_id}: its {currency} postings sum to {total}, not 0"
