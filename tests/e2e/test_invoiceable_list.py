"""The Invoiceable List through HTTP, learnt from the orders service's events: a voucher-paid
order is listed and refused as paid with voucher; a cash+voucher order is invoiceable for its
cash part; a partially failed order is refused until its failed part is cancelled, and then
invoiceable for its successful part."""

import uuid

from services.common import testing
from tests.e2e.test_implementation import place, rule, sku_like
from tests.e2e.test_order_payment_methods import give_voucher


def row_of(customer, order_id: str, timeout: float = 20, reason: str | None = "any") -> dict:
    def found() -> dict | None:
        rows = [r for r in customer.items("/invoiceable-orders") if r["order_id"] == order_id]
        if rows and (reason == "any" or rows[0]["reason"] == reason):
            return rows[0]
        return None

    return testing.wait_for(found, timeout, 0.2, f"order {order_id} never listed ({reason})")


def apply(customer, order_id: str):
    return customer.post("/invoice-applications", {"order_ids": [order_id]},
                         headers={"Idempotency-Key": uuid.uuid4().hex})


def test_voucher_money_is_never_invoiceable(operator, customer):
    customer.complete_profile()
    account_id = customer.get("/account").json()["id"]
    operator.top_up(account_id, "100.00")
    give_voucher(operator, customer, "30.00")
    voucher_only = place(customer, "VM-S-1M", 1, "voucher")
    mixed = place(customer, "VM-S-1M", 1, "balance+voucher")  # 5.00 of voucher left, 20.00 cash

    row = row_of(customer, voucher_only["id"])
    assert (row["invoiceable"], row["reason"]) == (False, "order_paid_with_voucher")
    refused = apply(customer, voucher_only["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "order_paid_with_voucher")
    assert row_of(customer, mixed["id"])["invoiceable_amount"]["amount"] == "20.00"


def test_a_partially_failed_order_becomes_invoiceable_for_its_successful_part(operator, customer):
    customer.complete_profile()
    operator.top_up(customer.get("/account").json()["id"], "100.00")
    sku = sku_like(operator, price="10.00")  # 12.50 a unit with VAT
    rule(operator, sku, outcome="fail_units", failed_units=1, cancel_fails=True)
    order = place(customer, sku, 3)

    assert row_of(customer, order["id"])["reason"] == "order_implementation_failed"
    refused = apply(customer, order["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409, "order_implementation_failed")

    assert customer.post(f"/orders/{order['id']}/cancel").status_code == 200
    row = row_of(customer, order["id"], reason=None)
    assert (row["invoiceable"], row["invoiceable_amount"]["amount"]) == (True, "25.00")
    assert apply(customer, order["id"]).status_code == 201
