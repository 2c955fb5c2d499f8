"""What happens when processes die or hang: nothing is lost, and callers get a clear answer."""

import signal
import uuid
from decimal import Decimal

from services.common import testing
from tests.e2e.test_credit_notes import cash, credit_notes, refund
from tests.e2e.test_invoice_amounts import give_profile, issue, new_customer

ORDER_EVENTS = "evt-orders-order_implemented--invoicing.on_order_implemented"


def vhost_of(product):
    return product.env["AMQP_URI"].rsplit("/", 1)[1]


def test_an_event_in_flight_when_invoicing_is_killed_still_makes_the_order_invoiceable(
    customer, operator, product
):
    operator.top_up(customer.get("/account").json()["id"], "40.00")
    product.kill("invoicing", signal.SIGSTOP)  # connected, takes the delivery, never acks
    try:
        order = customer.order()
        testing.wait_for(
            lambda: testing.queue_stats(vhost_of(product), ORDER_EVENTS)
            .get("messages_unacknowledged") == 1,
            30, 0.3, "the order_implemented event never reached invoicing",
        )
    finally:
        product.kill("invoicing", signal.SIGKILL)

    product.start("invoicing")
    product.wait_healthy("invoicing")
    row = customer.wait_invoiceable(order["id"])
    assert row["invoiceable_amount"]["amount"] == "25.00"
    assert [r["order_id"] for r in customer.items("/invoiceable-orders")] == [order["id"]]


def test_events_published_while_invoicing_is_down_are_applied_when_it_returns(
    customer, operator, product
):
    operator.top_up(customer.get("/account").json()["id"], "50.00")
    product.kill("invoicing", signal.SIGTERM)
    first, second = customer.order(), customer.order()
    product.start("invoicing")
    product.wait_healthy("invoicing")
    customer.wait_invoiceable(first["id"])
    customer.wait_invoiceable(second["id"])
    assert len(customer.items("/invoiceable-orders")) == 2


def test_a_service_that_does_not_answer_in_time_is_a_504(customer, product):
    # Its request queue outlives it, so calls wait there unanswered until the timeout.
    product.kill("billing", signal.SIGTERM)
    try:
        answer = customer.get("/account")
        assert answer.status_code == 504, answer.text
        assert answer.json()["error"]["code"] == "service_timeout"
        assert answer.json()["error"]["details"] == {"service": "billing"}
    finally:
        product.start("billing")
    product.wait_healthy("billing")
    assert customer.get("/account").status_code == 200


def test_health_reports_each_service(product):
    import httpx

    report = httpx.get(f"{product.url}/healthz", timeout=15).json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"broker", "billing", "orders", "invoicing", "documents"}


def test_no_service_blocked_its_eventlet_hub(product):
    for name in ("billing", "orders", "invoicing", "documents"):
        assert "Blocking detector ALARMED" not in product.log_tail(name, 100_000), name


def test_a_refund_billing_does_not_answer_is_made_once_when_billing_returns(product, operator):
    """billing paused past the timeout while an operator refunds a unit of an invoiced order:
    the answer is 504 and nothing is undone; once billing runs again the refund it took (and
    the reconciler's repeat of it, by the same key) moves the unit's cash back once, and the
    credit note follows."""
    customer = new_customer(product, operator, "100.00")
    give_profile(customer)
    order = customer.order("VM-S-1M", 3)  # 75.00: 25.00 left
    issue(customer, [order["id"]])
    product.kill("billing", signal.SIGSTOP)
    try:
        answer = refund(operator, order["id"], 1, uuid.uuid4().hex)
        assert answer.status_code == 504, answer.text
        assert answer.json()["error"]["code"] == "service_timeout"
    finally:
        product.kill("billing", signal.SIGCONT)

    def refunded() -> dict | None:
        line = customer.get(f"/orders/{order['id']}").json()["lines"][0]
        return line if line["returned_quantity"] == 1 else None

    line = testing.wait_for(refunded, 60, 0.5, "the pending refund was never completed")
    assert line["refunded_cash"]["amount"] == "25.00"
    (note,) = credit_notes(customer, 1)
    assert note["total"]["amount"] == "25.00"
    assert cash(customer) == Decimal("50.00")  # once, though billing was asked twice
