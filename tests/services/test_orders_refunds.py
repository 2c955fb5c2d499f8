"""An operator's refund of implemented units (a later cancellation, a correction): what the
units paid goes back to the wallets it came from, the last unit exactly the rest; it is written
down before billing is asked, so a timeout leaves it pending until a repeat or the reconciler
asks again by the same key, and the money moves once; announced as ``order_refunded``."""

import uuid
from datetime import timedelta

import pytest
from service_fakes import charged
from sqlalchemy import update

from services.common.contracts import utcnow
from services.common.errors import Conflict, InvalidRequest, OrderNotCancellable, ServiceTimeout
from services.orders.models import OrderRefund

ACCOUNT = "acc-" + "7" * 32


def with_voucher(voucher: str):
    def answer(data: dict) -> dict:
        return {**charged(data), "voucher": {"amount": f"-{voucher}", "currency": "EUR"}}
    return answer


def completed(orders, billing, quantity: int = 3, voucher: str | None = None) -> dict:
    billing.always("charge_order", with_voucher(voucher) if voucher else charged)
    return orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": quantity}],
                                        "payment_method": "balance+voucher" if voucher else "balance"},
                              uuid.uuid4().hex)


def refund(orders, order_id: str, units: int, key: str | None = None) -> dict:
    return orders.refund_units(order_id, {"lines": [{"line_no": 1, "quantity": units}],
                                          "reason": "ended early"}, key or uuid.uuid4().hex)


def test_refunded_units_give_back_their_share_to_each_wallet_and_the_last_the_rest(
        orders, billing, outbox):
    order = completed(orders, billing, 3, voucher="10.00")  # 75.00: 10 voucher, 65 cash
    billing.always("refund", {})
    first = refund(orders, order["id"], 1)
    (line,) = first["lines"]
    assert (line["returned_quantity"], line["refunded_cash"]["amount"],
            line["refunded_voucher"]["amount"]) == (1, "21.67", "3.33")
    last = refund(orders, order["id"], 2)
    (line,) = last["lines"]
    assert (line["returned_quantity"], line["refunded_cash"]["amount"],
            line["refunded_voucher"]["amount"]) == (3, "65.00", "10.00")
    assert [(r[0]["cash"], r[0]["voucher"]) for r in billing.calls_of("refund")] == [
        ("21.67", "3.33"), ("43.33", "6.67")]
    told = outbox.of_type("order_refunded")[0]
    assert (told.reason, str(told.cash.amount), str(told.voucher.amount)) == (
        "ended early", "21.67", "3.33")
    with pytest.raises(InvalidRequest):
        refund(orders, order["id"], 1)  # nothing left to refund


def test_a_repeated_refund_moves_no_more_money(orders, billing, outbox):
    order = completed(orders, billing)
    billing.always("refund", {})
    key = uuid.uuid4().hex
    assert refund(orders, order["id"], 1, key) == refund(orders, order["id"], 1, key)
    assert len(billing.calls_of("refund")) == 1 and len(outbox.of_type("order_refunded")) == 1


def test_a_refund_billing_did_not_answer_stays_pending_until_asked_again_by_the_same_key(
        orders, billing, orders_db, outbox):
    order = completed(orders, billing)
    billing.will("refund", ServiceTimeout("billing is slow"), {})
    with pytest.raises(ServiceTimeout):
        refund(orders, order["id"], 1)
    assert orders.get_order(ACCOUNT, order["id"])["lines"][0]["returned_quantity"] == 0
    with pytest.raises(Conflict):  # one refund of an order at a time
        refund(orders, order["id"], 1)

    with orders_db.session() as session:
        session.execute(update(OrderRefund).values(created_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    billing.always("refund", {})
    orders.reconcile_payments()
    assert orders.get_order(ACCOUNT, order["id"])["lines"][0]["returned_quantity"] == 1
    first, second = billing.calls_of("refund")[:2]
    assert first == second  # the same refund id both times
    assert len(outbox.of_type("order_refunded")) == 1


def test_only_a_completed_order_is_refunded_by_units(orders, billing):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail", "cancel_fails": True})
    order = completed(orders, billing, 1)
    with pytest.raises(OrderNotCancellable):
        refund(orders, order["id"], 1)
