"""Vouchers and the ledger through HTTP: an operator issues a voucher, the customer redeems it
into the voucher wallet once, and the ledger lists every wallet movement with the balance after
it."""

from datetime import date, timedelta


def test_a_voucher_issued_by_an_operator_is_redeemed_once_and_shows_in_the_ledger(customer, operator):
    account = customer.get("/account").json()
    operator.top_up(account["id"], "40.00")
    made = operator.post("/admin/vouchers", {
        "amount": {"amount": "25.00", "currency": "EUR"},
        "expires_on": (date.today() + timedelta(days=30)).isoformat(), "uses": 1})
    assert made.status_code == 201, made.text
    code = made.json()["code"]

    redeemed = customer.post("/account/vouchers/redeem", {"code": code})
    again = customer.post("/account/vouchers/redeem", {"code": code})

    assert redeemed.status_code == 201, redeemed.text
    assert (again.status_code, again.json()["error"]["code"]) == (409, "voucher_used")
    shown = customer.get("/account").json()
    assert (shown["cash_balance"]["amount"], shown["voucher_balance"]["amount"]) == ("40.00", "25.00")
    lines = customer.items("/account/ledger")
    assert [(line["kind"], line["wallet"], line["balance_after"]["amount"]) for line in lines] == [
        ("voucher_redeemed", "voucher", "25.00"), ("top_up", "cash", "40.00")]
    assert [line["kind"] for line in customer.items("/account/ledger?wallet=cash")] == ["top_up"]


def test_a_customer_cannot_issue_vouchers_and_an_unknown_code_is_422(customer):
    refused = customer.post("/admin/vouchers", {"amount": {"amount": "5.00", "currency": "EUR"},
                                                "expires_on": "2999-01-01"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    unknown = customer.post("/account/vouchers/redeem", {"code": "NOPE-NOPE"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "voucher_invalid")


def test_a_bad_ledger_filter_is_422(customer):
    answer = customer.get("/account/ledger?from=yesterday")
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "validation_error")


def test_a_postpaid_account_orders_on_credit_and_shows_arrears(customer, operator):
    account = customer.get("/account").json()
    limit = operator.http.put(f"/admin/accounts/{account['id']}/credit-limit",
                              json={"amount": {"amount": "100.00", "currency": "EUR"}},
                              headers=operator.headers())
    assert limit.status_code == 200, limit.text
    assert limit.json()["credit_limit"]["amount"] == "100.00"

    customer.order("VM-S-1M", 2)  # 2 × 20.00 + 25 % VAT

    shown = customer.get("/account").json()
    assert (shown["cash_balance"]["amount"], shown["in_arrears"], shown["arrears_amount"]["amount"]) == (
        "-50.00", True, "50.00")
    found = operator.items(f"/admin/accounts?q={customer.email}")
    assert account["id"] in [a["id"] for a in found]
    statement = customer.get("/account/statement").json()
    assert (statement["opening_balance"]["amount"], statement["closing_balance"]["amount"]) == (
        "0.00", "-50.00")


def test_a_customer_cannot_set_a_credit_limit(customer):
    account = customer.get("/account").json()
    answer = customer.http.put(f"/admin/accounts/{account['id']}/credit-limit",
                               json={"amount": {"amount": "100.00", "currency": "EUR"}},
                               headers=customer.headers())
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
