"""What the orders service tells and decides on its own: an order still unpaid after
``ORDERS_UNPAID_EXPIRY_SECONDS`` expires — billing decides at once whether it was paid after
all, and a billing that does not answer leaves the order waiting; every order is announced
when placed, and a refund when billing confirms it; the customer is mailed when the system
changes, a manager confirms, retention deletes, expiry cancels or a failure cancels an order;
and the provisioning simulator can be told about one order."""

import uuid
from datetime import timedelta

import pytest
from service_fakes import charged

from services.common.config import Settings
from services.common.contracts import (
    AccountRegistered,
    AccountSnapshot,
    LedgerEntryOut,
    OrderCharged,
    utcnow,
)
from services.common.errors import InvalidRequest, NotFound, OrderNotEditable, ServiceTimeout

ACCOUNT = str(uuid.uuid4())
EXPIRED = {"outcome": "expired", "error": {"code": "payment_expired",
                                           "message": "the order was not paid in time",
                                           "details": {}}}


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", rpc_timeout=4.0, inner_rpc_timeout=2.0,
                    orders_unpaid_expiry_seconds=3600, orders_manager_confirmation="always")


@pytest.fixture(autouse=True)
def known_account(orders):
    orders.on_account_registered(AccountRegistered(account=AccountSnapshot(
        account_id=ACCOUNT, company_name="Mail AB", email="owner@example.com", country="SE",
        organisation_number=None, language="en"), user_id="u1").wire())


def card_order(orders, billing, sku: str = "VM-S-1M", quantity: int = 1,
               key: str | None = None) -> dict:
    billing.always("create_card_payment", lambda *args: {"id": str(uuid.uuid4())})
    return orders.place_order(ACCOUNT, {"lines": [{"sku": sku, "quantity": quantity}],
                                        "payment_method": "card"}, key or uuid.uuid4().hex)


def an_hour_later() -> str:
    return (utcnow() + timedelta(hours=1, minutes=1)).isoformat()


def mails(outbox, template: str) -> list:
    return [m for m in outbox.of_type("mail_requested") if m.template == template]


def test_an_order_unpaid_past_the_expiry_time_is_cancelled_with_nothing_charged(
        orders, billing, outbox):
    key = uuid.uuid4().hex
    order = card_order(orders, billing, key=key)
    assert orders.run_timers_at((utcnow() + timedelta(minutes=59)).isoformat())["unpaid_expired"] == 0
    assert billing.calls_of("expire_order_payment") == []

    billing.always("expire_order_payment", EXPIRED)
    assert orders.run_timers_at(an_hour_later())["unpaid_expired"] == 1

    shown = orders.get_order(ACCOUNT, order["id"])
    assert (shown["status"], shown["payment_refusal"]["code"]) == ("cancelled", "payment_expired")
    assert (shown["paid_cash"]["amount"], shown["paid_voucher"]["amount"]) == ("0.00", "0.00")
    assert billing.calls_of("expire_order_payment") == [(ACCOUNT, order["id"], None)]
    (cancelled,) = outbox.of_type("order_cancelled")
    assert cancelled.reason == "payment_expired"
    (mail,) = mails(outbox, "order_status")
    assert mail.context["status"] == "expired"
    # the customer's retry of the same request answers the order, not an error
    again = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}],
                                         "payment_method": "card"}, key)
    assert (again["id"], again["status"]) == (order["id"], "cancelled")
    assert orders.run_timers_at(an_hour_later())["unpaid_expired"] == 0


def test_an_order_billing_says_was_charged_at_the_last_moment_is_implemented_not_expired(
        orders, billing, outbox):
    order = card_order(orders, billing, quantity=2)
    entry = charged({"account_id": ACCOUNT, "order_id": order["id"], "amount": "50.00",
                     "currency": "EUR"})
    billing.always("expire_order_payment", {"outcome": "charged", "entry": entry})

    assert orders.run_timers_at(an_hour_later())["unpaid_expired"] == 0

    shown = orders.get_order(ACCOUNT, order["id"])
    assert (shown["status"], shown["paid_cash"]["amount"]) == ("completed", "50.00")
    assert outbox.of_type("order_cancelled") == []


