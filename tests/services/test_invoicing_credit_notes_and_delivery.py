"""Credit notes and delivery, through the invoicing service (seed 001, and issue 8's credit
notes): a refund after an order was invoiced issues a credit note for exactly what was
refunded, in its own series; an operator credits an invoice in full and its orders can be
invoiced again; each issued document goes by its channel — mailed with its PDF, queued as a
letter, or validated and transmitted as an e-invoice (held when the rules refuse it, retried
when the access point fails) — and every attempt is recorded."""

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from service_fakes import Service, complete_profile, invoicing_account
from sqlalchemy import update

from services.common import einvoice
from services.common.config import Settings
from services.common.contracts import (
    DocumentOut,
    DocumentReady,
    InvoiceOut,
    MailSent,
    MoneyOut,
    OrderImplemented,
    OrderLineOut,
    OrderOut,
    OrderRefunded,
)
from services.common.errors import InvoiceAlreadyCredited
from services.invoicing.models import Delivery
from services.invoicing.service import InvoicingService

ACCOUNT = str(uuid.uuid4())


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", rpc_timeout=4.0, inner_rpc_timeout=2.0,
                    einvoice_rules_dir=os.environ["EINVOICE_RULES_DIR"], delivery_retry_limit=2,
                    delivery_retry_backoff=0.01)


@pytest.fixture
def invoicing(service_database, billing, outbox, settings) -> Service:
    billing.always("account_for_invoicing", invoicing_account)
    service = Service(InvoicingService, service_database("invoicing"), billing=billing,
                      outbox=outbox, settings=settings)
    service.on_profile_changed(complete_profile(ACCOUNT, 1).wire())
    return service


def eur(amount: str | Decimal) -> MoneyOut:
    return MoneyOut(amount=Decimal(amount), currency="EUR")


def completed(quantity: int = 3, unit: str = "20.00", voucher: str = "0.00") -> OrderOut:
    net = eur(Decimal(unit) * quantity)
    vat = eur(net.amount * Decimal("0.25"))
    gross = eur(net.amount + vat.amount)
    now = datetime.now(UTC)
    line = OrderLineOut(line_no=1, sku="VM-S-1M", name="Cloud VM", quantity=quantity,
                        unit_price=eur(unit), vat_rate="25.00", net=net, vat=vat, gross=gross,
                        paid_cash=eur(gross.amount - Decimal(voucher)), paid_voucher=eur(voucher),
                        implementation="succeeded")
    return OrderOut(id=str(uuid.uuid4()), account_id=ACCOUNT, status="completed", net=net, vat=vat,
                    total=gross, paid_cash=line.paid_cash, paid_voucher=line.paid_voucher,
                    po_number="PO-9", lines=[line], created_at=now, updated_at=now)


def invoiced(invoicing, order: OrderOut, **extra) -> dict:
    invoicing.on_order_implemented(OrderImplemented(order=order).wire())
    application = invoicing.apply(ACCOUNT, {"order_ids": [order.id], **extra})
    issued = invoicing.confirm(ACCOUNT, application["id"])
    return invoicing.get_invoice(ACCOUNT, issued["invoice_id"])


def refunded(order: OrderOut, units: int, cash: str, voucher: str = "0.00") -> OrderRefunded:
    line = order.lines[0].model_copy(update={
        "returned_quantity": units, "refunded_cash": eur(cash), "refunded_voucher": eur(voucher)})
    later = order.model_copy(update={"lines": [line],
                                     "updated_at": order.updated_at + timedelta(seconds=1)})
    return OrderRefunded(order=later, refund_id=f"order:{order.id}:refund:1", cash=eur(cash),
                         voucher=eur(voucher), reason="the customer ended one VM")


