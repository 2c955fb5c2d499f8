"""The goods workflow through the orders service: a draft's lines change (stock checked again,
freed when removed), the cart's goods join it, it is sent for confirmation (confirmed by the
system, or left for a manager above a total), it is locked when sent for shipment (its shipment
created with a gap-free number), and nothing edits it after that."""

import uuid

import pytest
from service_fakes import Service

from services.common.config import Settings
from services.common.errors import (
    InsufficientStock,
    InvalidRequest,
    NotFound,
    OrderLocked,
    OrderNotEditable,
)
from services.orders.models import Shipment
from services.orders.service import OrdersService

ACCOUNT = "acc-" + "5" * 32
USER = "user-" + "5" * 31


def good(orders, sku: str, on_hand: int, price: str = "100.00") -> None:
    orders.create_product({"sku": sku, "name": sku, "kind": "goods", "vat_rate": "25",
                           "price": {"amount": price, "currency": "EUR"}})
    orders.set_stock(sku, on_hand)


def place(orders, *lines) -> dict:
    return orders.place_order(ACCOUNT, {"lines": [{"sku": s, "quantity": q} for s, q in lines]},
                              uuid.uuid4().hex)


def available(orders, sku: str) -> int:
    return orders.get_product(sku)["stock"]["available"]


def test_a_drafts_lines_change_with_stock_and_removal_frees_it(orders):
    good(orders, "G-A", 10)
    good(orders, "G-B", 3)
    order = place(orders, ("G-A", 4), ("G-B", 2))

    changed = orders.change_order_line(ACCOUNT, order["id"], 1, 12)
    assert (changed["lines"][0]["quantity"], changed["lines"][0]["approved_quantity"],
            changed["lines"][0]["rejection_reason"]) == (12, 10, "partly_in_stock")
    assert available(orders, "G-A") == 0
    smaller = orders.change_order_line(ACCOUNT, order["id"], "1", 6)
    assert smaller["lines"][0]["approved_quantity"] == 6 and available(orders, "G-A") == 4
    assert smaller["net"]["amount"] == "800.00"  # 6 + 2 approved at 100.00

    after = orders.remove_order_line(ACCOUNT, order["id"], 2)
    assert [line["sku"] for line in after["lines"]] == ["G-A"]
    assert available(orders, "G-B") == 3
    with pytest.raises(InvalidRequest):
        orders.remove_order_line(ACCOUNT, order["id"], 1)  # the last line
    with pytest.raises(NotFound):
        orders.change_order_line(ACCOUNT, order["id"], 9, 1)
    with pytest.raises(NotFound):
        orders.change_order_line("another-account", order["id"], 1, 1)


def test_the_carts_goods_join_a_draft_and_the_cart_is_emptied(orders):
    good(orders, "G-A", 10)
    good(orders, "G-C", 5)
    order = place(orders, ("G-A", 2))
    orders.add_to_cart(ACCOUNT, USER, "G-A", 3)
    orders.add_to_cart(ACCOUNT, USER, "G-C", 1)

    joined = orders.add_cart_to_order(ACCOUNT, USER, order["id"])

    assert [(ln["sku"], ln["quantity"], ln["approved_quantity"]) for ln in joined["lines"]] == [
        ("G-A", 5, 5), ("G-C", 1, 1)]
    assert orders.get_cart(USER)["items"] == []
    orders.add_to_cart(ACCOUNT, USER, "VM-S-1M", 1)
    with pytest.raises(InvalidRequest):
        orders.add_cart_to_order(ACCOUNT, USER, order["id"])


def test_confirmed_by_the_system_then_locked_by_sending_for_shipment(orders, orders_db):
    good(orders, "G-A", 10)
    order = place(orders, ("G-A", 2))
    with pytest.raises(OrderNotEditable):
        orders.send_for_shipment(ACCOUNT, order["id"])  # not confirmed yet

    confirmed = orders.send_for_confirmation(ACCOUNT, order["id"])
    assert (confirmed["status"], confirmed["confirmed_by"]) == ("confirmed", "system")
    edited = orders.change_order_line(ACCOUNT, order["id"], 1, 3)
    assert (edited["status"], edited["confirmed_by"]) == ("draft", None)
    orders.send_for_confirmation(ACCOUNT, order["id"])

    locked = orders.send_for_shipment(ACCOUNT, order["id"])
    again = orders.send_for_shipment(ACCOUNT, order["id"])

    assert locked["status"] == again["status"] == "sent_for_shipment"
    with pytest.raises(OrderLocked):
        orders.change_order_line(ACCOUNT, order["id"], 1, 1)
    with orders_db.session() as session:
        (shipment,) = session.query(Shipment).filter_by(order_id=order["id"]).all()
        assert (shipment.status, shipment.number[:9]) == ("to_warehouse", "SHP-2026-")


