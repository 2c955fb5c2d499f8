"""Invoice applications through HTTP under the seed's rules: no billing or mailing information,
or arrears, is refused with its own code (at the gateway and again in the invoicing service);
paying the arrears lifts the block at once; the preview shows who the invoice is for and where
it goes; a withdrawn application frees its orders; another account's application is 404."""

import uuid

from services.common.profile_testing import BILLING
from tests.e2e.conftest import Api


def apply(customer, order_ids: list[str], **extra):
    return customer.post("/invoice-applications", {"order_ids": order_ids, **extra},
                         headers={"Idempotency-Key": uuid.uuid4().hex})


def code_of(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_information_missing_and_arrears_refuse_an_application_until_put_right(
        product, operator):
    customer = Api(product.url, product.mail)
    account_id = customer.register("Rules AB")["account_id"]
    operator.top_up(account_id, "25.00")
    paid = customer.order()
    customer.wait_invoiceable(paid["id"])

    assert code_of(apply(customer, [paid["id"]])) == (409, "billing_info_missing")
    assert customer.http.put("/account/billing-info", json=BILLING,
                             headers=customer.headers()).status_code == 200
    assert code_of(apply(customer, [paid["id"]])) == (409, "mailing_info_missing")
    customer.complete_profile()

    limit = operator.http.put(f"/admin/accounts/{account_id}/credit-limit",
                              json={"amount": {"amount": "100.00", "currency": "EUR"}},
                              headers=operator.headers())
    assert limit.status_code == 200, limit.text
    on_credit = customer.order()  # the balance goes to -25.00: in arrears
    assert code_of(apply(customer, [paid["id"]])) == (409, "account_in_arrears")

    operator.top_up(account_id, "25.00")  # paid: an application goes through at once
    preview = apply(customer, [paid["id"]], channel="letter")
    assert preview.status_code == 201, preview.text
    shown = preview.json()
    assert (shown["status"], shown["channel"]) == ("awaiting_confirmation", "letter")
    assert shown["billing_info"]["legal_name"] == BILLING["legal_name"]
    assert shown["mailing_info"]["email"] == "invoices@ada.example"
    assert [line["quantity"] for line in shown["lines"]] == [1]

    withdrawn = customer.post(f"/invoice-applications/{shown['id']}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    assert code_of(customer.post(f"/invoice-applications/{shown['id']}/confirm")) == (
        409, "application_not_pending")
    customer.wait_invoiceable(on_credit["id"])
    again = apply(customer, [paid["id"], on_credit["id"]])
    assert again.status_code == 201, again.text
    confirmed = customer.post(f"/invoice-applications/{again.json()['id']}/confirm")
    assert confirmed.json()["status"] == "issued"
    assert [entry["status"] for entry in confirmed.json()["status_history"]] == [
        "awaiting_confirmation", "submitted", "issued"]

    stranger = Api(product.url, product.mail)
    stranger.register("Other AB")
    assert stranger.post(f"/invoice-applications/{shown['id']}/withdraw").status_code == 404
    assert customer.post(f"/admin/invoice-applications/{shown['id']}/approve").status_code == 403
    queue = operator.get("/admin/invoice-applications?status=withdrawn").json()["items"]
    assert shown["id"] in [a["id"] for a in queue]
