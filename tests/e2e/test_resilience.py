"""What happens when processes die or hang: nothing is lost, and callers get a clear answer."""

import signal

from services.common import testing

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
