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
