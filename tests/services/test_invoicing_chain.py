"""Issued invoices are hash-chained in their series: the chain of what was issued verifies; a
stored invoice changed afterwards, one linked to the wrong predecessor, or one removed is named
as the first broken link — by ``chain.verify`` and by ``python -m services.invoicing.cli
verify-chain`` on the service's database."""

import os
import subprocess
import sys

import pytest
from service_fakes import Service, invoicing_account
from sqlalchemy import delete, select, update
from test_invoicing_service import arrived

from services.invoicing import chain
from services.invoicing.models import Invoice
from services.invoicing.service import InvoicingService

ACCOUNT = "acc-" + "3" * 32


@pytest.fixture
def invoicing_db(service_database):
    return service_database("invoicing")


@pytest.fixture
def invoicing(invoicing_db, billing, outbox, settings) -> Service:
    billing.always("account_for_invoicing", invoicing_account)
    return Service(InvoicingService, invoicing_db, billing=billing, outbox=outbox,
                   settings=settings)


def issue(invoicing, count: int) -> list[str]:
    numbers = []
    for order_id in arrived(invoicing, count):
        application = invoicing.apply(ACCOUNT, {"order_ids": [order_id]})
        invoice_id = invoicing.confirm(ACCOUNT, application["id"])["invoice_id"]
        numbers.append(invoicing.get_invoice(ACCOUNT, invoice_id)["number"])
    return numbers


def broken(database) -> list[str]:
    with database.session() as session:
        return [str(link) for link in chain.verify(session)]


def verify_chain_cli(database) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVOICING_DATABASE_URL": database.url}
    return subprocess.run([sys.executable, "-m", "services.invoicing.cli", "verify-chain"],
                          env=env, capture_output=True, text=True, check=False)


def test_the_chain_of_issued_invoices_verifies_and_links_each_to_the_one_before(
        invoicing, invoicing_db):
    issue(invoicing, 3)

    assert broken(invoicing_db) == []
    with invoicing_db.session() as session:
        rows = list(session.scalars(select(Invoice).order_by(Invoice.sequence)))
    assert rows[0].previous_hash is None
    assert [row.previous_hash for row in rows[1:]] == [row.content_hash for row in rows[:-1]]
    checked = verify_chain_cli(invoicing_db)
    assert (checked.returncode, checked.stdout.strip()) == (0, "3 document(s); the chain is whole")


def test_a_changed_invoice_is_named_as_the_first_broken_link(invoicing, invoicing_db):
    numbers = issue(invoicing, 3)
    with invoicing_db.session() as session:
        session.execute(update(Invoice).where(Invoice.number == numbers[1])
                        .values(total_minor=Invoice.total_minor - 100))
        session.commit()

    assert broken(invoicing_db) == [
        f"{numbers[1]}: its content is not what was issued (the hash differs)"]
    checked = verify_chain_cli(invoicing_db)
    assert checked.returncode == 1
    assert f"broken: {numbers[1]}: its content" in checked.stdout


def test_a_resealed_invoice_still_breaks_the_link_to_the_next(invoicing, invoicing_db):
    numbers = issue(invoicing, 3)
    with invoicing_db.session() as session:  # a forger rewrites one and recomputes its hash
        forged = session.scalars(select(Invoice).where(Invoice.number == numbers[0])).one()
        forged.snapshot_json = forged.snapshot_json.replace("Buyer AB", "Someone Else AB")
        forged.content_hash = chain.digest(forged, forged.previous_hash)
        session.commit()

    assert broken(invoicing_db) == [f"{numbers[1]}: it does not link to the document before it"]


def test_a_removed_invoice_is_a_missing_number(invoicing, invoicing_db):
    numbers = issue(invoicing, 3)
    with invoicing_db.session() as session:
        session.execute(delete(Invoice).where(Invoice.number == numbers[1]))
        session.commit()

    assert broken(invoicing_db) == [f"{numbers[2]}: number 2 of the series is missing"]
