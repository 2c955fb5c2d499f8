"""The profile through HTTP: each part validated and reported on `/account`, the e-invoice
channel only for an organisation in the operators' directory, and the fall-back to PDF by
e-mail (with a mail, read from the SMTP sink) when it leaves the directory."""

import uuid

from services.common import testing
from services.common.profile_testing import ADDRESS, BILLING, MAILING
from tests.e2e.conftest import Api


def put(api: Api, path: str, body: dict) -> tuple[int, dict]:
    answer = api.http.put(path, json=body, headers=api.headers())
    return answer.status_code, answer.json() if answer.content else {}


def test_billing_and_mailing_information_are_reported_complete_once_set(customer):
    assert customer.get("/account/billing-info").status_code == 404
    before = customer.get("/account").json()
    assert (before["billing_info_complete"], before["mailing_info_complete"]) == (False, False)

    assert put(customer, "/account/billing-info", BILLING)[0] == 200
    assert put(customer, "/account/mailing-info", MAILING)[0] == 200

    after = customer.get("/account").json()
    assert (after["billing_info_complete"], after["mailing_info_complete"]) == (True, True)
    assert customer.get("/account/mailing-info").json()["email"] == MAILING["email"]
    assert after["payment_reference"].startswith("RF")


def test_a_profile_part_with_a_bad_country_or_phone_is_422_naming_the_field(customer):
    status, body = put(customer, "/account/billing-info",
                       {**BILLING, "address": {**ADDRESS, "country": "XX"}})
    assert (status, body["error"]["code"]) == (422, "validation_error")
    assert body["error"]["details"][0]["loc"] == ["body", "address", "country"]
    status, body = put(customer, "/account/mailing-info", {**MAILING, "phone": "call me"})
    assert body["error"]["details"][0]["loc"] == ["body", "phone"]


def test_einvoice_follows_the_directory_and_falls_back_to_pdf_by_email_with_a_mail(
    product, customer, operator
):
    number = f"55{uuid.uuid4().int % 10**8:08d}"
    participant = f"0007:{number}"
    assert put(customer, "/account/company", {"legal_name": "Ada AB", "organisation_number": number,
                                              "country": "SE", "address": ADDRESS})[0] == 200
    status, refused = put(customer, "/account/delivery", {"channel": "einvoice"})
    assert (status, refused["error"]["code"]) == (409, "einvoice_not_available")

    assert put(operator, f"/admin/einvoice-directory/{participant}", {"name": "Ada AB"})[0] == 200
    assert customer.get("/account").json()["einvoice_capable"] is True
    status, account = put(customer, "/account/delivery", {"channel": "einvoice"})
    assert (status, account["delivery_channel"]) == (200, "einvoice")

    removed = operator.http.delete(f"/admin/einvoice-directory/{participant}", headers=operator.headers())
    assert removed.status_code == 204

    account = customer.get("/account").json()
    assert (account["delivery_channel"], account["einvoice_capable"]) == ("email_pdf", False)
    verification, notice = product.mail.wait_for_mail(customer.email, 2)
    assert notice["Subject"] == "Your invoices now come as PDF by e-mail"
    assert number in testing.text_of(notice)
    assert put(customer, f"/admin/einvoice-directory/{participant}", {"name": "x"})[0] == 403


def test_notifications_and_language_can_be_switched(customer):
    assert put(customer, "/account/notifications", {"enabled": False})[1]["notifications_enabled"] is False
    assert put(customer, "/account/language", {"language": "sv"})[1]["language"] == "sv"
    assert put(customer, "/account/notifications", {"enabled": "no"})[0] == 422
