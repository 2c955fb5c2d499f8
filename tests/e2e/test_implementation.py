"""Implementation through HTTP and the real billing: a partially failed order paid by balance
and voucher gets its failed units refunded to each wallet to the cent; a failing automatic
cancel leaves the order for a manual cancel; slow provisioning shows implementing first; a
licence key is on the completed order."""

import uuid
from datetime import date, timedelta

from services.common import testing


def sku_like(operator, kind: str = "service", price: str = "20.00") -> str:
    sku = f"E2E-P-{uuid.uuid4().hex[:6].upper()}"
    made = operator.post("/admin/products", {"sku": sku, "name": "Provisioned", "kind": kind,
                                             "vat_rate": "25",
                                             "price": {"amount": price, "currency": "EUR"}})
    assert made.status_code == 201, made.text
    return sku


def rule(operator, sku: str, **body) -> None:
    answer = operator.http.put(f"/admin/provisioning-simulator/{sku}", json=body,
                               headers=operator.headers())
    assert answer.status_code == 200, answer.text


def wallets(customer) -> tuple[str, str]:
    shown = customer.get("/account").json()
    return shown["cash_balance"]["amount"], shown["voucher_balance"]["amount"]


def place(customer, sku: str, quantity: int, method: str = "balance") -> dict:
    answer = customer.post("/orders", {"lines": [{"sku": sku, "quantity": quantity}],
                                       "payment_method": method},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_failed_units_come_back_to_each_wallet_to_the_cent(operator, customer):
    sku = sku_like(operator)
    rule(operator, sku, outcome="fail_units", failed_units=1)
    operator.top_up(customer.get("/account").json()["id"], "100.00")
    voucher = operator.post("/admin/vouchers", {
        "amount": {"amount": "10.00", "currency": "EUR"},
        "expires_on": (date.today() + timedelta(days=5)).isoformat(), "uses": 1}).json()["code"]
    customer.post("/account/vouchers/redeem", {"code": voucher})

    order = place(customer, sku, 3, "balance+voucher")  # 75.00: 10.00 voucher, 65.00 cash

    assert order["status"] == "partially_cancelled"
    assert wallets(customer) == ("56.67", "3.33")  # 35.00 + 21.67 back; 0 + 3.33 back


def test_a_failing_automatic_cancel_leaves_the_order_for_a_manual_cancel(operator, customer):
    sku = sku_like(operator)
    rule(operator, sku, outcome="fail", cancel_fails=True)
    operator.top_up(customer.get("/account").json()["id"], "50.00")
    order = place(customer, sku, 1)
    assert (order["status"], order["cancel_status"], wallets(customer)[0]) == ("failed", "blocked", "25.00")

    cancelled = customer.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert wallets(customer)[0] == "50.00"
    again = customer.post(f"/orders/{order['id']}/cancel")
    assert again.status_code == 200 and wallets(customer)[0] == "50.00"


def test_slow_provisioning_shows_implementing_and_a_licence_gets_its_key(operator, customer):
    sku = sku_like(operator, kind="licence")
    rule(operator, sku, outcome="succeed", delay_seconds=1)
    operator.top_up(customer.get("/account").json()["id"], "50.00")
    order = place(customer, sku, 1)
    assert order["status"] == "implementing"

    def completed() -> dict | None:
        shown = customer.get(f"/orders/{order['id']}").json()
        return shown if shown["status"] == "completed" else None

    done = testing.wait_for(completed, 20, 0.2, "the slow implementation never finished")
    assert len(done["lines"][0]["licence_key"]) == 19


def test_one_orders_simulator_rule_fails_it_while_the_same_product_succeeds_elsewhere(
        operator, customer):
    import httpx

    sku = sku_like(operator)
    failing, succeeding = place(customer, sku, 2, "card"), place(customer, sku, 2, "card")
    told = operator.http.put(f"/admin/provisioning-simulator/orders/{failing['id']}",
                             json={"outcome": "fail_units", "failed_units": 1},
                             headers=operator.headers())
    assert told.status_code == 200, told.text
    for order in (failing, succeeding):
        paid = httpx.post(order["pay_url"], json={"card_number": "4242424242424242",
                                                  "expiry": "12/30", "cvc": "123"})
        assert paid.status_code == 200, paid.text

    def settled(order_id: str) -> dict | None:
        shown = customer.get(f"/orders/{order_id}").json()
        return shown if shown["status"] in ("completed", "partially_cancelled") else None

    assert testing.wait_for(lambda: settled(failing["id"]), 15)["status"] == "partially_cancelled"
    assert testing.wait_for(lambda: settled(succeeding["id"]), 15)["status"] == "completed"
    assert wallets(customer) == ("25.00", "0.00")  # the failed unit's 20.00 + VAT, as cash
    paid_already = operator.http.put(f"/admin/provisioning-simulator/orders/{failing['id']}",
                                     json={"outcome": "fail"}, headers=operator.headers())
    assert (paid_already.status_code, paid_already.json()["error"]["code"]) == (
        409, "order_not_editable")