def test_a_refund_after_invoicing_issues_a_credit_note_for_exactly_what_was_refunded(invoicing):
    order = completed()
    invoice = invoiced(invoicing, order)
    assert (invoice["total"]["amount"], invoice["amount_due"]["amount"]) == ("75.00", "0.00")

    evt = refunded(order, 1, "25.00")
    invoicing.on_order_refunded(evt.wire())
    invoicing.on_order_refunded(evt.wire())  # a redelivery credits nothing more
    (note,) = invoicing.list_invoices(ACCOUNT, kind="credit_note")["items"]
    assert note["number"].startswith(f"CN-{datetime.now(UTC).year}-")
    assert (note["credited_invoice_id"], note["credited_invoice_number"]) == (
        invoice["id"], invoice["number"])
    assert [(line["quantity"], line["net"]["amount"]) for line in note["lines"]] == [(1, "20.00")]
    assert (note["net"]["amount"], note["vat"]["amount"], note["total"]["amount"]) == (
        "20.00", "5.00", "25.00")
    assert note["credit_reason"] == "the customer ended one VM"
    assert einvoice.rejections(einvoice.validator(os.environ["EINVOICE_RULES_DIR"]).check(
        einvoice.ubl(InvoiceOut.model_validate(note)))) == []


def test_a_refund_of_voucher_money_credits_it_as_an_allowance_not_as_cash(invoicing):
    order = completed(quantity=2, unit="40.00", voucher="50.00")  # 100.00: 50 cash, 50 voucher
    invoice = invoiced(invoicing, order)
    assert invoice["allowances"]["amount"] == "40.00" and invoice["prepaid"]["amount"] == "50.00"

    invoicing.on_order_refunded(refunded(order, 1, "25.00", "25.00").wire())
    (note,) = invoicing.list_invoices(ACCOUNT, kind="credit_note")["items"]
    assert (note["lines_net"]["amount"], note["allowances"]["amount"], note["total"]["amount"],
            note["prepaid"]["amount"]) == ("40.00", "20.00", "25.00", "25.00")


def test_an_invoice_credited_in_full_frees_its_orders_to_be_invoiced_again(invoicing, outbox):
    order = completed()
    invoice = invoiced(invoicing, order)
    note = invoicing.credit_invoice(invoice["id"], "wrong buyer address")
    assert invoicing.credit_invoice(invoice["id"], "again") == note  # the same credit note
    assert (note["kind"], note["total"]["amount"]) == ("credit_note", invoice["total"]["amount"])
    assert invoicing.get_invoice(ACCOUNT, invoice["id"])["status"] == "credited"
    assert len(outbox.of_type("credit_note_issued")) == 1

    (row,) = invoicing.invoiceable(ACCOUNT)["items"]
    assert row["invoiceable"] is True
    again = invoicing.confirm(ACCOUNT, invoicing.apply(ACCOUNT, {"order_ids": [order.id]})["id"])
    assert again["status"] == "issued" and again["invoice_id"] != invoice["id"]


def test_an_invoice_credited_in_part_is_not_credited_in_full_again(invoicing):
    order = completed()
    invoice = invoiced(invoicing, order)
    invoicing.on_order_refunded(refunded(order, 1, "25.00").wire())
    with pytest.raises(InvoiceAlreadyCredited):
        invoicing.credit_invoice(invoice["id"], "undo")


def ready(invoicing, invoice_id: str) -> None:
    invoicing.on_document_ready(DocumentReady(account_id=ACCOUNT, document=DocumentOut(
        id=str(uuid.uuid4()), kind="invoice", reference=invoice_id, status="ready",
        content_type="application/pdf", filename="x.pdf", size=1, sha256=None)).wire())


def test_an_emailed_invoice_carries_its_pdf_and_is_delivered_when_the_relay_takes_it(invoicing, outbox):
    invoice = invoiced(invoicing, completed())
    assert invoice["delivery_status"] == "pending"
    ready(invoicing, invoice["id"])
    (mail,) = outbox.of_type("mail_requested")
    assert (mail.to, mail.template, mail.language, mail.reports) == (
        "ekonomi@buyer.example", "invoice_issued", "sv", True)
    assert [(a.kind, a.reference) for a in mail.attachments] == [("invoice", invoice["id"])]
    assert mail.context["kind"] == "invoice" and mail.context["number"] == invoice["number"]

    invoicing.on_mail_sent(MailSent(mail_id="delivery:other:1", message_id="<x>").wire())
    invoicing.on_mail_sent(MailSent(mail_id=mail.mail_id, message_id="<m@relay>").wire())
    assert invoicing.get_invoice(ACCOUNT, invoice["id"])["delivery_status"] == "emailed"
    (delivery,) = invoicing.list_deliveries(invoice_id=invoice["id"])["items"]
    assert (delivery["status"], delivery["message_id"]) == ("emailed", "<m@relay>")
    assert [step["outcome"] for step in delivery["history"]] == ["handed_to_mail", "emailed"]
    (application,) = invoicing.list_applications(ACCOUNT)["items"]
    assert application["status"] == "delivered"


