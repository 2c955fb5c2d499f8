"""Orders paid by each wallet through the real billing: balance+voucher takes the voucher
wallet first, line by line, and the rest from cash; a voucher-only order never touches cash;
what the wallets cannot cover is 402 and leaves both as they were."""

import uuid
from datetime import date, timedelta


def give_voucher(operator, customer, amount: str) -> None:
    made = operator.post("/admin/vouchers", {
        "amount": {"amount": amount, "currency": "EUR"},
        "expires_on": (date.today() + timedelta(days=30)).isoformat(), "uses": 1})
    assert made.status_code == 201, made.text
    redeemed = customer.post("/account/vouchers/redeem", {"code": made.json()["code"]})
    assert redeemed.status_code == 201, redeemed.text


def wallets(customer) -> tuple[str, str]:
    shown = customer.get("/account").json()
    return shown["cash_balance"]["amount"], shown["voucher_balance"]["amount"]


def order(customer, method: str, lines=(("VM-S-1M", 1), ("BACKUP-100G-1M", 2))):
    return customer.post("/orders", {"lines": [{"sku": s, "quantity": q} for s, q in lines],
                                     "payment_method": method},
                         headers={"Idempotency-Key": uuid.uuid4().hex})


def test_balance_plus_voucher_takes_the_voucher_first_line_by_line(customer, operator):
    account_id = customer.get("/account").json()["id"]
    operator.top_up(account_id, "5.00")
    give_voucher(operator, customer, "30.00")

    short = order(customer, "balance+voucher")  # 37.50 against 5.00 + 30.00
    assert (short.status_code, short.json()["error"]["code"]) == (402, "insufficient_funds")
    assert wallets(customer) == ("5.00", "30.00")

    operator.top_up(account_id, "40.00")
    paid = order(customer, "balance+voucher")
    assert paid.status_code == 201, paid.text
    lines = [(line["gross"]["amount"], line["paid_voucher"]["amount"], line["paid_cash"]["amount"])
             for line in paid.json()["lines"]]
    assert lines == [("25.00", "25.00", "0.00"), ("12.50", "5.00", "7.50")]
    assert wallets(customer) == ("37.50", "0.00")


def test_a_voucher_order_never_touches_the_cash_balance(customer, operator):
    operator.top_up(customer.get("/account").json()["id"], "100.00")
    give_voucher(operator, customer, "25.00")
    paid = order(customer, "voucher", lines=(("VM-S-1M", 1),))
    assert paid.status_code == 201, paid.text
    assert (paid.json()["paid_voucher"]["amount"], paid.json()["paid_cash"]["amount"]) == ("25.00", "0.00")
    assert wallets(customer) == ("100.00", "0.00")
    refused = order(customer, "voucher", lines=(("VM-S-1M", 1),))
    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "insufficient_funds")
    assert refused.json()["error"]["details"]["wallet"] == "voucher"


def test_a_card_order_is_paid_on_the_processors_page_and_completed_by_its_callback(customer):
    import httpx

    from services.common import testing

    placed = order(customer, "card", lines=(("VM-S-1M", 1),))
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "awaiting_payment"
    paid = httpx.post(placed.json()["pay_url"], json={"card_number": "4242424242424242",
                                                      "expiry": "12/30", "cvc": "123",
                                                      "callback_count": 2})
    assert paid.status_code == 200, paid.text

    def completed() -> dict | None:
        shown = customer.get(f"/orders/{placed.json()['id']}").json()
        return shown if shown["status"] == "completed" else None

    done = testing.wait_for(completed, 15, 0.2, "the card never completed the order")
    assert done["paid_cash"]["amount"] == "25.00"
    assert wallets(customer) == ("0.00", "0.00")

    declined = order(customer, "card", lines=(("VM-S-1M", 1),))
    httpx.post(declined.json()["pay_url"], json={"card_number": "4000000000000002",
                                                 "expiry": "12/30", "cvc": "123"})

    def cancelled() -> dict | None:
        shown = customer.get(f"/orders/{declined.json()['id']}").json()
        return shown if shown["status"] == "cancelled" else None

    refused = testing.wait_for(cancelled, 15, 0.2, "the declined card never cancelled the order")
    assert refused["payment_refusal"]["code"] == "card_declined"
