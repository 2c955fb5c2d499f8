"""Orders left unpaid expire, through the running product (the orders service's clock moved
past ``ORDERS_UNPAID_EXPIRY_SECONDS``): the order is cancelled with ``payment_expired`` and
nothing charged, the customer is told by mail, the card page no longer takes the card — and a
card the processor took anyway still brings its money, to the customer's cash balance."""

import json
import uuid
from datetime import timedelta

import httpx

from gateway.card_simulator import SIGNATURE_HEADER, sign
from services.common import testing
from services.common.contracts import utcnow
from tests.e2e.conftest import Api

CARD = {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"}


def card_order(customer) -> dict:
    placed = customer.post("/orders", {"lines": [{"sku": "VM-S-1M", "quantity": 1}],
                                       "payment_method": "card"},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert placed.status_code == 201, placed.text
    return placed.json()


def past_expiry(product) -> dict:
    later = utcnow() + timedelta(days=14, minutes=5)  # the default: 14 days
    return product.rpc("orders", "run_timers_at", later.isoformat())


def test_an_unpaid_card_order_expires_and_its_card_page_is_closed(product):
    customer = Api(product.url, product.mail)
    email = customer.register("Late Payer AB")["email"]
    placed = card_order(customer)

    assert past_expiry(product)["unpaid_expired"] >= 1

    shown = customer.get(f"/orders/{placed['id']}").json()
    assert (shown["status"], shown["payment_refusal"]["code"]) == ("cancelled", "payment_expired")
    refused = httpx.post(placed["pay_url"], json=CARD)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "card_payment_closed")
    assert "withdrawn by the seller" in httpx.get(placed["pay_url"]).text
    account = customer.get("/account").json()
    assert (account["cash_balance"]["amount"], account["voucher_balance"]["amount"]) == (
        "0.00", "0.00")
    mails = product.mail.wait_for_mail(email, 3)  # verification, placed, expired
    assert any("expired unpaid" in str(m["Subject"]) for m in mails)


def test_a_card_the_processor_took_after_the_expiry_is_credited_as_cash(product):
    customer = Api(product.url, product.mail)
    customer.register("Slow Card AB")
    placed = card_order(customer)
    past_expiry(product)

    body = json.dumps({"payment_id": placed["card_payment_id"], "status": "succeeded",
                       "processor_reference": "sim_after_expiry"}).encode()
    secret = product.env.get("CARD_WEBHOOK_SECRET", "card-simulator-development-secret")
    answer = httpx.post(f"{product.url}/api/v1/payments/card/callback", content=body, headers={
        "content-type": "application/json", SIGNATURE_HEADER: sign(secret, body)})
    assert answer.status_code == 200, answer.text

    def credited() -> str | None:
        amount = customer.get("/account").json()["cash_balance"]["amount"]
        return amount if amount != "0.00" else None

    assert testing.wait_for(credited, 15, 0.2, "the late card was never credited") == "25.00"
    assert customer.get(f"/orders/{placed['id']}").json()["status"] == "cancelled"