def test_a_letter_waits_in_the_print_queue_until_an_operator_posts_it(invoicing):
    invoice = invoiced(invoicing, completed(), channel="letter")
    ready(invoicing, invoice["id"])
    (letter,) = invoicing.list_deliveries(channel="letter", status="queued_for_print")["items"]
    assert letter["address"].splitlines() == [
        "Ekonomi", "Buyer AB", "Kungsgatan 2", "111 43 Stockholm", "SE"]
    posted = invoicing.mark_posted(letter["id"])
    assert posted["status"] == "posted" and invoicing.mark_posted(letter["id"])["status"] == "posted"
    assert invoicing.get_invoice(ACCOUNT, invoice["id"])["delivery_status"] == "posted"


def test_an_einvoice_is_validated_and_transmitted_and_its_outages_retried(invoicing):
    invoicing.set_access_point_simulator("fail")
    invoice = invoiced(invoicing, completed(), channel="einvoice")
    invoicing._transmit_due(invoice["id"])
    (delivery,) = invoicing.list_deliveries(invoice_id=invoice["id"])["items"]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["history"][-1]["outcome"] == "retry"
    assert invoicing.retry_delivery(delivery["id"])["status"] == "pending"  # under way: as it is

    invoicing.set_access_point_simulator("accept")
    time.sleep(0.05)  # the backoff is 10 ms here
    assert invoicing._transmit_due() == 1
    (delivery,) = invoicing.list_deliveries(invoice_id=invoice["id"])["items"]
    assert (delivery["status"], delivery["attempts"]) == ("transmitted", 2)
    (sent,) = invoicing.transmissions(delivery["id"])
    assert sent["message_id"] == delivery["message_id"] and sent["receiver"] == "0007:5560000001"
    assert einvoice.rejections(einvoice.validator(os.environ["EINVOICE_RULES_DIR"]).check(
        sent["document_xml"].encode())) == []
    assert invoicing._transmit_due() == 0  # sent once


def test_an_access_point_refusal_fails_the_delivery_until_an_operator_retries_it(invoicing):
    invoicing.set_access_point_simulator("reject")
    invoice = invoiced(invoicing, completed(), channel="einvoice")
    invoicing._transmit_due(invoice["id"])
    (delivery,) = invoicing.list_deliveries(status="failed")["items"]
    assert invoicing.get_invoice(ACCOUNT, invoice["id"])["delivery_status"] == "failed"
    invoicing.set_access_point_simulator("accept")
    assert invoicing.retry_delivery(delivery["id"])["status"] == "transmitted"


def test_an_einvoice_the_rules_refuse_is_held_with_their_ids_and_not_sent(invoicing):
    profile = complete_profile(ACCOUNT, 2)
    unknown = profile.model_copy(update={"company": profile.company.model_copy(
        update={"organisation_number": None})})
    invoicing.on_profile_changed(unknown.wire())  # no organisation number: no e-invoice address
    invoice = invoiced(invoicing, completed(), channel="einvoice")
    invoicing._transmit_due(invoice["id"])
    (delivery,) = invoicing.list_deliveries(invoice_id=invoice["id"])["items"]
    assert delivery["status"] == "held" and "PEPPOL-EN16931-R010" in delivery["rule_ids"]
    assert invoicing.transmissions(delivery["id"]) == []
    assert invoicing.get_invoice(ACCOUNT, invoice["id"])["delivery_status"] == "held"
    assert invoicing.retry_delivery(delivery["id"])["status"] == "held"  # still refused


def test_a_mail_delivery_without_an_address_fails_for_operators_instead_of_erroring(
        invoicing, outbox, service_database):
    invoice = invoiced(invoicing, completed())
    database = invoicing.database
    with database.session() as session:
        session.execute(update(Delivery).values(recipient=None))
        session.commit()
    ready(invoicing, invoice["id"])
    (delivery,) = invoicing.list_deliveries(invoice_id=invoice["id"])["items"]
    assert (delivery["status"], delivery["last_error"]) == ("failed", "no e-mail address to send it to")
    assert outbox.of_type("mail_requested") == []
