"""Stock on PostgreSQL: many goods orders racing for the last units never reserve more than is
on hand, and each is told what it got."""

import uuid

import eventlet

from services.orders.service import OrdersService


def test_concurrent_orders_for_the_last_units_never_oversell(run_services, rpc, rpc_factory):
    run_services(OrdersService)
    sku = f"LAST-{uuid.uuid4().hex[:8].upper()}"
    rpc.orders.create_product({"sku": sku, "name": "Last units", "kind": "goods",
                               "price": {"amount": "10.00", "currency": "EUR"},
                               "vat_category": "S", "vat_rate": "25"})
    rpc.orders.set_stock(sku, 7)

    def order(quantity: int) -> int:
        placed = rpc_factory().orders.place_order(
            str(uuid.uuid4()), {"lines": [{"sku": sku, "quantity": quantity}]}, uuid.uuid4().hex)
        return placed["lines"][0]["approved_quantity"]

    approved = list(eventlet.GreenPool(20).imap(order, [1, 2, 3] * 7))

    assert sum(approved) == 7
    assert rpc.orders.get_product(sku)["stock"] == {"on_hand": 7, "available": 0}


def test_timers_on_two_replicas_return_an_expired_orders_stock_once(run_services, rpc, rpc_factory,
                                                                     monkeypatch):
    from datetime import timedelta

    from services.common.contracts import utcnow

    monkeypatch.setenv("ORDERS_MANAGER_CONFIRMATION", "always")
    monkeypatch.setenv("ORDERS_TIMER_INTERVAL", "3600")  # only the calls below run them
    run_services(OrdersService, OrdersService)
    sku = f"RET-{uuid.uuid4().hex[:8].upper()}"
    rpc.orders.create_product({"sku": sku, "name": "Retained", "kind": "goods",
                               "price": {"amount": "10.00", "currency": "EUR"}, "vat_rate": "25"})
    rpc.orders.set_stock(sku, 100)
    account = str(uuid.uuid4())
    for _ in range(20):
        order = rpc.orders.place_order(account, {"lines": [{"sku": sku, "quantity": 5}]},
                                       uuid.uuid4().hex)
        rpc.orders.send_for_confirmation(account, order["id"])
        rpc.orders.confirm_order(order["id"])
    assert rpc.orders.get_product(sku)["stock"]["available"] == 0
    later = (utcnow() + timedelta(days=11)).isoformat()

    runs = list(eventlet.GreenPool(8).imap(
        lambda _: rpc_factory().orders.run_timers_at(later)["retention_deleted"], range(8)))

    assert sum(runs) >= 20  # other tests' orders may be among them; ours once each
    assert rpc.orders.get_product(sku)["stock"] == {"on_hand": 100, "available": 100}


def test_unpaid_orders_expire_once_with_timers_racing_on_two_replicas(run_services, rpc, rpc_factory,
                                                                     monkeypatch, database_urls):
    """Eight timer passes at once on two orders replicas, against billing: every unpaid card
    order expires exactly once (one transition, one ``order_cancelled``), its card payment is
    withdrawn, and nothing is charged."""
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from services.billing.service import BillingService
    from services.common.contracts import utcnow
    from services.common.db import make_engine
    from services.orders.models import Order, OutboxMessage

    monkeypatch.setenv("ORDERS_TIMER_INTERVAL", "3600")  # only the calls below run them
    run_services(OrdersService, OrdersService, BillingService)
    account = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw",
        "country": "SE", "company_name": "Unpaid AB"})["account_id"]
    sku = f"UNPAID-{uuid.uuid4().hex[:8].upper()}"
    rpc.orders.create_product({"sku": sku, "name": "Unpaid VM", "kind": "service",
                               "price": {"amount": "10.00", "currency": "EUR"}, "vat_rate": "25"})
    placed = [rpc.orders.place_order(account, {"lines": [{"sku": sku, "quantity": 1}],
                                               "payment_method": "card"}, uuid.uuid4().hex)
              for _ in range(10)]
    later = (utcnow() + timedelta(days=15)).isoformat()

    list(eventlet.GreenPool(8).imap(lambda _: rpc_factory().orders.run_timers_at(later), range(8)))

    ids = [order["id"] for order in placed]
    engine = make_engine(database_urls["orders"])
    with Session(engine) as session:
        statuses = set(session.scalars(select(Order.status).where(Order.id.in_(ids))))
        cancels = [body for body in session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.event_type == "order_cancelled"))
            if any(order_id in body for order_id in ids)]
    engine.dispose()
    assert statuses == {"cancelled"}
    assert len(cancels) == len(ids)  # one announcement each, however many passes raced
    for order in placed:
        payment = rpc.billing.get_card_payment(account, order["card_payment_id"])
        assert payment["status"] == "cancelled"
    assert rpc.billing.get_account(account)["cash_balance"]["amount"] == "0.00"
