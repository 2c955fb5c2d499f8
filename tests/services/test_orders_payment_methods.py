"""Paying an order by balance, voucher or both: the method goes to billing, and what the
voucher wallet paid is spread over the lines in order (each line in full before the next), so
every line's paid_cash + paid_voucher is its gross, to the cent."""

import uuid

from service_fakes import charged

from services.common.contracts import LedgerEntryOut, MoneyOut, OrderCharged, utcnow
from services.orders import domain

ACCOUNT = "acc-" + "4" * 32


def charged_with_voucher(voucher: str):
    def answer(data: dict) -> dict:
        entry = charged(data)
        return {**entry, "voucher": {"amount": f"-{voucher}", "currency": "EUR"}}
    return answer


def test_balance_plus_voucher_spends_the_voucher_wallet_first_line_by_line(orders, billing):
    billing.always("charge_order", charged_with_voucher("30.00"))
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1},  # 25.00
                                                   {"sku": "BACKUP-100G-1M", "quantity": 2}],  # 12.50
                                         "payment_method": "balance+voucher"}, uuid.uuid4().hex)

    (sent,) = billing.calls_of("charge_order")
    assert sent[0]["payment_method"] == "balance+voucher"
    assert order["status"] == "completed"
    assert [(line["paid_cash"]["amount"], line["paid_voucher"]["amount"]) for line in order["lines"]] == [
        ("0.00", "25.00"), ("7.50", "5.00")]
    assert (order["paid_cash"]["amount"], order["paid_voucher"]["amount"]) == ("7.50", "30.00")
    assert order["payment_method"] == "balance+voucher"
    assert orders.get_order(ACCOUNT, order["id"])["lines"] == order["lines"]


def test_a_voucher_order_paid_later_by_billings_event_keeps_its_split(orders, billing):
    from services.common.errors import ServiceTimeout

    billing.always("charge_order", ServiceTimeout("billing is slow"))
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 2}],
                                         "payment_method": "voucher"}, uuid.uuid4().hex)
    assert order["status"] == "awaiting_payment"
    entry = LedgerEntryOut(entry_id="e", account_id=ACCOUNT, kind="order_charge",
                           amount=MoneyOut(amount="50.00", currency="EUR"), reference="x",
                           balance=MoneyOut(amount="0.00", currency="EUR"), created_at=utcnow(),
                           cash=MoneyOut(amount="0.00", currency="EUR"),
                           voucher=MoneyOut(amount="-50.00", currency="EUR"))
    orders.on_order_charged(OrderCharged(entry=entry, order_id=order["id"]).wire())

    shown = orders.get_order(ACCOUNT, order["id"])
    assert (shown["status"], shown["paid_cash"]["amount"], shown["paid_voucher"]["amount"]) == (
        "completed", "0.00", "50.00")


def test_the_voucher_part_covers_lines_in_order_exactly():
    assert domain.split_lines([2500, 1250, 1250], 3000) == [(0, 2500), (750, 500), (1250, 0)]
    assert domain.split_lines([999, 1], 0) == [(999, 0), (1, 0)]
    assert domain.split_lines([999, 1], 1000) == [(0, 999), (0, 1)]


def test_a_card_order_waits_for_its_card_and_the_reconciler_never_charges_the_balance(
    orders, billing, orders_db
):
    from services.common.contracts import ErrorOut, OrderChargeRefused

    billing.always("create_card_payment", lambda *args: {"id": "card-1", "status": "pending"})
    key = uuid.uuid4().hex
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}],
                                         "payment_method": "card"}, key)
    again = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}],
                                         "payment_method": "card"}, key)

    assert (order["status"], order["card_payment_id"]) == ("awaiting_payment", "card-1")
    assert again["id"] == order["id"]
    (asked,) = billing.calls_of("create_card_payment")
    assert asked == (ACCOUNT, "25.00", "EUR", f"order:{order['id']}", None, order["id"])
    from sqlalchemy import update

    from services.common.contracts import utcnow as now
    from services.orders.models import Order
    with orders_db.session() as session:
        session.execute(update(Order).values(updated_at=now().replace(year=2020)))
        session.commit()
    orders.reconcile_payments()
    assert billing.calls_of("charge_order") == []

    orders.on_order_charge_refused(OrderChargeRefused(
        order_id=order["id"], account_id=ACCOUNT,
        error=ErrorOut(code="card_declined", message="the card was declined")).wire())
    shown = orders.get_order(ACCOUNT, order["id"])
    assert (shown["status"], shown["payment_refusal"]["code"]) == ("cancelled", "card_declined")


def test_a_wire_transfer_order_asks_for_its_payment_invoice_and_is_implemented_when_it_is_paid(
    orders, billing, outbox, orders_db
):
    from sqlalchemy import update

    from services.common.contracts import PayableOut, PaymentReceived
    from services.common.contracts import utcnow as now
    from services.orders.models import Order

    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "LIC-SCHED-1Y", "quantity": 1}],
                                         "payment_method": "wire_transfer"}, uuid.uuid4().hex)
    (asked,) = outbox.of_type("payment_invoice_requested")
    assert order["status"] == "awaiting_payment"
    assert asked.payment_invoice_id == order["payment_invoice_id"] is not None
    assert str(asked.order.total.amount) == "373.75"
    with orders_db.session() as session:
        session.execute(update(Order).values(updated_at=now().replace(year=2020)))
        session.commit()
    orders.reconcile_payments()
    assert billing.calls_of("charge_order") == []

    def received(status: str, paid: str) -> dict:
        total = MoneyOut(amount="373.75", currency="EUR")
        return PaymentReceived(
            entry=LedgerEntryOut(entry_id=str(uuid.uuid4()), account_id=ACCOUNT,
                                 kind="wire_payment", amount=MoneyOut(amount=paid, currency="EUR"),
                                 reference="x", balance=MoneyOut(amount="0.00", currency="EUR"),
                                 created_at=utcnow()),
            method="wire", payment_id="tx", payable=PayableOut(
                payment_invoice_id=order["payment_invoice_id"], account_id=ACCOUNT, number="PI-1",
                wire_reference="RF18539007547034", total=total,
                paid=MoneyOut(amount=paid, currency="EUR"),
                remaining=MoneyOut(amount="0.00", currency="EUR"), status=status, claim=True)).wire()

    orders.on_payment_received(received("open", "100.00"))  # a partial payment
    assert orders.get_order(ACCOUNT, order["id"])["status"] == "awaiting_payment"
    orders.on_payment_received(received("paid", "373.75"))
    orders.on_payment_received(received("paid", "373.75"))  # a redelivery
    done = orders.get_order(ACCOUNT, order["id"])
    assert (done["status"], done["paid_cash"]["amount"]) == ("completed", "373.75")
    assert done["lines"][0]["licence_key"]
