"""The place_order saga's decisions, one rule per test: billing's answer completes or cancels an
order, a timeout leaves it awaiting payment, a repeated request key resumes the same order,
billing's events and the reconciler settle what was left pending, and nothing happens twice."""

import uuid
from datetime import timedelta

import pytest
from service_fakes import charged
from sqlalchemy import func, select, update

from services.common.contracts import (
    ErrorOut,
    LedgerEntryOut,
    OrderCharged,
    OrderChargeRefused,
    utcnow,
)
from services.common.errors import (
    Conflict,
    InsufficientFunds,
    NotFound,
    ProductNotFound,
    ServiceTimeout,
    ServiceUnavailable,
)
from services.orders import repository
from services.orders.models import Order

ACCOUNT = "acc-" + "1" * 32
TWO_VMS = {"lines": [{"sku": "VM-S-1M", "quantity": 2}], "po_number": "PO-7"}
# 2 x 20.00 net + 25 % VAT
TWO_VMS_TOTAL = {"amount": "50.00", "currency": "EUR"}
FROM_BALANCE = {"payment_method": "balance"}


def insufficient() -> InsufficientFunds:
    return InsufficientFunds("the cash balance 0.00 EUR does not cover 50.00 EUR",
                             {"wallet": "cash", "balance": "0.00", "required": "50.00",
                              "currency": "EUR"})


def stored(orders_db, order_id: str) -> Order:
    with orders_db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None, "orders are never deleted"
        session.expunge(order)
        return order


def charge_bodies(billing) -> list[dict]:
    return [args[0] for args in billing.calls_of("charge_order")]


def only_order_id(billing) -> str:
    (order_id,) = {body["order_id"] for body in charge_bodies(billing)}
    return order_id


def backdate(orders_db, order_id: str, seconds: float) -> None:
    with orders_db.session() as session:
        session.execute(update(Order).where(Order.id == order_id)
                        .values(updated_at=utcnow() - timedelta(seconds=seconds)))
        session.commit()


def charged_event(order_id: str, account_id: str = ACCOUNT) -> dict:
    entry = charged({"account_id": account_id, "order_id": order_id, **TWO_VMS_TOTAL})
    return OrderCharged(entry=LedgerEntryOut.model_validate(entry), order_id=order_id).wire()


def refused_event(order_id: str, account_id: str = ACCOUNT) -> dict:
    refusal = insufficient()
    return OrderChargeRefused(
        order_id=order_id, account_id=account_id,
        error=ErrorOut(code=refusal.code, message=refusal.message, details=refusal.details),
    ).wire()


def pending_order(orders, billing) -> dict:
    """An order whose charge timed out: awaiting payment."""
    billing.will("charge_order", ServiceTimeout("billing.charge_order did not answer within 2 s"))
    answer = orders.place_order(ACCOUNT, TWO_VMS, f"key-{uuid.uuid4().hex}")
    assert answer["status"] == "awaiting_payment"
    return answer


# -- billing answers at once ----------------------------------------------------------------------


def test_a_charge_billing_confirms_completes_the_order_once_and_announces_it_once(
    orders, billing, outbox
):
    billing.always("charge_order", charged)

    answer = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert answer["status"] == "completed"
    assert answer["total"] == TWO_VMS_TOTAL
    assert answer["paid_cash"] == TWO_VMS_TOTAL
    assert [line["paid_cash"] for line in answer["lines"]] == [TWO_VMS_TOTAL]
    assert [line["implementation"] for line in answer["lines"]] == ["succeeded"]
    assert charge_bodies(billing) == [
        {"account_id": ACCOUNT, "order_id": answer["id"], **TWO_VMS_TOTAL, **FROM_BALANCE}]
    (announced,) = outbox.of_type("order_implemented")
    assert announced.type == "order_implemented"
    assert announced.wire()["order"] == answer

    again = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert again == answer
    assert len(billing.calls_of("charge_order")) == 1
    assert outbox.types() == ["order_placed", "order_implemented"]


def test_a_refused_charge_cancels_the_order_keeps_it_with_the_reason_and_a_repeat_is_refused_again(
    orders, orders_db, billing, outbox
):
    billing.will("charge_order", insufficient())

    with pytest.raises(InsufficientFunds) as refused:
        orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    order_id = only_order_id(billing)
    order = stored(orders_db, order_id)
    assert order.status == "cancelled"
    shown = orders.get_order(ACCOUNT, order_id)
    assert shown["status"] == "cancelled"
    assert shown["payment_refusal"]["code"] == "insufficient_funds"
    assert shown["payment_refusal"]["details"] == refused.value.details
    assert shown["paid_cash"] == {"amount": "0.00", "currency": "EUR"}
    assert outbox.types() == ["order_placed", "order_cancelled"]

    with pytest.raises(InsufficientFunds) as again:
        orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert (again.value.message, again.value.details) == (refused.value.message,
                                                         refused.value.details)
    assert len(billing.calls_of("charge_order")) == 1, "a repeat must not ask billing again"
    assert stored(orders_db, order_id).status == "cancelled"


