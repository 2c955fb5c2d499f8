"""The cart through HTTP: items added and changed, an order form uploaded with good and bad
rows, an unreadable one refused, and checkout from the cart."""

import uuid


def upload(customer, content: bytes, name: str = "order.csv"):
    return customer.http.post("/cart/upload", headers=customer.headers(),
                              files={"file": (name, content, "text/csv")})


def test_an_order_form_fills_the_cart_and_checkout_orders_it(customer, operator):
    operator.top_up(customer.get("/account").json()["id"], "500.00")
    assert customer.post("/cart/items", {"sku": "VM-S-1M", "quantity": 1}).status_code == 200
    form = b"SKU,Quantity\nVM-S-1M,2\nNOPE,1\nLIC-SCHED-1Y,-1\n"

    result = upload(customer, form)

    assert result.status_code == 200, result.text
    assert result.json()["added"] == 1
    assert [(e["row"], e["reason"]) for e in result.json()["errors"]] == [
        (3, "product_not_found"), (4, "bad_quantity")]
    cart = customer.get("/cart").json()
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [("VM-S-1M", 3)]
    assert cart["totals"]["total"]["amount"] == "75.00"

    order = customer.post("/orders", {"from_cart": True, "po_number": "PO-CART-1"},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
    assert order.status_code == 201, order.text
    assert (order.json()["status"], order.json()["po_number"]) == ("completed", "PO-CART-1")
    assert customer.get("/cart").json()["items"] == []


def test_bad_cart_input_gets_its_code(customer):
    unreadable = upload(customer, b"\x00\x01binary", "x.csv")
    assert (unreadable.status_code, unreadable.json()["error"]["code"]) == (422, "order_form_unreadable")
    too_big = upload(customer, b"sku,quantity\n" + b"x" * (2 * 1024 * 1024))
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")
    missing = customer.http.patch("/cart/items/VM-S-1M", json={"quantity": 2}, headers=customer.headers())
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    for body in ({"sku": "VM-S-1M", "quantity": 0}, {"sku": "VM-S-1M", "quantity": "1"},
                 {"sku": "VM-S-1M"}):
        answer = customer.post("/cart/items", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "validation_error")
    empty = customer.post("/orders", {"from_cart": True})
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "invalid_request")
    both = customer.post("/orders", {"from_cart": True, "lines": [{"sku": "VM-S-1M", "quantity": 1}]})
    assert (both.status_code, both.json()["error"]["code"]) == (422, "validation_error")
    assert customer.http.delete("/cart", headers=customer.headers()).status_code == 204