def test_a_manager_confirms_what_is_above_the_configured_total(orders_db, billing, outbox):
    settings = Settings(environment="test", orders_manager_confirmation="above:500")
    orders = Service(OrdersService, orders_db, billing=billing, outbox=outbox, settings=settings)
    good(orders, "G-A", 10)
    small, big = place(orders, ("G-A", 1)), place(orders, ("G-A", 5))  # 125.00 and 625.00

    assert orders.send_for_confirmation(ACCOUNT, small["id"])["status"] == "confirmed"
    waiting = orders.send_for_confirmation(ACCOUNT, big["id"])
    assert waiting["status"] == "awaiting_confirmation"
    with pytest.raises(OrderNotEditable):
        orders.send_for_shipment(ACCOUNT, big["id"])
    confirmed = orders.confirm_order(big["id"])
    assert (confirmed["status"], confirmed["confirmed_by"]) == ("confirmed", "manager")
    with pytest.raises(OrderNotEditable):  # a draft is not awaiting a manager
        orders.confirm_order(place(orders, ("G-A", 1))["id"])


def test_an_order_with_nothing_in_stock_cannot_be_confirmed_and_services_are_not_edited(
    orders, billing
):
    from service_fakes import charged

    good(orders, "G-Z", 0)
    empty = place(orders, ("G-Z", 2))
    with pytest.raises(InsufficientStock):
        orders.send_for_confirmation(ACCOUNT, empty["id"])
    billing.always("charge_order", charged)
    service = place(orders, ("VM-S-1M", 1))
    with pytest.raises(OrderNotEditable):
        orders.change_order_line(ACCOUNT, service["id"], 1, 2)


def test_stock_falling_takes_from_drafts_then_changes_the_most_recently_confirmed_order(orders):
    from services.common.errors import OrderChangedReconfirm

    good(orders, "G-S", 10)
    older, newer = place(orders, ("G-S", 4)), place(orders, ("G-S", 4))
    orders.send_for_confirmation(ACCOUNT, older["id"])
    orders.send_for_confirmation(ACCOUNT, newer["id"])
    draft = place(orders, ("G-S", 2))

    orders.set_stock("G-S", 5)  # 10 reserved, 5 on hand

    shown = {o["id"]: o for o in (orders.get_order(ACCOUNT, i) for i in
                                  (older["id"], newer["id"], draft["id"]))}
    assert (shown[draft["id"]]["status"], shown[draft["id"]]["lines"][0]["approved_quantity"]) == (
        "draft", 0)  # a draft gives its stock back first
    assert (shown[newer["id"]]["status"], shown[newer["id"]]["lines"][0]["approved_quantity"]) == (
        "changed", 1)
    assert (shown[older["id"]]["status"], shown[older["id"]]["lines"][0]["approved_quantity"]) == (
        "confirmed", 4)
    assert available(orders, "G-S") == 0
    with pytest.raises(OrderChangedReconfirm):
        orders.send_for_shipment(ACCOUNT, newer["id"])
    orders.set_stock("G-S", 9)
    reconfirmed = orders.send_for_confirmation(ACCOUNT, newer["id"])
    assert (reconfirmed["status"], reconfirmed["lines"][0]["approved_quantity"]) == ("confirmed", 4)
    assert orders.send_for_shipment(ACCOUNT, newer["id"])["status"] == "sent_for_shipment"


def test_a_new_price_changes_a_confirmed_order_but_not_a_locked_one(orders):
    good(orders, "G-P", 10, price="100.00")
    confirmed, locked = place(orders, ("G-P", 1)), place(orders, ("G-P", 1))
    for order in (confirmed, locked):
        orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.send_for_shipment(ACCOUNT, locked["id"])

    orders.update_product("G-P", {"name": "G-P", "kind": "goods", "vat_rate": "25",
                                  "price": {"amount": "120.00", "currency": "EUR"}})

    changed = orders.get_order(ACCOUNT, confirmed["id"])
    assert (changed["status"], changed["total"]["amount"]) == ("changed", "150.00")
    kept = orders.get_order(ACCOUNT, locked["id"])
    assert (kept["status"], kept["total"]["amount"]) == ("sent_for_shipment", "125.00")


