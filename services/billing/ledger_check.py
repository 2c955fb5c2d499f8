"""Proof that the ledger is whole: every entry balances, every wallet's recorded balance
after each posting is the sum of its postings up to it (and no posting of a wallet is dated
before the one before it, so its latest is its balance), and what each account owes in
receivables is what remains on its open payment invoices.  ``python -m services.billing.cli
check-ledger`` runs it; the tests run it after every property-test sequence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.domain import RECEIVABLES, WALLETS
from services.billing.models import Payable, Posting

BATCH = 5_000


def problems(session: Session) -> Iterator[str]:
    """What is wrong, one line each; nothing when the ledger is whole.  Reads the postings once,
    in order, a batch at a time (a year of entries never loads whole)."""
    entry_sums: dict[tuple[str, str], int] = defaultdict(int)
    running: dict[tuple[str, str, str], int] = defaultdict(int)
    owed: dict[tuple[str, str], int] = defaultdict(int)
    last_at: dict[tuple[str, str, str], datetime] = {}
    query = select(Posting.id, Posting.entry_id, Posting.book, Posting.account_id,
                   Posting.amount_minor, Posting.currency, Posting.balance_after_minor, Posting.at
                   ).order_by(Posting.id).execution_options(yield_per=BATCH)
    for row in session.execute(query):
        entry_sums[(row.entry_id, row.currency)] += row.amount_minor
        if row.book == RECEIVABLES and row.account_id is not None:
            owed[(row.account_id, row.currency)] -= row.amount_minor
        if row.book in WALLETS and row.account_id is not None:
            key = (row.account_id, row.book, row.currency)
            running[key] += row.amount_minor
            if key in last_at and row.at < last_at[key]:
                yield (f"posting {row.id}: dated {row.at.isoformat()}, before the "
                       f"{WALLETS[row.book]} wallet's previous posting ({last_at[key].isoformat()})")
            last_at[key] = row.at
            if row.balance_after_minor is not None and row.balance_after_minor != running[key]:
                yield (f"posting {row.id}: {WALLETS[row.book]} wallet of {row.account_id} records "
                       f"{row.balance_after_minor} after it, its postings sum to {running[key]}")
    for (entry_id, currency), total in entry_sums.items():
        if total != 0:
            yield f"entry {entry_id}: its {currency} postings sum to {total}, not 0"
    open_claims = session.execute(
        select(Payable.account_id, Payable.currency,
               func.sum(Payable.total_minor - Payable.paid_minor))
        .where(Payable.claim.is_(True), Payable.status == "open")
        .group_by(Payable.account_id, Payable.currency))
    remaining: dict[tuple[str, str], int] = {
        (account_id, currency): int(total) for account_id, currency, total in open_claims}
    for account_id, currency in sorted(set(owed) | set(remaining)):
        in_ledger, on_invoices = (owed.get((account_id, currency), 0),
                                  remaining.get((account_id, currency), 0))
        if in_ledger != on_invoices:
            yield (f"receivables of {account_id}: {in_ledger} {currency} owed in the ledger, "
                   f"{on_invoices} remaining on its open payment invoices")
