"""Order and shipment mails, read back from the SMTP sink: a placed order is confirmed in the
account's language, licence keys are delivered when the order is implemented (also with
notifications off), shipment steps are told, and notifications off silences status mails."""

import time
import uuid

from services.common import testing
from tests.e2e.conftest import Api


def subjects(product, email: str, count: int) -> list[str]:
    return [str(m["Subject"]) for m in product.mail.wait_for_mail(email, count)]


def place(customer, sku: str, quantity: int = 1) -> dict:
    answer = customer.post("/orders", {"lines": [{"sku": sku, "quantity": quantity}]},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_licence_order_is_confirmed_and_its_keys_delivered_in_the_accounts_language(
    product, operator
):
    customer = Api(product.url, product.mail)
    email = customer.register("Nyckel AB", language="sv")["email"]
    operator.top_up(customer.get("/account").json()["id"], "1000.00")

    order = place(customer, "LIC-SCHED-1Y")

    mails = product.mail.wait_for_mail(email, 3)  # verification, placed, licence keys
    placed = next(m for m in mails if "är lagd" in str(m["Subject"]))
    keys = next(m for m in mails if "licensnycklar" in str(m["Subject"]))
    assert "LIC-SCHED-1Y" in testing.text_of(placed)
    assert order["lines"][0]["licence_key"] in testing.text_of(keys)


def test_shipment_steps_are_mailed_and_notifications_off_keeps_only_deliveries(product, operator):
    customer = Api(product.url, product.mail)
    email = customer.register("Shipping Ltd")["email"]
    sku = f"E2E-M-{uuid.uuid4().hex[:6].upper()}"
    operator.post("/admin/products", {"sku": sku, "name": "Mailed good", "kind": "goods",
                                      "vat_rate": "25", "price": {"amount": "5.00", "currency": "EUR"}})
    operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 10}, headers=operator.headers())
    order = place(customer, sku, 2)
    customer.post(f"/orders/{order['id']}/send-for-confirmation")
    customer.post(f"/orders/{order['id']}/send-for-shipment")
    (shipment,) = customer.items(f"/shipments?order_id={order['id']}")
    operator.post(f"/admin/shipments/{shipment['id']}/status", {"status": "assembled"})

    said = subjects(product, email, 4)  # verification, placed, to the warehouse, assembled
    assert any("is placed" in s for s in said)
    assert any(shipment["number"] in s and "warehouse" in s for s in said)
    assert any(shipment["number"] in s and "assembled" in s for s in said)

    off = customer.http.put("/account/notifications", json={"enabled": False}, headers=customer.headers())
    assert off.status_code == 200, off.text
    operator.top_up(customer.get("/account").json()["id"], "500.00")
    time.sleep(1.5)  # the profile change reaches the orders service
    licence = place(customer, "LIC-SCHED-1Y")
    key = licence["lines"][0]["licence_key"]
    testing.wait_for(lambda: any(key in testing.text_of(m) for m in product.mail.to(email)), 20,
                     0.2, "the licence keys were not delivered")  # a delivery goes
    time.sleep(1)
    assert len(product.mail.to(email)) == 5  # but no "placed" mail for it