def shipped_order(orders, *lines) -> tuple[dict, dict]:
    order = place(orders, *lines)
    orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.send_for_shipment(ACCOUNT, order["id"])
    (shipment,) = orders.list_shipments(ACCOUNT, order["id"])["items"]
    return order, shipment


def test_a_shipment_is_packed_by_units_per_box_then_shipped_as_a_realization(orders, outbox):
    orders.create_product({"sku": "G-BOX", "name": "Boxed", "kind": "goods", "vat_rate": "25",
                           "price": {"amount": "10.00", "currency": "EUR"}, "units_per_box": 4})
    orders.set_stock("G-BOX", 20)
    good(orders, "G-ONE", 5)
    order, shipment = shipped_order(orders, ("G-BOX", 10), ("G-ONE", 2))
    assert shipment["status"] == "to_warehouse"

    assembled = orders.set_shipment_status(shipment["id"], "assembled")
    assert [(b["number"], b["lines"][0]["sku"], b["lines"][0]["quantity"]) for b in assembled["boxes"]] == [
        (1, "G-BOX", 4), (2, "G-BOX", 4), (3, "G-BOX", 2), (4, "G-ONE", 2)]
    shipped = orders.set_shipment_status(shipment["id"], "shipped")
    again = orders.set_shipment_status(shipment["id"], "shipped")

    assert again == shipped and shipped["shipped_at"] is not None
    assert (shipped["total"]["amount"], [ln["quantity"] for ln in shipped["lines"]]) == ("375.00", [10, 2])
    assert orders.get_order(ACCOUNT, order["id"])["status"] == "shipped"
    steps = [e.shipment.status for e in outbox.of_type("shipment_status_changed")]
    assert steps == ["to_warehouse", "assembled", "shipped"]
    with pytest.raises(NotFound):
        orders.get_shipment("another-account", shipment["id"])


def test_boxes_an_operator_packs_must_hold_exactly_the_shipment(orders):
    good(orders, "G-A", 10)
    _, shipment = shipped_order(orders, ("G-A", 3))
    with pytest.raises(OrderNotEditable):
        orders.set_shipment_status(shipment["id"], "shipped")  # not assembled yet
    for boxes in ([{"number": 1, "lines": [{"sku": "G-A", "quantity": 2}]}],
                  [{"number": 1, "lines": [{"sku": "G-A", "quantity": 1}]},
                   {"number": 1, "lines": [{"sku": "G-A", "quantity": 2}]}]):
        with pytest.raises(InvalidRequest):
            orders.set_shipment_status(shipment["id"], "assembled", boxes)
    packed = orders.set_shipment_status(shipment["id"], "assembled", [
        {"number": 7, "lines": [{"sku": "G-A", "quantity": 1}]},
        {"number": 8, "lines": [{"sku": "G-A", "quantity": 2}]}])
    assert [b["number"] for b in packed["boxes"]] == [7, 8]


def test_merged_orders_become_one_draft_and_are_deleted_after_the_delay(orders):
    from datetime import timedelta

    from services.common.contracts import utcnow
    from services.common.errors import OrderNotMergeable

    good(orders, "G-M", 10)
    good(orders, "G-N", 10)
    first = orders.place_order(ACCOUNT, {"lines": [{"sku": "G-M", "quantity": 2}],
                                         "po_number": "PO-1"}, uuid.uuid4().hex)
    second = place(orders, ("G-N", 1), ("G-M", 3))
    key = uuid.uuid4().hex

    merged = orders.merge_orders(ACCOUNT, [first["id"], second["id"]], key)
    again = orders.merge_orders(ACCOUNT, [first["id"], second["id"]], key)

    assert again["id"] == merged["id"]
    assert [(ln["sku"], ln["quantity"], ln["approved_quantity"]) for ln in merged["lines"]] == [
        ("G-M", 5, 5), ("G-N", 1, 1)]
    assert (merged["status"], merged["po_number"]) == ("draft", "PO-1")
    assert available(orders, "G-M") == 5  # the stock moved, nothing reserved twice
    old = orders.get_order(ACCOUNT, first["id"])
    assert (old["status"], old["merged_into"]) == ("marked_for_deletion", merged["id"])
    with pytest.raises(OrderNotMergeable):
        orders.merge_orders(ACCOUNT, [first["id"], merged["id"]], uuid.uuid4().hex)

    soon = utcnow() + timedelta(seconds=299)
    assert orders.run_timers_at(soon.isoformat())["merged_deleted"] == 0
    later = utcnow() + timedelta(seconds=601)
    assert orders.run_timers_at(later.isoformat())["merged_deleted"] == 2
    assert orders.get_order(ACCOUNT, second["id"])["status"] == "deleted"
    assert orders.get_order(ACCOUNT, merged["id"])["status"] == "draft"