@pytest.mark.parametrize("unknown", [
    ServiceTimeout("billing.charge_order did not answer within 2 s"),
    ServiceUnavailable("the billing service is not running"),
], ids=["timeout", "unavailable"])
def test_an_unknown_outcome_leaves_the_order_awaiting_payment_and_answers_it(
    orders, orders_db, billing, outbox, unknown
):
    billing.will("charge_order", unknown)

    answer = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert answer["status"] == "awaiting_payment"
    assert answer["payment_refusal"] is None
    assert answer["paid_cash"] == {"amount": "0.00", "currency": "EUR"}
    assert [line["paid_cash"] for line in answer["lines"]] == [{"amount": "0.00",
                                                                "currency": "EUR"}]
    assert [line["implementation"] for line in answer["lines"]] == ["pending"]
    assert answer["id"] == only_order_id(billing)
    order = stored(orders_db, answer["id"])
    assert (order.status, order.payment_refusal) == ("awaiting_payment", None)
    assert orders.get_order(ACCOUNT, answer["id"]) == answer
    assert outbox.types() == ["order_placed"]


def test_a_repeat_after_a_timeout_asks_billing_again_for_the_same_order_and_completes_it(
    orders, billing, outbox
):
    billing.will("charge_order", ServiceTimeout("no answer"), charged)
    first = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    again = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert again["id"] == first["id"]
    assert again["status"] == "completed"
    first_body, second_body = charge_bodies(billing)
    assert second_body == first_body == {"account_id": ACCOUNT, "order_id": first["id"],
                                         **TWO_VMS_TOTAL, **FROM_BALANCE}
    assert outbox.types() == ["order_placed", "order_implemented"]


def test_a_different_request_key_makes_a_new_order(orders, billing):
    billing.will("charge_order", ServiceTimeout("no answer"), charged)
    first = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    other = orders.place_order(ACCOUNT, TWO_VMS, "key-2")

    assert other["id"] != first["id"]
    assert [body["order_id"] for body in charge_bodies(billing)] == [first["id"], other["id"]]
    assert orders.get_order(ACCOUNT, first["id"])["status"] == "awaiting_payment"
    assert other["status"] == "completed"


def test_the_same_request_key_of_another_account_is_another_order(orders, billing):
    billing.always("charge_order", charged)
    mine = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    theirs = orders.place_order("acc-other", TWO_VMS, "key-1")

    assert theirs["id"] != mine["id"]
    assert theirs["account_id"] == "acc-other"


def test_a_refusal_other_than_funds_cancels_the_order_and_is_raised_as_a_conflict(
    orders, orders_db, billing
):
    # Billing answers NotFound (no such account): the order is cancelled and kept; the caller
    # gets the generic Conflict (refusal_of maps only insufficient_funds and
    # currency_not_supported to their own classes), with billing's message.
    billing.will("charge_order", NotFound("no such account", {"account_id": ACCOUNT}))

    with pytest.raises(Conflict) as refused:
        orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert refused.value.message == "no such account"
    order = stored(orders_db, only_order_id(billing))
    assert order.status == "cancelled"
    assert '"not_found"' in order.payment_refusal


# -- billing's events -----------------------------------------------------------------------------


def test_order_charged_for_a_pending_order_completes_it_and_announces_it(
    orders, orders_db, billing, outbox
):
    order_id = pending_order(orders, billing)["id"]

    orders.on_order_charged(charged_event(order_id))

    shown = orders.get_order(ACCOUNT, order_id)
    assert shown["status"] == "completed"
    assert shown["paid_cash"] == TWO_VMS_TOTAL
    (announced,) = outbox.of_type("order_implemented")
    assert announced.type == "order_implemented"
    assert announced.wire()["order"] == shown
    assert len(billing.calls_of("charge_order")) == 1


def test_order_charged_for_a_completed_order_changes_nothing(orders, orders_db, billing, outbox):
    billing.always("charge_order", charged)
    answer = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    orders.on_order_charged(charged_event(answer["id"]))

    assert orders.get_order(ACCOUNT, answer["id"]) == answer
    assert outbox.types() == ["order_placed", "order_implemented"]


def test_order_charge_refused_for_a_pending_order_cancels_it(orders, orders_db, billing, outbox):
    answer = pending_order(orders, billing)

    orders.on_order_charge_refused(refused_event(answer["id"]))

    shown = orders.get_order(ACCOUNT, answer["id"])
    assert shown["status"] == "cancelled"
    assert shown["payment_refusal"]["code"] == "insufficient_funds"
    assert outbox.types() == ["order_placed", "order_cancelled"]
    # and the client's retry of the same request now hears the refusal, without a new charge
    with pytest.raises(InsufficientFunds):
        orders.place_order(ACCOUNT, TWO_VMS, billing_key_of(orders_db, answer["id"]))
    assert len(billing.calls_of("charge_order")) == 1


def test_order_charge_refused_for_a_completed_order_changes_nothing(orders, billing, outbox):
    billing.always("charge_order", charged)
    answer = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    orders.on_order_charge_refused(refused_event(answer["id"]))

    assert orders.get_order(ACCOUNT, answer["id"]) == answer
    assert outbox.types() == ["order_placed", "order_implemented"]


