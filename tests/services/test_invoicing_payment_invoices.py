"""Payment invoices for wire-transfer orders, through the invoicing service: the order's
``payment_invoice_requested`` issues one (the order's id for it, a gap-free number in its own
series, an RF reference, due after the payment terms) and tells billing (a claim) once however
often it arrives; billing's payment reports move it to paid, never backwards; an order that
expired unpaid voids it."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from service_fakes import FakeOutbox, Service

from services.common.contracts import (
    MoneyOut,
    OrderCancelled,
    OrderLineOut,
    OrderOut,
    PayableOut,
    PaymentInvoiceRequested,
    PaymentReceived,
    utcnow,
)
from services.common.references import rf_valid
from services.invoicing.service import InvoicingService

ACCOUNT = str(uuid.uuid4())


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()


@pytest.fixture
def invoicing(service_database, billing, outbox, settings) -> Service:
    return Service(InvoicingService, service_database("invoicing"), billing=billing,
                   outbox=outbox, settings=settings)


def requested(total: str = "250.00") -> PaymentInvoiceRequested:
    money, zero = MoneyOut(amount=total, currency="EUR"), MoneyOut(amount="0", currency="EUR")
    now = datetime.now(UTC)
    line = OrderLineOut(line_no=1, sku="VM-S-1M", name="Cloud VM", quantity=1, unit_price=money,
                        vat_rate="0.00", net=money, vat=zero, gross=money, paid_cash=zero,
                        implementation="pending")
    order = OrderOut(id=str(uuid.uuid4()), account_id=ACCOUNT, status="awaiting_payment",
                     net=money, vat=zero, total=money, paid_cash=zero, po_number="PO-1",
                     payment_method="wire_transfer", payment_invoice_id=str(uuid.uuid4()),
                     lines=[line], created_at=now, updated_at=now)
    assert order.payment_invoice_id is not None
    return PaymentInvoiceRequested(order=order, payment_invoice_id=order.payment_invoice_id)


def received(evt: PaymentInvoiceRequested, paid: str, status: str) -> dict:
    from service_fakes import charged

    entry = charged({"account_id": ACCOUNT, "order_id": evt.order.id, "amount": paid,
                     "currency": "EUR"})
    total = evt.order.total
    payable = PayableOut(payment_invoice_id=evt.payment_invoice_id, account_id=ACCOUNT,
                         number="x", wire_reference="x", total=total,
                         paid=MoneyOut(amount=paid, currency="EUR"),
                         remaining=MoneyOut(amount=total.amount - MoneyOut(
                             amount=paid, currency="EUR").amount, currency="EUR"),
                         status=status, claim=True)  # type: ignore[arg-type]
    return PaymentReceived(entry=entry, method="wire", payment_id="p", payable=payable,
                           applied=MoneyOut(amount=paid, currency="EUR")).wire()


def test_a_wire_orders_payment_invoice_is_issued_once_and_billing_told(invoicing, outbox,
                                                                       settings):
    first, second = requested(), requested("12.50")
    for evt in (first, first, second):
        invoicing.on_payment_invoice_requested(evt.wire())

    shown = invoicing.get_invoice(ACCOUNT, first.payment_invoice_id)
    year = date.today().year
    assert (shown["kind"], shown["number"], shown["status"]) == (
        "payment_invoice", f"{settings.payment_invoice_series}-{year}-000001", "open")
    assert rf_valid(shown["wire_reference"]) and shown["po_number"] == "PO-1"
    assert shown["due_date"] == (date.today() + timedelta(days=14)).isoformat()
    assert invoicing.get_invoice(ACCOUNT, second.payment_invoice_id)["number"].endswith("-000002")
    opened = outbox.of_type("payment_invoice_opened")
    assert [(e.payment_invoice_id, e.claim, e.order_id) for e in opened] == [
        (first.payment_invoice_id, True, first.order.id),
        (second.payment_invoice_id, True, second.order.id)]
    listed = invoicing.list_invoices(ACCOUNT, None, None, "payment_invoice")["items"]
    assert [i["id"] for i in listed] == [second.payment_invoice_id, first.payment_invoice_id]
    assert invoicing.list_invoices(ACCOUNT)["items"] == []  # issued invoices are another list


def test_payments_move_it_to_paid_and_a_late_smaller_report_changes_nothing(invoicing):
    evt = requested()
    invoicing.on_payment_invoice_requested(evt.wire())

    invoicing.on_payment_received(received(evt, "100.00", "open"))
    partly = invoicing.get_invoice(ACCOUNT, evt.payment_invoice_id)
    assert (partly["status"], partly["paid_amount"]["amount"], partly["remaining"]["amount"]) == (
        "open", "100.00", "150.00")
    invoicing.on_payment_received(received(evt, "250.00", "paid"))
    invoicing.on_payment_received(received(evt, "100.00", "open"))  # an older report, late

    paid = invoicing.get_invoice(ACCOUNT, evt.payment_invoice_id)
    assert (paid["status"], paid["paid_amount"]["amount"], paid["remaining"]["amount"]) == (
        "paid", "250.00", "0.00")


def test_an_order_expired_unpaid_voids_its_payment_invoice(invoicing, outbox):
    evt = requested()
    invoicing.on_payment_invoice_requested(evt.wire())
    cancelled = evt.order.model_copy(update={"status": "cancelled", "updated_at": utcnow()})

    for _ in range(2):
        invoicing.on_order_cancelled(OrderCancelled(order=cancelled, reason="payment_expired").wire())

    assert invoicing.get_invoice(ACCOUNT, evt.payment_invoice_id)["status"] == "void"
    assert [e.payment_invoice_id for e in outbox.of_type("payment_invoice_voided")] == [
        evt.payment_invoice_id]


def test_another_accounts_payment_invoice_is_not_found(invoicing):
    from services.common.errors import NotFound

    evt = requested()
    invoicing.on_payment_invoice_requested(evt.wire())
    with pytest.raises(NotFound):
        invoicing.get_invoice("someone-else", evt.payment_invoice_id)


def shipped(invoicing, total: str = "125.00", account_id: str = ACCOUNT) -> str:
    from services.common.contracts import ShipmentLineOut, ShipmentOut, ShipmentStatusChanged

    money = MoneyOut(amount=total, currency="EUR")
    line = ShipmentLineOut(sku="SSD-1T", name="SSD 1 TB", quantity=1, unit_price=money,
                           vat_rate="0.00", net=money, vat=MoneyOut(amount="0", currency="EUR"),
                           gross=money)
    shipment = ShipmentOut(id=str(uuid.uuid4()), number=f"SHP-2026-{uuid.uuid4().int % 999}",
                           order_id=str(uuid.uuid4()), account_id=account_id, status="shipped",
                           boxes=[], lines=[line], net=money, vat=line.vat, total=money,
                           po_number="PO-GOODS", created_at=utcnow(), shipped_at=utcnow())
    for status in ("assembled", "shipped", "shipped"):
        invoicing.on_shipment_status_changed(ShipmentStatusChanged(
            shipment=shipment.model_copy(update={"status": status})).wire())
    return shipment.id


def test_a_payment_invoice_for_chosen_realizations_bills_each_once(invoicing, outbox):
    from services.common.errors import NotFound, OrderAlreadyInvoiced

    first, second = shipped(invoicing), shipped(invoicing, "75.00")
    made = invoicing.create_payment_invoice(ACCOUNT, {"shipment_ids": [first, second]}, "k-1")
    assert invoicing.create_payment_invoice(ACCOUNT, {"shipment_ids": [first, second]}, "k-1") == made
    assert (made["total"]["amount"], made["shipment_ids"], made["claim"], made["po_number"]) == (
        "200.00", [first, second], True, "PO-GOODS")
    (opened,) = outbox.of_type("payment_invoice_opened")
    assert (opened.payment_invoice_id, opened.claim, str(opened.total.amount)) == (
        made["id"], True, "200.00")

    with pytest.raises(OrderAlreadyInvoiced):
        invoicing.create_payment_invoice(ACCOUNT, {"shipment_ids": [second]})
    with pytest.raises(NotFound):  # another account's realization, like a missing one
        invoicing.create_payment_invoice(ACCOUNT, {"shipment_ids": [shipped(invoicing, "1.00",
                                                                            "someone-else")]})


def test_a_payment_invoice_for_any_amount_is_an_advance_in_the_accounts_currency(
        invoicing, billing, outbox):
    from service_fakes import invoicing_account

    from services.common.errors import CurrencyNotSupported

    billing.always("account_for_invoicing", invoicing_account)
    made = invoicing.create_payment_invoice(ACCOUNT, {"amount": "300.00", "currency": "EUR"})
    assert (made["total"]["amount"], made["claim"], made["lines"]) == ("300.00", False, [])
    assert [evt.claim for evt in outbox.of_type("payment_invoice_opened")] == [False]
    with pytest.raises(CurrencyNotSupported):
        invoicing.create_payment_invoice(ACCOUNT, {"amount": "300.00", "currency": "SEK"})


def test_an_unpaid_payment_invoice_past_its_due_date_is_reported_overdue_once(invoicing, outbox):
    evt = requested()
    invoicing.on_payment_invoice_requested(evt.wire())
    due = date.today() + timedelta(days=14)

    assert invoicing.run_timers_at(due.isoformat())["overdue"] == 0
    assert invoicing.run_timers_at((due + timedelta(days=1)).isoformat())["overdue"] == 1
    assert invoicing.run_timers_at((due + timedelta(days=2)).isoformat())["overdue"] == 0

    (late,) = outbox.of_type("payment_invoice_overdue")
    assert (late.payment_invoice_id, str(late.amount_due.amount)) == (evt.payment_invoice_id,
                                                                      "250.00")
    assert invoicing.get_invoice(ACCOUNT, evt.payment_invoice_id)["status"] == "overdue"
    invoicing.on_payment_received(received(evt, "250.00", "paid"))
    assert invoicing.get_invoice(ACCOUNT, evt.payment_invoice_id)["status"] == "paid"
