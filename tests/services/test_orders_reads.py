"""Orders' one-query reads: ``get_order`` and ``list_orders`` build the order from joined rows
without the ORM, and must answer exactly what ``place_order`` answered for the same order;
lists walk newest first through opaque cursors."""

import base64
import json

import pytest
from service_fakes import charged
from sqlalchemy import update

from services.common.contracts import utcnow
from services.common.errors import InvalidRequest, NotFound, ServiceTimeout
from services.orders.models import Order

ACCOUNT = "acc-" + "2" * 32
MIXED = {"lines": [{"sku": "VM-S-1M", "quantity": 3}, {"sku": "BACKUP-100G-1M", "quantity": 1},
                   {"sku": "LIC-SCHED-1Y", "quantity": 2}], "po_number": None}
ONE_VM = {"lines": [{"sku": "VM-S-1M", "quantity": 1}]}


def newest_first(answers: list[dict]) -> list[dict]:
    return sorted(answers, key=lambda order: (order["created_at"], order["id"]), reverse=True)


def walk(orders, limit: int) -> tuple[list[dict], int]:
    """Every order of ACCOUNT, page by page; and the number of pages."""
    items: list[dict] = []
    cursor, pages = None, 0
    while True:
        page = orders.list_orders(ACCOUNT, limit=limit, cursor=cursor)
        pages += 1
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50, "the cursor does not advance"


def test_get_order_answers_what_place_order_answered(orders, billing):
    billing.will("charge_order", charged, ServiceTimeout("no answer"))
    completed = orders.place_order(ACCOUNT, MIXED, "key-completed")
    pending = orders.place_order(ACCOUNT, {**MIXED, "po_number": "PO-9"}, "key-pending")

    assert (completed["status"], pending["status"]) == ("completed", "awaiting_payment")
    assert len(completed["lines"]) == 3
    assert orders.get_order(ACCOUNT, completed["id"]) == completed
    assert orders.get_order(ACCOUNT, pending["id"]) == pending


def test_list_orders_answers_what_place_order_answered(orders, billing):
    billing.will("charge_order", charged, ServiceTimeout("no answer"), charged)
    answers = [orders.place_order(ACCOUNT, MIXED, f"key-{n}") for n in range(3)]

    page = orders.list_orders(ACCOUNT)

    assert page == {"items": newest_first(answers), "next_cursor": None}


def test_another_accounts_order_is_not_found(orders, billing):
    billing.always("charge_order", charged)
    mine = orders.place_order(ACCOUNT, ONE_VM, "key-1")

    with pytest.raises(NotFound):
        orders.get_order("acc-someone-else", mine["id"])
    with pytest.raises(NotFound):
        orders.get_order(ACCOUNT, "no-such-order")
    assert orders.list_orders("acc-someone-else") == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
def test_paging_walks_every_order_newest_first_without_repeats(orders, billing, limit):
    billing.always("charge_order", charged)
    answers = [orders.place_order(ACCOUNT, MIXED if n % 2 else ONE_VM, f"key-{n}")
               for n in range(7)]
    orders.place_order("acc-someone-else", ONE_VM, "key-0")

    items, pages = walk(orders, limit)

    assert [item["id"] for item in items] == [order["id"] for order in newest_first(answers)]
    assert items == newest_first(answers)
    assert pages == max(1, -(-len(answers) // limit))


def test_orders_created_in_the_same_instant_are_paged_by_id(orders, orders_db, billing):
    billing.always("charge_order", charged)
    ids = [orders.place_order(ACCOUNT, ONE_VM, f"key-{n}")["id"] for n in range(5)]
    with orders_db.session() as session:
        session.execute(update(Order).values(created_at=utcnow()))
        session.commit()

    items, _ = walk(orders, 2)

    assert [item["id"] for item in items] == sorted(ids, reverse=True)


@pytest.mark.parametrize("cursor", [
    "garbage",
    "!!!",
    "é",
    base64.urlsafe_b64encode(b"not json").decode(),
    base64.urlsafe_b64encode(json.dumps(["yesterday", "x"]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps([1, 2]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2024-01-01T00:00:00+00:00", "x", 3]).encode()).decode(),
])
def test_a_garbage_cursor_is_an_invalid_request(orders, cursor):
    with pytest.raises(InvalidRequest) as invalid:
        orders.list_orders(ACCOUNT, limit=2, cursor=cursor)
    assert invalid.value.details == {"field": "cursor"}


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_a_limit_out_of_range_is_an_invalid_request(orders, limit):
    with pytest.raises(InvalidRequest):
        orders.list_orders(ACCOUNT, limit=limit)
