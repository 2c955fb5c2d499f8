"""Invoicing's decisions through its entrypoints: orders arrive from ``order_implemented``, an
application keyed by its request answers every repeat with itself, confirming issues exactly one
invoice, and confirming needs no answer from billing (invoicing knows the account from billing's
events)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from service_fakes import Service, invoicing_account
from sqlalchemy import func, select

from services.common.contracts import MoneyOut, OrderImplemented, OrderLineOut, OrderOut
from services.common.errors import NotFound, OrderAlreadyInvoiced, ServiceTimeout
from services.invoicing.models import (
    Invoice,
    InvoiceableOrder,
    InvoiceApplication,
)
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


def implemented(account_id: str = ACCOUNT, net: str = "20.00", vat: str = "5.00",
                po_number: str | None = None) -> OrderImplemented:
    gross = MoneyOut(amount=Decimal(net) + Decimal(vat), currency="EUR")
    net_m, vat_m = MoneyOut(amount=net, currency="EUR"), MoneyOut(amount=vat, currency="EUR")
    line = OrderLineOut(line_no=1, sku="VM-S-1M", name="Cloud VM, small, 1 month", quantity=1,
                        unit_price=net_m, vat_rate="25.00", net=net_m, vat=vat_m, gross=gross,
                        paid_cash=gross, implementation="succeeded")
    now = datetime.now(UTC)
    order = OrderOut(id=str(uuid.uuid4()), account_id=account_id, status="completed", net=net_m,
                     vat=vat_m, total=gross, paid_cash=gross, po_number=po_number, lines=[line],
                     created_at=now, updated_at=now)
    return OrderImplemented(order=order)


def arrived(invoicing, count: int = 2) -> list[str]:
    """``count`` implemented orders of ACCOUNT, fed to invoicing as their events; their ids."""
    events = [implemented(po_number=f"PO-{n}") for n in range(count)]
    for evt in events:
        invoicing.on_order_implemented(evt.wire())
    return [evt.order.id for evt in events]


def count(database, model, *where) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def statuses(database, order_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with database.session() as session:
        rows = session.scalars(select(InvoiceableOrder)
                               .where(InvoiceableOrder.order_id.in_(order_ids)))
        return {row.order_id: (row.status, row.application_id) for row in rows}


# -- arriving ----------------------------------------------------------------------------------


def test_a_redelivered_order_implemented_event_adds_the_order_once(invoicing, invoicing_db):
    evt = implemented()

    invoicing.on_order_implemented(evt.wire())
    invoicing.on_order_implemented(evt.wire())
    invoicing.on_order_implemented(OrderImplemented(order=evt.order).wire())  # a new event id

    assert count(invoicing_db, InvoiceableOrder) == 1
    listed = invoicing.invoiceable(ACCOUNT)["items"]
    assert [(item["order_id"], item["invoiceable"]) for item in listed] == [(evt.order.id, True)]


# -- applying ----------------------------------------------------------------------------------


def test_applying_with_the_same_request_key_twice_answers_the_same_application(
    invoicing, invoicing_db
):
    order_ids = arrived(invoicing)

    first = invoicing.apply(ACCOUNT, {"order_ids": order_ids}, "key-1")
    again = invoicing.apply(ACCOUNT, {"order_ids": order_ids}, "key-1")

    assert again == first
    assert first["status"] == "awaiting_confirmation"
    assert first["order_ids"] == order_ids
    assert first["total"] == {"amount": "50.00", "currency": "EUR"}
    assert count(invoicing_db, InvoiceApplication) == 1
    assert statuses(invoicing_db, order_ids) == {
        order_id: ("applied", first["id"]) for order_id in order_ids}


def test_applying_again_without_a_key_is_order_already_invoiced(invoicing, invoicing_db):
    order_ids = arrived(invoicing)
    first = invoicing.apply(ACCOUNT, {"order_ids": order_ids})

    with pytest.raises(OrderAlreadyInvoiced) as taken:
        invoicing.apply(ACCOUNT, {"order_ids": order_ids})

    assert taken.value.code == "order_already_invoiced"
    assert count(invoicing_db, InvoiceApplication) == 1
    assert statuses(invoicing_db, order_ids) == {
        order_id: ("applied", first["id"]) for order_id in order_ids}


def test_applying_again_with_another_key_is_order_already_invoiced(invoicing, invoicing_db):
    order_ids = arrived(invoicing)
    invoicing.apply(ACCOUNT, {"order_ids": order_ids}, "key-1")

    with pytest.raises(OrderAlreadyInvoiced):
        invoicing.apply(ACCOUNT, {"order_ids": order_ids[:1]}, "key-2")

    assert count(invoicing_db, InvoiceApplication) == 1


# -- confirming --------------------------------------------------------------------------------


def test_confirming_twice_issues_one_invoice_and_answers_the_same(
    invoicing, invoicing_db, billing, outbox
):
    order_ids = arrived(invoicing)
    application = invoicing.apply(ACCOUNT, {"order_ids": order_ids}, "key-1")

    first = invoicing.confirm(ACCOUNT, application["id"])
    again = invoicing.confirm(ACCOUNT, application["id"])

    assert again == first
    assert first["status"] == "issued"
    assert first["invoice_id"] is not None
    assert first["id"] == application["id"]
    assert count(invoicing_db, Invoice) == 1
    (issued,) = outbox.of_type("invoice_issued")
    invoice = issued.wire()["invoice"]
    assert invoice["id"] == first["invoice_id"]
    assert invoice["total"] == {"amount": "50.00", "currency": "EUR"}
    assert invoice["buyer"]["name"] == "Buyer AB"
    assert sorted(invoice["po_numbers"]) == ["PO-0", "PO-1"]
    assert invoicing.get_invoice(ACCOUNT, first["invoice_id"]) == invoice
    assert statuses(invoicing_db, order_ids) == {
        order_id: ("invoiced", application["id"]) for order_id in order_ids}
    with pytest.raises(OrderAlreadyInvoiced):
        invoicing.apply(ACCOUNT, {"order_ids": order_ids})


def test_confirming_needs_no_billing_answer_it_knows_the_account_from_billings_events(
    invoicing, invoicing_db, billing, outbox
):
    application = invoicing.apply(ACCOUNT, {"order_ids": arrived(invoicing)}, "key-1")
    billing.always("account_for_invoicing", ServiceTimeout("billing is away"))

    confirmed = invoicing.confirm(ACCOUNT, application["id"])

    assert confirmed["status"] == "issued"
    assert [entry["status"] for entry in confirmed["status_history"]] == [
        "awaiting_confirmation", "submitted", "issued"]
    assert len(outbox.of_type("invoice_issued")) == 1
    assert len(billing.calls_of("account_for_invoicing")) == 1  # once, when it applied


def test_invoice_numbers_follow_each_other_without_gaps(invoicing, outbox, settings):
    first = invoicing.apply(ACCOUNT, {"order_ids": arrived(invoicing, 1)})
    second = invoicing.apply(ACCOUNT, {"order_ids": arrived(invoicing, 1)})

    invoicing.confirm(ACCOUNT, first["id"])
    invoicing.confirm(ACCOUNT, second["id"])

    year = datetime.now(UTC).year
    numbers = [evt.wire()["invoice"]["number"] for evt in outbox.of_type("invoice_issued")]
    assert numbers == [f"{settings.invoice_series}-{year}-{n:06d}" for n in (1, 2)]


def test_another_accounts_application_cannot_be_confirmed(invoicing, invoicing_db, billing):
    application = invoicing.apply(ACCOUNT, {"order_ids": arrived(invoicing, 1)})

    with pytest.raises(NotFound):
        invoicing.confirm("acc-someone-else", application["id"])

    assert count(invoicing_db, Invoice) == 0
