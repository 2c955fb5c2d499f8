"""Delivery of issued invoices by channel, through HTTP: PDF by e-mail (the SMTP sink gets the
PDF attached; ``emailed`` with the relay's message id), letter (queued for print with the
envelope window's address until an operator posts it), and e-invoice (validated, handed to the
access point: ``transmitted`` with its message id; held by the Peppol rules without a buyer
address; an outage retried with backoff; a refusal ``failed`` until an operator retries it).
Reaching the customer makes the application ``delivered``.  The access point is the built-in
simulator; each test that changes its answer sets it back to ``accept``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.common import testing
from services.common.profile_testing import ADDRESS
from tests.e2e.conftest import Api
from tests.e2e.test_invoice_amounts import (
    apply,
    confirm,
    give_profile,
    invoice_of,
    issue,
    new_customer,
    organisation_number,
    pdf_text,
    put,
    rule_ids,
    wait_invoiceable,
    wait_pdf,
)


def simulate(operator: Api, outcome: str) -> None:
    assert put(operator, "/admin/access-point-simulator", {"outcome": outcome}) == {"outcome": outcome}


@pytest.fixture
def access_point(operator: Api) -> Iterator[Callable[[str], None]]:
    """Set the simulated access point's answer; ``accept`` again after the test."""
    yield lambda outcome: simulate(operator, outcome)
    simulate(operator, "accept")


def delivery_of(operator: Api, invoice_id: str,
                until: Callable[[dict[str, Any]], bool] = lambda d: True,
                timeout: float = 30, message: str = "") -> dict[str, Any]:
    """The invoice's one delivery as operators see it, once ``until`` holds."""
    def found() -> dict[str, Any] | None:
        rows = operator.items(f"/admin/deliveries?invoice_id={invoice_id}")
        assert len(rows) <= 1, rows
        return rows[0] if rows and until(rows[0]) else None

    return testing.wait_for(found, timeout, 0.3, message or f"invoice {invoice_id}'s delivery")


FINAL = ("emailed", "queued_for_print", "posted", "transmitted", "held", "failed")


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda found: found["status"] in statuses


