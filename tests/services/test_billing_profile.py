"""The profile through billing's entrypoints: each part is validated and reported complete or
missing, e-invoice delivery needs the organisation in the directory, and a channel that stops
being possible falls back to PDF by e-mail with a mail; every change is announced with a
version."""

import pytest
from service_fakes import Service

from services.billing.service import BillingService
from services.common.errors import EinvoiceNotAvailable, InvalidRequest, NotFound
from services.common.profile_testing import ADDRESS, BILLING, MAILING

PASSWORD = "long-enough-password"


@pytest.fixture
def billing(service_database, outbox, settings) -> Service:
    return Service(BillingService, service_database("billing"), outbox=outbox, settings=settings)


def open_account(billing, number: str | None = "556677-8899", country: str = "SE") -> str:
    return billing.register_account({
        "email": "owner@example.com", "password": PASSWORD, "company_name": "Ada AB",
        "country": country, "organisation_number": number})["account_id"]


def test_a_new_account_misses_billing_and_mailing_information(billing):
    account = billing.get_account(open_account(billing))

    assert (account["billing_info_complete"], account["mailing_info_complete"]) == (False, False)
    assert account["missing"] == ["billing_info.legal_name", "billing_info.tax_id",
                                  "billing_info.address", "mailing_info.recipient",
                                  "mailing_info.phone", "mailing_info.email", "mailing_info.address"]
    assert account["delivery_channel"] == "email_pdf"
    assert account["notifications_enabled"] is True
    assert account["payment_reference"].startswith("RF")
    assert billing.get_profile(account["id"])["billing_info"] is None


def test_billing_and_mailing_information_once_set_are_complete(billing, outbox):
    account_id = open_account(billing)

    assert billing.set_billing_info(account_id, BILLING) == {**BILLING, "bank_account": None}
    billing.set_mailing_info(account_id, MAILING)

    account = billing.get_account(account_id)
    assert (account["billing_info_complete"], account["mailing_info_complete"]) == (True, True)
    assert account["missing"] == []
    assert account["billing_address"] == "Storgatan 1, 111 22 Stockholm, SE"
    versions = [e.profile_version for e in outbox.of_type("profile_changed")]
    assert versions == sorted(versions) and len(versions) == 2


@pytest.mark.parametrize("bad", [
    {**BILLING, "address": {**ADDRESS, "country": "XX"}},
    {**BILLING, "tax_id": ""},
    {k: v for k, v in BILLING.items() if k != "address"},
])
def test_billing_information_that_is_not_whole_is_refused(billing, bad):
    account_id = open_account(billing)
    with pytest.raises(InvalidRequest) as refused:
        billing.set_billing_info(account_id, bad)
    assert refused.value.details[0]["loc"]
    assert billing.get_account(account_id)["billing_info_complete"] is False


def test_einvoice_is_refused_while_the_organisation_is_not_in_the_directory(billing):
    account_id = open_account(billing)

    with pytest.raises(EinvoiceNotAvailable) as refused:
        billing.set_delivery_channel(account_id, "einvoice")

    assert refused.value.details["participant_id"] == "0007:5566778899"
    assert billing.get_account(account_id)["delivery_channel"] == "email_pdf"


def test_einvoice_is_allowed_once_an_operator_lists_the_organisation(billing):
    account_id = open_account(billing)
    billing.put_einvoice_participant("0007:5566778899", "Ada AB")

    account = billing.set_delivery_channel(account_id, "einvoice")

    assert (account["delivery_channel"], account["einvoice_capable"]) == ("einvoice", True)
    assert account["einvoice_participant_id"] == "0007:5566778899"


def test_removing_the_organisation_from_the_directory_falls_back_to_pdf_by_email_with_a_mail(
    billing, outbox
):
    account_id = open_account(billing)
    billing.put_einvoice_participant("0007:5566778899", "Ada AB")
    billing.set_delivery_channel(account_id, "einvoice")

    billing.delete_einvoice_participant("0007:5566778899")

    account = billing.get_account(account_id)
    assert (account["delivery_channel"], account["einvoice_capable"]) == ("email_pdf", False)
    (notice,) = [m for m in outbox.of_type("mail_requested") if m.template == "einvoice_unavailable"]
    assert notice.to == "owner@example.com"
    assert outbox.of_type("profile_changed")[-1].delivery_channel == "email_pdf"


def test_a_new_organisation_number_outside_the_directory_ends_einvoice_delivery(billing, outbox):
    account_id = open_account(billing)
    billing.put_einvoice_participant("0007:5566778899", "Ada AB")
    billing.set_delivery_channel(account_id, "einvoice")

    billing.set_company(account_id, {"legal_name": "Ada AB", "organisation_number": "559900-1122",
                                     "country": "SE", "address": ADDRESS})

    account = billing.get_account(account_id)
    assert account["delivery_channel"] == "email_pdf"
    assert account["einvoice_participant_id"] == "0007:5599001122"
    assert [m.template for m in outbox.of_type("mail_requested")][-1] == "einvoice_unavailable"


def test_the_company_is_read_back_as_set(billing):
    account_id = open_account(billing)
    company = {"legal_name": "Ada Cloud AB", "organisation_number": "556677-8899",
               "vat_number": "SE556677889901", "country": "SE", "address": ADDRESS}
    assert billing.set_company(account_id, company) == company
    assert billing.get_profile(account_id)["company"] == company
    assert billing.get_account(account_id)["company_name"] == "Ada Cloud AB"


def test_notifications_and_language_are_switched(billing):
    account_id = open_account(billing)
    assert billing.set_notifications(account_id, False)["notifications_enabled"] is False
    assert billing.set_language(account_id, "ru")["language"] == "ru"
    with pytest.raises(InvalidRequest):
        billing.set_language(account_id, "de")


def test_a_participant_id_must_be_scheme_and_digits(billing):
    for bad in ("0007-5566778899", "0007:55667788AB", "x:1", "0007:"):
        with pytest.raises(InvalidRequest):
            billing.put_einvoice_participant(bad, "X")


def test_deleting_an_unknown_participant_is_not_found(billing):
    with pytest.raises(NotFound):
        billing.delete_einvoice_participant("0007:1111111111")


def test_the_directory_is_listed_in_pages(billing):
    for n in range(5):
        billing.put_einvoice_participant(f"0007:555000000{n}", f"Org {n}")
    first = billing.list_einvoice_participants(2)
    second = billing.list_einvoice_participants(2, first["next_cursor"])
    assert [p["participant_id"] for p in first["items"] + second["items"]] == [
        f"0007:555000000{n}" for n in range(4)]


def test_payment_references_differ_between_accounts(billing):
    first = billing.get_account(open_account(billing))["payment_reference"]
    second_id = billing.register_account({"email": "two@example.com", "password": PASSWORD,
                                          "company_name": "Two AB", "country": "SE"})["account_id"]
    assert billing.get_account(second_id)["payment_reference"] != first
