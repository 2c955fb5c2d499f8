"""Implementation through the provisioning simulator: every unit succeeding completes the
order (licences get keys); failed units make it partially failed or failed, and the failed part
is cancelled and refunded to the wallets it came from, exactly to the cent; a cancel the
simulator makes fail waits for a manual one; a refund billing has not confirmed is asked again;
provisioning that takes time runs after the answer (the order shows implementing)."""

import uuid
from datetime import timedelta

import pytest
from service_fakes import charged
from sqlalchemy import update

from services.common.contracts import utcnow
from services.common.errors import OrderNotCancellable, ServiceTimeout
from services.orders import domain
from services.orders.models import Order

ACCOUNT = "acc-" + "6" * 32


def with_voucher(voucher: str):
    def answer(data: dict) -> dict:
        return {**charged(data), "voucher": {"amount": f"-{voucher}", "currency": "EUR"}}
    return answer


def place(orders, *lines, method: str = "balance") -> dict:
    return orders.place_order(ACCOUNT, {"lines": [{"sku": s, "quantity": q} for s, q in lines],
                                        "payment_method": method}, uuid.uuid4().hex)


def test_every_unit_implemented_completes_the_order_and_a_licence_gets_its_key(orders, billing, outbox):
    billing.always("charge_order", charged)
    order = place(orders, ("LIC-SCHED-1Y", 1), ("VM-S-1M", 1))
    assert order["status"] == "completed"
    licence, vm = order["lines"]
    assert len(licence["licence_key"]) == 19 and vm["licence_key"] is None
    assert outbox.types().count("order_implemented") == 1


def test_failed_units_are_cancelled_and_refunded_to_each_wallet_to_the_cent(orders, billing, outbox):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail_units", "failed_units": 1})
    billing.always("charge_order", with_voucher("10.00")).always("refund", {})
    order = place(orders, ("VM-S-1M", 3), method="balance+voucher")  # 75.00: 10 voucher, 65 cash

    assert order["status"] == "partially_cancelled"
    (line,) = order["lines"]
    assert (line["implementation"], line["failed_quantity"]) == ("partially_failed", 1)
    # a third of 75.00 is 25.00: the voucher's third of 10.00 is 3.33, cash takes 21.67
    assert (line["refunded_voucher"]["amount"], line["refunded_cash"]["amount"]) == ("3.33", "21.67")
    (refund,) = billing.calls_of("refund")
    assert (refund[0]["refund_id"], refund[0]["cash"], refund[0]["voucher"]) == (
        f"order:{order['id']}:cancel", "21.67", "3.33")
    assert outbox.types().count("order_partially_failed") == 1
    assert outbox.types().count("order_cancelled") == 1


def test_a_wholly_failed_order_is_cancelled_with_everything_it_paid_refunded(orders, billing):
    orders.set_provisioning_rule("BACKUP-100G-1M", {"outcome": "fail"})
    billing.always("charge_order", with_voucher("5.00")).always("refund", {})
    order = place(orders, ("BACKUP-100G-1M", 2), method="balance+voucher")  # 12.50
    assert order["status"] == "cancelled"
    (refund,) = billing.calls_of("refund")
    assert (refund[0]["cash"], refund[0]["voucher"]) == ("7.50", "5.00")


def test_a_cancel_the_simulator_fails_waits_for_a_manual_one(orders, billing):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail", "cancel_fails": True})
    billing.always("charge_order", charged).always("refund", {})
    order = place(orders, ("VM-S-1M", 1))
    assert (order["status"], order["cancel_status"]) == ("failed", "blocked")
    assert billing.calls_of("refund") == []

    cancelled = orders.cancel_order(ACCOUNT, order["id"])
    again = orders.cancel_order(ACCOUNT, order["id"])
    assert cancelled["status"] == again["status"] == "cancelled"
    assert len(billing.calls_of("refund")) == 1
    with pytest.raises(OrderNotCancellable):
        orders.cancel_order(ACCOUNT, place(orders, ("LIC-SCHED-1Y", 1))["id"])


def test_a_refund_billing_did_not_confirm_is_asked_again_by_the_reconciler(orders, billing, orders_db):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail"})
    billing.always("charge_order", charged)
    billing.will("refund", ServiceTimeout("billing is slow"), {})
    order = place(orders, ("VM-S-1M", 1))
    assert (order["status"], order["cancel_status"]) == ("failed", "pending")

    with orders_db.session() as session:
        session.execute(update(Order).values(updated_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    orders.reconcile_payments()

    shown = orders.get_order(ACCOUNT, order["id"])
    assert (shown["status"], shown["cancel_status"]) == ("cancelled", "done")
    refunds = billing.calls_of("refund")
    assert len(refunds) == 2 and refunds[0] == refunds[1]  # the same refund id both times


def test_provisioning_that_takes_time_runs_after_the_answer(orders, billing, outbox):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "succeed", "delay_seconds": 0.1})
    billing.always("charge_order", charged)
    order = place(orders, ("VM-S-1M", 1))
    assert order["status"] == "implementing"
    (paid,) = outbox.of_type("order_paid")

    orders.on_order_paid(paid.wire())
    orders.on_order_paid(paid.wire())  # a redelivery

    assert orders.get_order(ACCOUNT, order["id"])["status"] == "completed"
    assert outbox.types().count("order_implemented") == 1


@pytest.mark.parametrize(("gross", "cash", "voucher", "quantity", "failed", "expected"), [
    (7500, 6500, 1000, 3, 1, (2167, 333)),
    (7500, 6500, 1000, 3, 3, (6500, 1000)),
    (1000, 0, 1000, 3, 1, (0, 333)),  # a voucher-paid line: the odd cent has no cash to go to
    (1001, 1001, 0, 2, 1, (501, 0)),  # half of 10.01 rounds half-up
    (2500, 2500, 0, 1, 0, (0, 0)),
])
def test_a_partial_refund_splits_exactly(gross, cash, voucher, quantity, failed, expected):
    assert domain.refund_of(gross, cash, voucher, quantity, failed) == expected


def test_a_paid_order_remembers_how_it_got_there(orders, billing):
    billing.always("charge_order", charged)
    order = place(orders, ("VM-S-1M", 1))
    assert [s["status"] for s in order["status_history"]] == ["awaiting_payment", "paid", "completed"]