def test_a_manager_confirmed_order_not_shipped_within_retention_is_deleted_and_its_stock_returned(
    orders_db, billing, outbox
):
    from datetime import timedelta

    from services.common.contracts import utcnow

    settings = Settings(environment="test", orders_manager_confirmation="always")
    orders = Service(OrdersService, orders_db, billing=billing, outbox=outbox, settings=settings)
    good(orders, "G-R", 10)
    kept, forgotten = place(orders, ("G-R", 2)), place(orders, ("G-R", 3))
    for order in (kept, forgotten):
        orders.send_for_confirmation(ACCOUNT, order["id"])
        orders.confirm_order(order["id"])
    orders.send_for_shipment(ACCOUNT, kept["id"])

    ten_days = utcnow() + timedelta(days=10, seconds=1)
    assert orders.run_timers_at(ten_days.isoformat())["retention_deleted"] == 1
    assert orders.run_timers_at(ten_days.isoformat())["retention_deleted"] == 0
    assert orders.get_order(ACCOUNT, forgotten["id"])["status"] == "deleted"
    assert orders.get_order(ACCOUNT, kept["id"])["status"] == "sent_for_shipment"
    assert available(orders, "G-R") == 8


def test_an_order_keeps_every_status_it_has_had_and_operators_list_them(orders):
    good(orders, "G-H", 10)
    order = place(orders, ("G-H", 1))
    orders.send_for_confirmation(ACCOUNT, order["id"])
    orders.send_for_shipment(ACCOUNT, order["id"])

    shown = orders.get_order(ACCOUNT, order["id"])
    assert [step["status"] for step in shown["status_history"]] == [
        "draft", "confirmed", "sent_for_shipment"]
    queue = orders.list_all_orders("sent_for_shipment")["items"]
    assert order["id"] in [o["id"] for o in queue]
    assert orders.list_all_orders(None, "nobody")["items"] == []


def test_a_goods_order_given_up_before_shipment_returns_its_stock_and_a_sent_one_is_locked(
        orders, outbox):
    from services.common.errors import OrderNotCancellable

    good(orders, "G-GIVE-UP", 10)
    order = place(orders, ("G-GIVE-UP", 6))
    orders.send_for_confirmation(ACCOUNT, order["id"])
    assert available(orders, "G-GIVE-UP") == 4

    cancelled = orders.cancel_order(ACCOUNT, order["id"])
    assert (cancelled["status"], cancelled["lines"][0]["approved_quantity"]) == ("cancelled", 0)
    assert cancelled["lines"][0]["quantity"] == 6 and cancelled["total"]["amount"] == "0.00"
    assert available(orders, "G-GIVE-UP") == 10
    assert orders.cancel_order(None, order["id"]) == cancelled  # again, by an operator: the same
    assert [evt.reason for evt in outbox.of_type("order_cancelled")] == ["withdrawn"]
    with pytest.raises(OrderNotEditable):
        orders.change_order_line(ACCOUNT, order["id"], 1, 2)

    sent = place(orders, ("G-GIVE-UP", 2))
    orders.send_for_confirmation(ACCOUNT, sent["id"])
    orders.send_for_shipment(ACCOUNT, sent["id"])
    with pytest.raises(OrderLocked):
        orders.cancel_order(ACCOUNT, sent["id"])
    with pytest.raises(NotFound):
        orders.cancel_order("acc-someone-else", sent["id"])
    merged_away = [place(orders, ("G-GIVE-UP", 1))["id"] for _ in range(2)]
    orders.merge_orders(ACCOUNT, merged_away, uuid.uuid4().hex)
    with pytest.raises(OrderNotCancellable):  # marked for deletion: it is gone already
        orders.cancel_order(ACCOUNT, merged_away[0])