def test_a_wire_order_whose_invoice_was_paid_in_full_is_implemented_not_expired(orders, billing):
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}],
                                         "payment_method": "wire_transfer"}, uuid.uuid4().hex)
    billing.always("expire_order_payment", {"outcome": "paid"})

    orders.run_timers_at(an_hour_later())

    assert billing.calls_of("expire_order_payment") == [
        (ACCOUNT, order["id"], order["payment_invoice_id"])]
    assert orders.get_order(ACCOUNT, order["id"])["status"] == "completed"


def test_expiry_leaves_the_order_waiting_while_billing_does_not_answer(orders, billing, outbox):
    order = card_order(orders, billing)
    billing.will("expire_order_payment", ServiceTimeout("billing is slow"))

    assert orders.run_timers_at(an_hour_later())["unpaid_expired"] == 0
    assert orders.get_order(ACCOUNT, order["id"])["status"] == "awaiting_payment"

    billing.always("expire_order_payment", EXPIRED)  # the next pass asks again
    assert orders.run_timers_at(an_hour_later())["unpaid_expired"] == 1
    assert orders.get_order(ACCOUNT, order["id"])["status"] == "cancelled"


def test_a_placed_order_is_announced_and_a_confirmed_refund_too(orders, billing, outbox):
    orders.set_provisioning_rule("BACKUP-100G-1M", {"outcome": "fail_units", "failed_units": 1})
    billing.always("charge_order", charged).always("refund", {})
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "BACKUP-100G-1M", "quantity": 2}]},
                               uuid.uuid4().hex)

    (placed,) = outbox.of_type("order_placed")
    assert (placed.order.id, placed.order.status) == (order["id"], "awaiting_payment")
    (refunded,) = outbox.of_type("order_refunded")
    assert (refunded.refund_id, str(refunded.cash.amount), str(refunded.voucher.amount)) == (
        f"order:{order['id']}:cancel", "6.25", "0.00")
    (mail,) = mails(outbox, "order_status")
    assert (mail.context["status"], mail.context["refunded_cash"], mail.context["currency"]) == (
        "partially_cancelled", "6.25", "EUR")


def test_a_refused_payment_is_announced_as_a_cancel_without_an_expiry_mail(orders, billing, outbox):
    from services.common.errors import InsufficientFunds

    billing.always("charge_order", InsufficientFunds("no money", {"wallet": "cash"}))
    with pytest.raises(InsufficientFunds):
        orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}]},
                           uuid.uuid4().hex)
    (cancelled,) = outbox.of_type("order_cancelled")
    assert cancelled.reason == "payment_refused"
    assert mails(outbox, "order_status") == []


def goods_order(orders, sku: str, quantity: int) -> dict:
    return orders.place_order(ACCOUNT, {"lines": [{"sku": sku, "quantity": quantity}]},
                              uuid.uuid4().hex)


def test_the_customer_is_mailed_when_a_manager_confirms_and_when_the_system_changes_the_order(
        orders, outbox):
    orders.create_product({"sku": "G-MAIL", "name": "Cable", "kind": "goods", "vat_rate": "25",
                           "price": {"amount": "10.00", "currency": "EUR"}})
    orders.set_stock("G-MAIL", 10)
    order = goods_order(orders, "G-MAIL", 8)
    orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.confirm_order(order["id"])
    orders.confirm_order(order["id"])  # a repeat mails nothing more

    orders.set_stock("G-MAIL", 5)  # stock fell: the confirmed order is changed
    orders.set_stock("G-MAIL", 4)  # still changed: no second mail until confirmed again

    said = [(m.context["status"], m.mail_id) for m in mails(outbox, "order_status")]
    assert [status for status, _ in said] == ["confirmed", "changed"]
    changed = mails(outbox, "order_status")[1]
    assert "5 of 8 approved" in changed.context["lines"]

    orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.confirm_order(order["id"])
    orders.update_product("G-MAIL", {"name": "Cable", "kind": "goods", "vat_rate": "25",
                                     "price": {"amount": "12.00", "currency": "EUR"}})
    statuses = [m.context["status"] for m in mails(outbox, "order_status")]
    assert statuses == ["confirmed", "changed", "confirmed", "changed"]
    assert len({m.mail_id for m in mails(outbox, "order_status")}) == 4  # each a mail of its own


