"""The catalogue through HTTP: operators add, rewrite and stock products; the public catalogue
shows each kind with its VAT and, for goods, the stock available; a goods order through
POST /orders is checked against stock and left a draft; bad product input gets its code."""

import uuid

import httpx


def new_sku() -> str:
    return f"E2E-{uuid.uuid4().hex[:8].upper()}"


def good(sku: str, **extra) -> dict:
    return {"sku": sku, "name": "Switch 24 ports", "names": {"sv": "Switch 24 portar"},
            "kind": "goods", "price": {"amount": "350.00", "currency": "EUR"},
            "vat_category": "S", "vat_rate": "25", "units_per_box": 4,
            "characteristics": {"ports": "24"}, **extra}


def test_an_operator_stocks_a_good_the_catalogue_shows_it_and_an_order_reserves_it(
    product, operator, customer
):
    sku = new_sku()
    made = operator.post("/admin/products", good(sku))
    assert made.status_code == 201, made.text
    stocked = operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 3},
                                headers=operator.headers())
    assert stocked.json()["stock"] == {"on_hand": 3, "available": 3}

    listed = {p["sku"]: p for p in httpx.get(product.url + "/api/v1/products").json()["items"]}
    assert (listed[sku]["stock"], listed[sku]["units_per_box"], listed[sku]["names"]["sv"]) == (
        {"on_hand": 3, "available": 3}, 4, "Switch 24 portar")
    assert {p["kind"] for p in listed.values()} >= {"service", "licence", "goods"}

    order = customer.post("/orders", {"lines": [{"sku": sku, "quantity": 5}]},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
    assert order.status_code == 201, order.text
    (line,) = order.json()["lines"]
    assert (order.json()["status"], line["approved_quantity"], line["rejection_reason"]) == (
        "draft", 3, "partly_in_stock")
    after = {p["sku"]: p for p in operator.items("/admin/products")}
    assert after[sku]["stock"] == {"on_hand": 3, "available": 0}


def test_a_product_no_longer_sold_leaves_the_catalogue_and_cannot_be_ordered(product, operator, customer):
    sku = new_sku()
    operator.post("/admin/products", good(sku))
    stopped = operator.http.put(f"/admin/products/{sku}", json={
        **{k: v for k, v in good(sku).items() if k != "sku"}, "active": False},
        headers=operator.headers())
    assert stopped.status_code == 200 and stopped.json()["active"] is False
    assert sku not in [p["sku"] for p in httpx.get(product.url + "/api/v1/products").json()["items"]]
    order = customer.post("/orders", {"lines": [{"sku": sku, "quantity": 1}]})
    assert (order.status_code, order.json()["error"]["code"]) == (422, "product_inactive")


def test_bad_product_input_gets_its_code_and_customers_cannot_write_the_catalogue(operator, customer):
    sku = new_sku()
    cases = [
        good(sku, price={"amount": 350, "currency": "EUR"}),  # money as a number
        good(sku.lower()),
        good(sku, vat_category="Z"),  # a zero-rated product at 25 %
        good(sku, kind="service"),  # a service with units per box
        good(sku, units_per_box=True),
    ]
    answers = [operator.post("/admin/products", body) for body in cases]
    assert [a.status_code for a in answers] == [422] * len(cases), [a.text for a in answers]
    assert all(a.json()["error"]["code"] in ("validation_error", "invalid_request") for a in answers)
    assert operator.post("/admin/products", good(sku)).status_code == 201
    taken = operator.post("/admin/products", good(sku))
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "product_sku_taken")
    missing = operator.http.put("/admin/products/NO-SUCH/stock", json={"on_hand": 1},
                                headers=operator.headers())
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert customer.post("/admin/products", good(new_sku())).status_code == 403
