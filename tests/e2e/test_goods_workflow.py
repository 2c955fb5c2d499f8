"""The goods workflow through HTTP: a draft edited and filled from the cart, sent for
confirmation, confirmed by the system, locked by sending it for shipment; edits after that are
409 order_locked."""

import uuid


def test_a_goods_order_from_draft_to_shipment(operator, customer):
    sku = f"E2E-G-{uuid.uuid4().hex[:6].upper()}"
    assert operator.post("/admin/products", {
        "sku": sku, "name": "Rack rail kit", "kind": "goods", "vat_rate": "25",
        "price": {"amount": "40.00", "currency": "EUR"}, "units_per_box": 5}).status_code == 201
    operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 8}, headers=operator.headers())

    draft = customer.post("/orders", {"lines": [{"sku": sku, "quantity": 3}]},
                          headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    order_id, line_id = draft["id"], draft["lines"][0]["id"]
    changed = customer.http.patch(f"/orders/{order_id}/lines/{line_id}", json={"quantity": 5},
                                  headers=customer.headers())
    assert changed.status_code == 200, changed.text
    assert customer.post("/cart/items", {"sku": sku, "quantity": 2}).status_code == 200
    joined = customer.post(f"/orders/{order_id}/lines/from-cart")
    assert joined.json()["lines"][0]["approved_quantity"] == 7

    confirmed = customer.post(f"/orders/{order_id}/send-for-confirmation")
    assert (confirmed.json()["status"], confirmed.json()["confirmed_by"]) == ("confirmed", "system")
    locked = customer.post(f"/orders/{order_id}/send-for-shipment")
    assert locked.status_code == 200 and locked.json()["status"] == "sent_for_shipment"

    late = customer.http.patch(f"/orders/{order_id}/lines/{line_id}", json={"quantity": 1},
                               headers=customer.headers())
    assert (late.status_code, late.json()["error"]["code"]) == (409, "order_locked")
    late_cart = customer.http.delete(f"/orders/{order_id}/lines/{line_id}", headers=customer.headers())
    assert (late_cart.status_code, late_cart.json()["error"]["code"]) == (409, "order_locked")
    assert customer.post(f"/admin/orders/{order_id}/confirm").status_code == 403

    (shipment,) = customer.items(f"/shipments?order_id={order_id}")
    assert (shipment["status"], shipment["number"][:4]) == ("to_warehouse", "SHP-")
    assembled = operator.post(f"/admin/shipments/{shipment['id']}/status", {"status": "assembled"})
    assert assembled.status_code == 200, assembled.text
    assert [b["lines"][0]["quantity"] for b in assembled.json()["boxes"]] == [5, 2]  # 5 a box
    bad = operator.post(f"/admin/shipments/{shipment['id']}/status", {"status": "lost"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")
    shipped = operator.post(f"/admin/shipments/{shipment['id']}/status", {"status": "shipped"})
    assert shipped.json()["status"] == "shipped"
    assert customer.get(f"/orders/{order_id}").json()["status"] == "shipped"
    assert customer.get(f"/shipments/{shipment['id']}").json()["total"]["amount"] == "350.00"


def test_a_goods_order_cancelled_before_shipment_gives_its_stock_back(operator, customer):
    sku = f"E2E-G-{uuid.uuid4().hex[:6].upper()}"
    assert operator.post("/admin/products", {
        "sku": sku, "name": "Patch panel", "kind": "goods", "vat_rate": "25",
        "price": {"amount": "15.00", "currency": "EUR"}}).status_code == 201
    operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 5}, headers=operator.headers())

    def available() -> int:
        return next(p for p in customer.get("/products").json()["items"]
                    if p["sku"] == sku)["stock"]["available"]

    mine, theirs = (customer.post("/orders", {"lines": [{"sku": sku, "quantity": 2}]},
                                  headers={"Idempotency-Key": uuid.uuid4().hex}).json()
                    for _ in range(2))
    assert available() == 1
    assert customer.post(f"/orders/{mine['id']}/cancel").json()["status"] == "cancelled"
    by_operator = operator.post(f"/admin/orders/{theirs['id']}/cancel")
    assert by_operator.status_code == 200, by_operator.text
    assert available() == 5
    assert customer.post(f"/admin/orders/{theirs['id']}/cancel").status_code == 403