def test_an_order_deleted_by_retention_is_mailed(orders, outbox):
    orders.create_product({"sku": "G-KEEP", "name": "Rack", "kind": "goods", "vat_rate": "25",
                           "price": {"amount": "10.00", "currency": "EUR"}})
    orders.set_stock("G-KEEP", 10)
    order = goods_order(orders, "G-KEEP", 2)
    orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.confirm_order(order["id"])

    later = (utcnow() + timedelta(days=11)).isoformat()
    assert orders.run_timers_at(later)["retention_deleted"] == 1

    deleted = [m for m in mails(outbox, "order_status") if m.context["status"] == "deleted"]
    assert [m.context["retention_days"] for m in deleted] == ["10"]


def test_a_rule_for_one_order_wins_over_its_skus_rule(orders, billing, outbox):
    billing.always("create_card_payment", lambda *args: {"id": str(uuid.uuid4())})
    billing.always("refund", {})
    failing = card_order(orders, billing, sku="BACKUP-100G-1M", quantity=3)
    succeeding = card_order(orders, billing, sku="BACKUP-100G-1M", quantity=3)
    said = orders.set_order_provisioning_rule(failing["id"], {"outcome": "fail_units",
                                                              "failed_units": 2})
    assert (said["order_id"], said["sku"], said["failed_units"]) == (failing["id"], None, 2)

    for order in (failing, succeeding):
        entry = charged({"account_id": ACCOUNT, "order_id": order["id"], "amount": "18.75",
                         "currency": "EUR"})
        orders.on_order_charged(OrderCharged(entry=LedgerEntryOut.model_validate(entry),
                                             order_id=order["id"]).wire())

    shown = orders.get_order(ACCOUNT, failing["id"])
    assert (shown["status"], shown["lines"][0]["failed_quantity"]) == ("partially_cancelled", 2)
    assert orders.get_order(ACCOUNT, succeeding["id"])["status"] == "completed"


def test_the_simulator_is_told_about_an_order_only_before_it_is_paid(orders, billing):
    billing.always("charge_order", charged)
    paid = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}]},
                              uuid.uuid4().hex)
    with pytest.raises(OrderNotEditable):
        orders.set_order_provisioning_rule(paid["id"], {"outcome": "fail"})
    with pytest.raises(NotFound):
        orders.set_order_provisioning_rule(str(uuid.uuid4()), {"outcome": "fail"})
    waiting = card_order(orders, billing)
    with pytest.raises(InvalidRequest):
        orders.set_order_provisioning_rule(waiting["id"], {"outcome": "fail", "sku": "LIC-SCHED-1Y"})
    with pytest.raises(InvalidRequest):
        orders.set_order_provisioning_rule(waiting["id"], {"outcome": "explode"})


def test_operators_see_refunds_billing_has_not_confirmed_until_they_are(orders, billing):
    orders.set_provisioning_rule("VM-S-1M", {"outcome": "fail"})
    billing.always("charge_order", charged).will("refund", ServiceTimeout("billing is slow"))
    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 1}]},
                               uuid.uuid4().hex)
    assert (order["status"], order["cancel_status"]) == ("failed", "pending")

    pending = orders.list_all_orders(None, None, None, None, "pending")["items"]
    assert [o["id"] for o in pending] == [order["id"]]

    billing.always("refund", {})
    orders.cancel_order(ACCOUNT, order["id"])
    assert orders.list_all_orders(None, None, None, None, "pending")["items"] == []
    assert [o["id"] for o in orders.list_all_orders(None, None, None, None, "done")["items"]] == [
        order["id"]]
