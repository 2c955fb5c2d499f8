"""The Invoiceable List learns every paid order's fate from the orders service's own events
(fed here from the real orders service to the real invoicing service): the cash-paid part of
what was implemented is invoiceable, voucher money never is; a failed order is refused until
its failed part is cancelled, and then its successful part is invoiceable; an order refused or
expired unpaid is not listed; events repeated or out of order change nothing."""

import uuid

import pytest
from service_fakes import FakeOutbox, Service, charged, invoicing_account

from services.common.errors import (
    OrderImplementationFailed,
    OrderNotInvoiceable,
    OrderPaidWithVoucher,
)
from services.invoicing.service import InvoicingService

ACCOUNT = str(uuid.uuid4())


@pytest.fixture
def invoicing(service_database, billing, settings) -> Service:
    billing.always("account_for_invoicing", invoicing_account)
    return Service(InvoicingService, service_database("invoicing"), billing=billing,
                   outbox=FakeOutbox(), settings=settings)


def with_voucher(voucher: str):
    def answer(data: dict) -> dict:
        return {**charged(data), "voucher": {"amount": f"-{voucher}", "currency": "EUR"}}
    return answer


def deliver(outbox, invoicing, events=None) -> None:
    """Hand the orders service's events to invoicing, as the broker would."""
    for evt in events if events is not None else outbox.events:
        if evt.source == "orders" and hasattr(InvoicingService, f"on_{evt.type}"):
            getattr(invoicing, f"on_{evt.type}")(evt.wire())


def place(orders, *lines, method: str = "balance") -> dict:
    return orders.place_order(ACCOUNT, {"lines": [{"sku": s, "quantity": q} for s, q in lines],
                                        "payment_method": method}, uuid.uuid4().hex)


def listed(invoicing, order_id: str) -> dict:
    return next(row for row in invoicing.invoiceable(ACCOUNT)["items"] if row["order_id"] == order_id)


def test_a_cash_and_voucher_order_is_invoiceable_for_its_cash_part_only(orders, billing, outbox,
                                                                       invoicing):
    billing.always("charge_order", with_voucher("10.00"))
    order = place(orders, ("VM-S-1M", 1), ("BACKUP-100G-1M", 2), method="balance+voucher")  # 37.50
    deliver(outbox, invoicing)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["invoiceable_amount"]["amount"]) == (True, "27.50")


def test_a_voucher_only_order_is_listed_but_refused_as_paid_with_voucher(orders, billing, outbox,
                                                                        invoicing):
    billing.always("charge_order", with_voucher("25.00"))
    order = place(orders, ("VM-S-1M", 1), method="voucher")
    deliver(outbox, invoicing)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["reason"], row["invoiceable_amount"]["amount"]) == (
        False, "order_paid_with_voucher", "0.00")
    with pytest.raises(OrderPaidWithVoucher):
        invoicing.apply(ACCOUNT, {"order_ids": [order["id"]]})


def test_a_failed_order_is_refused_until_cancelled_then_its_successful_part_is_invoiceable(
        orders, billing, outbox, invoicing):
    orders.set_provisioning_rule("BACKUP-100G-1M", {"outcome": "fail_units", "failed_units": 1,
                                                    "cancel_fails": True})
    billing.always("charge_order", charged).always("refund", {})
    order = place(orders, ("VM-S-1M", 1), ("BACKUP-100G-1M", 3))  # 25.00 + 18.75
    deliver(outbox, invoicing)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["reason"]) == (False, "order_implementation_failed")
    with pytest.raises(OrderImplementationFailed):
        invoicing.apply(ACCOUNT, {"order_ids": [order["id"]]})

    outbox.events.clear()
    orders.cancel_order(ACCOUNT, order["id"])  # the manual cancel: one unit refunded, 6.25
    assert outbox.types() == ["order_cancelled", "order_refunded"]
    deliver(outbox, invoicing)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["invoiceable_amount"]["amount"]) == (True, "37.50")
    application = invoicing.apply(ACCOUNT, {"order_ids": [order["id"]]})
    invoice_id = invoicing.confirm(ACCOUNT, application["id"])["invoice_id"]
    lines = invoicing.get_invoice(ACCOUNT, invoice_id)["lines"]
    assert [(line["description"][:6], line["quantity"], line["net"]["amount"]) for line in lines] == [
        ("Cloud ", 1, "20.00"), ("Backup", 2, "10.00")]


def test_events_out_of_order_or_repeated_keep_the_newest_state(orders, billing, outbox, invoicing):
    orders.set_provisioning_rule("BACKUP-100G-1M", {"outcome": "fail_units", "failed_units": 1})
    billing.always("charge_order", charged).always("refund", {})
    order = place(orders, ("BACKUP-100G-1M", 2))  # fails one unit, cancelled at once
    events = [evt for evt in outbox.events if evt.source == "orders"]
    assert [evt.type for evt in events] == ["order_placed", "order_partially_failed",
                                            "order_cancelled", "order_refunded"]

    deliver(outbox, invoicing, list(reversed(events)) + events)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["invoiceable_amount"]["amount"]) == (True, "6.25")


def test_an_order_failed_whole_and_cancelled_is_listed_as_not_invoiceable(orders, billing, outbox,
                                                                         invoicing):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail"})
    billing.always("charge_order", charged).always("refund", {})
    order = place(orders, ("VM-S-1M", 1))
    deliver(outbox, invoicing)

    row = listed(invoicing, order["id"])
    assert (row["invoiceable"], row["reason"]) == (False, "order_not_invoiceable")
    with pytest.raises(OrderNotInvoiceable):
        invoicing.apply(ACCOUNT, {"order_ids": [order["id"]]})


def test_an_order_refused_or_expired_unpaid_is_not_listed(orders, billing, outbox, invoicing):
    from services.common.errors import InsufficientFunds

    billing.always("charge_order", InsufficientFunds("no money", {"wallet": "cash"}))
    with pytest.raises(InsufficientFunds):
        place(orders, ("VM-S-1M", 1))
    deliver(outbox, invoicing)

    assert invoicing.invoiceable(ACCOUNT)["items"] == []