def test_order_charged_for_a_cancelled_order_changes_nothing(orders, orders_db, billing, outbox):
    billing.will("charge_order", insufficient())
    with pytest.raises(InsufficientFunds):
        orders.place_order(ACCOUNT, TWO_VMS, "key-1")
    order_id = only_order_id(billing)
    before = orders.get_order(ACCOUNT, order_id)

    orders.on_order_charged(charged_event(order_id))

    assert orders.get_order(ACCOUNT, order_id) == before
    assert outbox.types() == ["order_placed", "order_cancelled"]


def billing_key_of(orders_db, order_id: str) -> str:
    return stored(orders_db, order_id).request_key


# -- the reconciler -------------------------------------------------------------------------------


def test_the_reconciler_settles_orders_left_awaiting_payment_by_billings_answer(
    orders, orders_db, billing, outbox
):
    old_paid = pending_order(orders, billing)["id"]
    old_refused = pending_order(orders, billing)["id"]
    old_unknown = pending_order(orders, billing)["id"]
    fresh = pending_order(orders, billing)["id"]
    billing.always("charge_order", charged)
    old_completed = orders.place_order(ACCOUNT, TWO_VMS, "key-completed")["id"]
    for order_id in (old_paid, old_refused, old_unknown, old_completed):
        backdate(orders_db, order_id, seconds=60)
    answers = {old_paid: charged, old_refused: insufficient(),
               old_unknown: ServiceTimeout("still no answer")}

    def by_order(data: dict) -> dict:
        answer = answers[data["order_id"]]
        if isinstance(answer, BaseException):
            raise answer
        return answer(data)

    before = len(billing.calls)
    billing.always("charge_order", by_order)
    outbox.events.clear()

    orders.reconcile_payments()

    asked = [args[0] for _, args in billing.calls[before:]]
    assert sorted(body["order_id"] for body in asked) == sorted(answers)
    for body in asked:
        assert body == {"account_id": ACCOUNT, "order_id": body["order_id"], **TWO_VMS_TOTAL,
                        **FROM_BALANCE}
    assert stored(orders_db, old_paid).status == "completed"
    assert stored(orders_db, old_refused).status == "cancelled"
    assert '"insufficient_funds"' in stored(orders_db, old_refused).payment_refusal
    assert stored(orders_db, old_unknown).status == "awaiting_payment"
    assert stored(orders_db, fresh).status == "awaiting_payment"
    assert stored(orders_db, old_completed).status == "completed"
    assert [evt.wire()["order"]["id"] for evt in outbox.of_type("order_implemented")] == [old_paid]
    assert [evt.wire()["order"]["id"] for evt in outbox.of_type("order_cancelled")] == [old_refused]
    assert len(outbox.events) == 2


def test_the_reconciler_leaves_fresh_orders_alone(orders, orders_db, billing):
    fresh = pending_order(orders, billing)["id"]
    calls = len(billing.calls)

    orders.reconcile_payments()

    assert len(billing.calls) == calls
    assert stored(orders_db, fresh).status == "awaiting_payment"


def test_a_second_reconciler_pass_does_not_charge_or_announce_again(orders, orders_db, billing,
                                                                   outbox):
    order_id = pending_order(orders, billing)["id"]
    backdate(orders_db, order_id, seconds=60)
    billing.always("charge_order", charged)
    orders.reconcile_payments()
    calls = len(billing.calls)

    orders.reconcile_payments()

    assert len(billing.calls) == calls
    assert outbox.types() == ["order_placed", "order_implemented"]


# -- creating --------------------------------------------------------------------------------------


def test_a_twin_request_that_loses_the_insert_race_resumes_the_winners_order(
    orders, orders_db, billing, outbox, monkeypatch
):
    # The twin checked for the key before the winner committed, so it inserts too and hits the
    # unique (account_id, request_key): it must resume the winner's order, not make another.
    billing.will("charge_order", ServiceTimeout("no answer"), charged)
    winner = orders.place_order(ACCOUNT, TWO_VMS, "key-1")
    real = repository.order_by_request
    looked = []

    def not_yet_committed(session, account_id, request_key):
        looked.append(request_key)
        return None if len(looked) == 1 else real(session, account_id, request_key)

    monkeypatch.setattr(repository, "order_by_request", not_yet_committed)

    twin = orders.place_order(ACCOUNT, TWO_VMS, "key-1")

    assert len(looked) == 2, "the twin must have hit the unique key and looked again"
    assert twin["id"] == winner["id"]
    assert twin["status"] == "completed"
    with orders_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
    assert [body["order_id"] for body in charge_bodies(billing)] == [winner["id"]] * 2
    assert outbox.types() == ["order_placed", "order_implemented"]


def test_an_unknown_product_makes_no_order_and_asks_nobody(orders, orders_db, billing, outbox):
    with pytest.raises(ProductNotFound):
        orders.place_order(ACCOUNT, {"lines": [{"sku": "NO-SUCH", "quantity": 1}]}, "key-1")

    with orders_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert billing.calls == []
    assert outbox.events == []