def application_of(customer: Api, application_id: str) -> dict[str, Any]:
    answer = customer.get(f"/invoice-applications/{application_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def einvoice_customer(product: testing.Product, operator: Api) -> tuple[Api, str]:
    """A customer whose organisation is in the e-invoice directory, delivering by e-invoice;
    returns it and its participant id."""
    customer = new_customer(product, operator, "100.00")
    number = organisation_number()
    put(customer, "/account/company", {"legal_name": "Ada AB", "organisation_number": number,
                                       "vat_number": "SE556677889901", "country": "SE",
                                       "address": ADDRESS})
    participant = f"0007:{number}"
    put(operator, f"/admin/einvoice-directory/{participant}", {"name": "Ada AB"})
    give_profile(customer)
    assert put(customer, "/account/delivery", {"channel": "einvoice"})["delivery_channel"] == "einvoice"
    return customer, participant


def einvoiced(customer: Api) -> tuple[dict, dict]:
    """Order, and apply with the account's channel once invoicing has heard the profile
    (e-invoice, the buyer's address with it); confirm: (application, invoice)."""
    order = customer.order("VM-S-1M")
    wait_invoiceable(customer, order["id"])

    def by_einvoice() -> dict[str, Any] | None:
        application = apply(customer, [order["id"]])
        if application["channel"] == "einvoice":
            return application
        assert customer.post(f"/invoice-applications/{application['id']}/withdraw").status_code == 200
        return None

    application = testing.wait_for(by_einvoice, 20, 0.5, "invoicing never heard of the channel")
    confirmed = confirm(customer, application["id"])
    return confirmed, invoice_of(customer, confirmed["invoice_id"])


def transmissions(product: testing.Product, delivery_id: str) -> list[dict[str, str]]:
    return product.rpc("invoicing", "transmissions", delivery_id)


def test_an_invoice_by_email_arrives_as_an_attached_pdf_and_is_emailed(product, operator):
    customer = new_customer(product, operator, "25.00")
    email = give_profile(customer)
    order = customer.order("VM-S-1M")

    application, invoice = issue(customer, [order["id"]])

    assert invoice["delivery_channel"] in (None, "email_pdf")
    def invoice_mail():  # the order's own mails go to the mailing e-mail too
        mails = [m for m in product.mail.to(email) if invoice["number"] in m["Subject"]]
        return mails or None

    (mail,) = testing.wait_for(invoice_mail, 60, 0.3, f"no mail of {invoice['number']}")
    (attached,) = [part for part in mail.iter_attachments()
                   if part.get_content_type() == "application/pdf"]
    pdf = attached.get_content()
    assert pdf.startswith(b"%PDF")
    assert invoice["number"] in pdf_text(pdf)
    assert attached.get_filename().endswith(".pdf")
    sent = delivery_of(operator, invoice["id"], status_is(*FINAL))
    assert sent["status"] == "emailed", sent
    assert (sent["channel"], sent["recipient"], sent["attempts"]) == ("email_pdf", email, 1)
    assert sent["message_id"]
    assert [step["outcome"] for step in sent["history"]] == ["handed_to_mail", "emailed"]
    testing.wait_for(lambda: invoice_of(customer, invoice["id"])["delivery_status"] == "emailed",
                     10, 0.2, "the invoice never showed emailed")
    delivered = application_of(customer, application["id"])
    assert delivered["status"] == "delivered"
    assert [s["status"] for s in delivered["status_history"]][-2:] == ["issued", "delivered"]


def test_a_letter_waits_in_the_print_queue_until_an_operator_posts_it(product, operator):
    customer = new_customer(product, operator, "25.00")
    email = give_profile(customer)
    order = customer.order("VM-S-1M")

    application, invoice = issue(customer, [order["id"]], channel="letter")

    assert application["channel"] == "letter"

    def queued() -> dict[str, Any] | None:
        rows = operator.items("/admin/letters?status=queued_for_print")
        return next((r for r in rows if r["invoice_id"] == invoice["id"]), None)

    letter = testing.wait_for(queued, 60, 0.3, "the letter was never queued for print")
    assert letter["channel"] == "letter"
    assert letter["address"].splitlines() == ["Ada Lovelace", "Ada AB", "Storgatan 1",
                                              "111 22 Stockholm", "SE"]
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "queued_for_print"
    assert invoice_of(customer, invoice["id"])["mailing_address"] == letter["address"].splitlines()
    text = pdf_text(wait_pdf(operator, f"/admin/letters/{letter['id']}/pdf"))
    assert invoice["number"] in text and "Ada Lovelace" in text
    assert application_of(customer, application["id"])["status"] == "issued"
    assert not [m for m in product.mail.to(email) if invoice["number"] in m["Subject"]]
    assert customer.post(f"/admin/letters/{letter['id']}/posted").status_code == 403

    posted = operator.post(f"/admin/letters/{letter['id']}/posted")

    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "posted"
    again = operator.post(f"/admin/letters/{letter['id']}/posted")
    assert (again.status_code, again.json()) == (200, posted.json())
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "posted"
    assert application_of(customer, application["id"])["status"] == "delivered"
    assert letter["id"] not in [r["id"] for r in operator.items("/admin/letters?status=queued_for_print")]
    subject = f"Invoice {invoice['number']} is in the post"
    testing.wait_for(lambda: [m for m in product.mail.to(email) if m["Subject"] == subject], 20, 0.3,
                     "no notice of the posted letter")
    (notice,) = [m for m in product.mail.to(email) if m["Subject"] == subject]  # once, posted twice
    assert notice["Content-Language"] == "en" and "Storgatan 1" in testing.text_of(notice)
    (copy,) = notice.iter_attachments()
    assert copy.get_filename() == f"invoice-{invoice['number']}.pdf"


def test_an_einvoice_to_a_directory_member_is_transmitted_and_passes_the_rules(product, operator):
    customer, participant = einvoice_customer(product, operator)

    application, invoice = einvoiced(customer)

    sent = delivery_of(operator, invoice["id"], status_is(*FINAL))
    assert sent["status"] == "transmitted", sent
    assert (sent["channel"], sent["recipient"]) == ("einvoice", participant)
    assert sent["message_id"] and sent["rule_ids"] == []
    (received,) = transmissions(product, sent["id"])
    assert (received["message_id"], received["receiver"]) == (sent["message_id"], participant)
    assert invoice["number"] in received["document_xml"]
    assert rule_ids(received["document_xml"].encode()) == []
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "transmitted"
    assert application_of(customer, application["id"])["status"] == "delivered"


def test_an_einvoice_without_a_buyer_address_is_held_by_the_peppol_rules_and_never_sent(
        product, operator):
    customer = new_customer(product, operator, "25.00")  # no organisation number: no address
    give_profile(customer)
    order = customer.order("VM-S-1M")

    application, invoice = issue(customer, [order["id"]], channel="einvoice")

    assert invoice["buyer"]["endpoint_id"] is None
    held = delivery_of(operator, invoice["id"], status_is(*FINAL))
    assert held["status"] == "held", held
    assert "PEPPOL-EN16931-R010" in held["rule_ids"]
    assert "PEPPOL-EN16931-R010" in (held["last_error"] or "")
    assert transmissions(product, held["id"]) == []
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "held"
    assert application_of(customer, application["id"])["status"] == "issued"
    assert [d["id"] for d in operator.items("/admin/deliveries?status=held&channel=einvoice")
            ].count(held["id"]) == 1


def test_an_access_point_outage_is_retried_with_backoff_until_it_accepts(
        product, operator, access_point):
    customer, _ = einvoice_customer(product, operator)
    access_point("fail")

    application, invoice = einvoiced(customer)

    def retries(found: dict[str, Any]) -> int:
        return [step["outcome"] for step in found["history"]].count("retry")

    retried = delivery_of(operator, invoice["id"],
                          lambda d: retries(d) >= 2 or d["status"] in FINAL, 30,
                          "the outage was never retried")  # 1st attempt, then 2 s later
    assert retried["status"] == "pending", retried
    assert retried["message_id"] is None and retried["attempts"] >= 2
    assert "unavailable" in retried["last_error"]
    assert retried["next_attempt_at"] is not None
    assert transmissions(product, retried["id"]) == []
    access_point("accept")
    sent = delivery_of(operator, invoice["id"], status_is(*FINAL), 40,
                       "the delivery never went through once the access point accepted")
    assert sent["status"] == "transmitted", sent
    assert sent["attempts"] > retried["attempts"]
    assert len(transmissions(product, sent["id"])) == 1
    assert application_of(customer, application["id"])["status"] == "delivered"


def test_a_refused_einvoice_fails_until_an_operator_retries_it(product, operator, access_point):
    customer, _ = einvoice_customer(product, operator)
    access_point("reject")

    application, invoice = einvoiced(customer)

    failed = delivery_of(operator, invoice["id"], status_is(*FINAL), 30)
    assert failed["status"] == "failed", failed
    assert failed["attempts"] == 1  # a refusal is not retried
    assert "refused" in failed["last_error"]
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "failed"
    assert transmissions(product, failed["id"]) == []
    assert application_of(customer, application["id"])["status"] == "issued"
    access_point("accept")

    retried = operator.post(f"/admin/deliveries/{failed['id']}/retry")

    assert retried.status_code == 200, retried.text
    sent = delivery_of(operator, invoice["id"], status_is(*FINAL), 20)
    assert sent["status"] == "transmitted", sent
    assert sent["message_id"] and sent["attempts"] == 2
    assert "retried by an operator" in [s["detail"] for s in sent["history"]]
    assert len(transmissions(product, sent["id"])) == 1
    assert application_of(customer, application["id"])["status"] == "delivered"
    assert invoice_of(customer, invoice["id"])["delivery_status"] == "transmitted"
