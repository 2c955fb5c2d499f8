"""Top-ups by card through the processor's simulator: its hosted page, the card submitted
there, and its HMAC-signed callbacks to the gateway — a success credits the cash wallet once
however many callbacks arrive, a decline credits nothing, a late success arrives after its
delay, a forged callback is refused and a stale one changes nothing."""

import json
import time
import uuid

import httpx

from gateway.card_simulator import SIGNATURE_HEADER, sign
from services.common import testing


def start(customer, amount: str = "25.00") -> dict:
    answer = customer.post("/account/card-payments",
                           {"amount": {"amount": amount, "currency": "EUR"}},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code == 201, answer.text
    return answer.json()


def pay(product, payment: dict, card: str, callbacks: int = 1) -> dict:
    answer = httpx.post(payment["pay_url"], json={"card_number": card, "expiry": "12/30",
                                                  "cvc": "123", "callback_count": callbacks})
    assert answer.status_code == 200, answer.text
    return answer.json()


def settled(customer, payment_id: str, timeout: float = 15) -> dict:
    def final() -> dict | None:
        shown = customer.get(f"/account/card-payments/{payment_id}").json()
        return shown if shown["status"] != "pending" else None

    return testing.wait_for(final, timeout, 0.2, f"card payment {payment_id} never settled")


def cash(customer) -> str:
    return customer.get("/account").json()["cash_balance"]["amount"]


def test_a_card_top_up_succeeds_once_however_many_callbacks_arrive(product, customer):
    payment = start(customer)
    assert payment["status"] == "pending"
    page = httpx.get(payment["pay_url"])
    assert page.status_code == 200 and "25.00 EUR" in page.text

    pay(product, payment, "4242 4242 4242 4242", callbacks=3)

    assert settled(customer, payment["id"])["status"] == "succeeded"
    testing.wait_for(lambda: cash(customer) == "25.00", 10, 0.2, "the top-up was not credited")
    time.sleep(1.5)  # the other callbacks arrive
    assert cash(customer) == "25.00"
    kinds = [line["kind"] for line in customer.items("/account/ledger")]
    assert kinds.count("card_payment") == 1


def test_a_declined_card_credits_nothing_and_says_why(product, customer):
    payment = start(customer)
    pay(product, payment, "4000000000000002")
    shown = settled(customer, payment["id"])
    assert (shown["status"], shown["decline_reason"]) == ("declined", "card_declined")
    assert cash(customer) == "0.00"


def test_a_late_card_is_pending_until_its_callback_then_succeeds(product, customer):
    payment = start(customer, "10.00")
    assert pay(product, payment, "4000000000000077")["outcome"] == "pending"
    assert customer.get(f"/account/card-payments/{payment['id']}").json()["status"] == "pending"
    assert settled(customer, payment["id"])["status"] == "succeeded"


def test_a_forged_callback_is_refused_and_a_stale_one_changes_nothing(product, customer):
    payment = start(customer, "7.00")
    forged = json.dumps({"payment_id": payment["id"], "status": "succeeded"}).encode()
    url = f"{product.url}/api/v1/payments/card/callback"
    refused = httpx.post(url, content=forged, headers={
        "content-type": "application/json", SIGNATURE_HEADER: sign("not-the-secret-at-all", forged)})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "signature_invalid")
    assert httpx.post(url, content=forged).status_code == 400
    assert customer.get(f"/account/card-payments/{payment['id']}").json()["status"] == "pending"

    pay(product, payment, "4242424242424242")
    settled(customer, payment["id"])
    stale = json.dumps({"payment_id": payment["id"], "status": "declined",
                        "decline_reason": "card_declined"}).encode()
    secret = product.env.get("CARD_WEBHOOK_SECRET", "card-simulator-development-secret")
    late = httpx.post(url, content=stale, headers={"content-type": "application/json",
                                                   SIGNATURE_HEADER: sign(secret, stale)})
    assert late.status_code == 200
    assert customer.get(f"/account/card-payments/{payment['id']}").json()["status"] == "succeeded"
    assert cash(customer) == "7.00"


def test_another_accounts_card_payment_is_not_found(product, customer):
    from tests.e2e.conftest import Api

    payment = start(customer)
    stranger = Api(product.url, product.mail)
    stranger.register("Mallory AB")
    answer = stranger.get(f"/account/card-payments/{payment['id']}")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")


def test_a_bad_card_form_is_422_naming_the_field(product, customer):
    payment = start(customer)
    answer = httpx.post(payment["pay_url"], json={"card_number": "4242", "expiry": "12/30", "cvc": "1"})
    assert (answer.status_code, answer.json()["error"]["details"]) == (422, {"field": "card_number"})
