"""The catalogue through the orders service: operators add and rewrite products of each kind
under the VAT and goods rules, count stock, and stop a product's sale; a goods order is checked
against stock line by line (approved, partly approved, rejected), reserves what it is given,
is a draft that nobody charges, and is priced on what was approved; goods are ordered apart
from services; a product no longer sold cannot be ordered."""

import uuid

import pytest

from services.common.errors import (
    InvalidRequest,
    NotFound,
    ProductInactive,
    ProductNotFound,
    ProductSkuTaken,
)

ACCOUNT = "acc-" + "2" * 32


def product(sku: str = "DISK-4T", kind: str = "goods", **extra) -> dict:
    return {"sku": sku, "name": "Disk 4 TB", "names": {"sv": "Disk 4 TB", "ru": "Диск 4 ТБ"},
            "kind": kind, "price": {"amount": "120.00", "currency": "EUR"}, "vat_category": "S",
            "vat_rate": "25", **extra}


def place(orders, *lines: tuple[str, int]) -> dict:
    return orders.place_order(ACCOUNT, {"lines": [{"sku": s, "quantity": q} for s, q in lines]},
                              uuid.uuid4().hex)


def stock(orders, sku: str) -> tuple[int, int]:
    shown = orders.get_product(sku)["stock"]
    return shown["on_hand"], shown["available"]


def test_an_operator_adds_a_good_with_its_packing_data_and_counts_its_stock(orders):
    made = orders.create_product(product(units_per_box=10, characteristics={"size": "3.5 in"},
                                         certificates=[{"name": "CE", "number": "CE-1"}]))
    assert (made["kind"], made["vat_rate"], made["stock"]) == ("goods", "25.00",
                                                               {"on_hand": 0, "available": 0})
    assert (made["names"]["ru"], made["units_per_box"], made["certificates"][0]["number"]) == (
        "Диск 4 ТБ", 10, "CE-1")
    assert orders.set_stock("DISK-4T", 30)["stock"] == {"on_hand": 30, "available": 30}
    with pytest.raises(ProductSkuTaken):
        orders.create_product(product())


def test_vat_categories_take_their_rates_and_only_goods_carry_packing_data(orders):
    with pytest.raises(InvalidRequest):
        orders.create_product(product("A", vat_category="S", vat_rate="0"))
    with pytest.raises(InvalidRequest):
        orders.create_product(product("B", vat_category="AE", vat_rate="25"))
    with pytest.raises(InvalidRequest):
        orders.create_product(product("C", kind="service", units_per_box=5))
    exempt = orders.create_product(product("D", kind="service", vat_category="E", vat_rate="0"))
    assert (exempt["vat_category"], exempt["vat_rate"], exempt["stock"]) == ("E", "0.00", None)
    with pytest.raises(InvalidRequest):
        orders.set_stock("D", 5)


def test_a_goods_order_is_approved_partly_approved_or_rejected_by_stock_and_reserves_it(orders, billing):
    orders.create_product(product("DISK-4T"))
    orders.create_product(product("FAN-80", name="Fan"))
    orders.set_stock("DISK-4T", 5)
    orders.set_stock("FAN-80", 0)

    order = place(orders, ("DISK-4T", 3), ("DISK-4T", 4), ("FAN-80", 2))

    lines = [(line["quantity"], line["approved_quantity"], line["rejection_reason"])
             for line in order["lines"]]
    assert lines == [(3, 3, None), (4, 2, "partly_in_stock"), (2, 0, "out_of_stock")]
    assert order["status"] == "draft"
    assert order["net"]["amount"] == "600.00"  # 5 approved disks, not what was asked
    assert order["paid_cash"]["amount"] == "0.00"
    assert billing.calls_of("charge_order") == []
    assert stock(orders, "DISK-4T") == (5, 0)
    assert place(orders, ("DISK-4T", 1))["lines"][0]["rejection_reason"] == "out_of_stock"


def test_goods_are_ordered_apart_from_services(orders):
    orders.create_product(product("DISK-4T"))
    with pytest.raises(InvalidRequest):
        place(orders, ("DISK-4T", 1), ("VM-S-1M", 1))


def test_a_product_no_longer_sold_is_listed_for_operators_only_and_cannot_be_ordered(orders):
    orders.create_product(product("OLD-1", kind="licence"))
    orders.update_product("OLD-1", {**product("OLD-1", kind="licence"), "active": False})
    assert "OLD-1" not in [p["sku"] for p in orders.list_products()]
    assert "OLD-1" in [p["sku"] for p in orders.list_products(True)]
    with pytest.raises(ProductInactive):
        place(orders, ("OLD-1", 1))
    with pytest.raises(NotFound):
        orders.update_product("NOPE", product("NOPE"))
    with pytest.raises(ProductNotFound):
        place(orders, ("NOPE", 1))


def test_a_good_whose_stock_is_reserved_stays_goods(orders):
    orders.create_product(product("DISK-4T"))
    orders.set_stock("DISK-4T", 5)
    place(orders, ("DISK-4T", 1))
    with pytest.raises(InvalidRequest):
        orders.update_product("DISK-4T", product("DISK-4T", kind="service"))


def test_the_demo_catalogue_has_every_kind(orders):
    kinds = {p["kind"] for p in orders.list_products()}
    assert kinds == {"service", "licence", "goods"}
