"""Every customer document as a PDF a person would accept, through the gateway and the real
services: the invoice is Factur-X (its EN 16931 CII XML inside, byte for byte what its data
makes, valid under the official rules), the payment invoice says how to pay it, a licence
order gets a delivery note with its keys, a shipment a shipment note; each is in Files."""

import io
import os
import uuid

from pypdf import PdfReader

from services.common import facturx
from services.common.contracts import InvoiceOut
from services.common.einvoice import rejections
from services.common.testing import wait_for
from tests.e2e.test_invoice_amounts import give_profile, issue, new_customer, pdf_text, wait_pdf
from tests.e2e.test_payment_invoice_payments import payment_invoice_of, wire_order
from tests.e2e.test_reports import shipped_goods_order


def test_an_invoice_pdf_carries_the_cii_its_data_makes_and_the_rules_accept_it(product, operator):
    customer = new_customer(product, operator)
    give_profile(customer)
    order = customer.order(po_number="PO-FX-1")
    _, invoice = issue(customer, [order["id"]])
    pdf = wait_pdf(customer, f"/invoices/{invoice['id']}/pdf")

    embedded = facturx.extract(pdf)
    assert embedded == facturx.cii(InvoiceOut.model_validate(invoice))  # byte for byte
    validator = facturx.CiiValidator(rules_dir=os.environ["EINVOICE_RULES_DIR"])
    assert rejections(validator.check(embedded)) == []
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None and (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "B")  # PDF/A-3b
    text = pdf_text(pdf)
    assert invoice["number"] in text and "PO-FX-1" in text
    assert "Page 1 of 1" in text  # page numbers


def test_a_payment_invoice_pdf_says_how_to_pay_by_wire_and_by_card(product, operator):
    customer = new_customer(product, operator, cash="0.00")
    give_profile(customer)
    order = wire_order(customer)
    payment_invoice = payment_invoice_of(customer, order)
    text = pdf_text(wait_pdf(customer, f"/invoices/{payment_invoice['id']}/pdf"))
    for words in ("Invoice for payment", payment_invoice["number"], payment_invoice["wire_reference"],
                  "IBAN", "PO-WIRE", "Scan in your banking app", "Scan to pay by card"):
        assert words in text, (words, text)
    assert f"/pay/{payment_invoice['id']}" in "".join(text.split())  # the link, however it wraps


def test_a_licence_order_gets_a_delivery_note_with_its_keys_in_files(product, operator):
    customer = new_customer(product, operator)
    sku = f"E2E-L-{uuid.uuid4().hex[:6].upper()}"
    assert operator.post("/admin/products", {
        "sku": sku, "name": "Office suite licence", "kind": "licence", "vat_rate": "25",
        "price": {"amount": "30.00", "currency": "EUR"}}).status_code == 201
    order = customer.order(sku, 2)
    done = wait_for(lambda: (o := customer.get(f"/orders/{order['id']}").json())["status"] == "completed"
                    and o, 30, message="the licence order never completed")

    def note():
        return next((f for f in customer.items("/files") if f["kind"] == "licence_delivery_note"), None)

    listed = wait_for(note, 30, message="no licence delivery note in Files")
    text = pdf_text(customer.get(f"/files/{listed['id']}/content").content)
    assert "Licence delivery note" in text and done["lines"][0]["licence_key"] in text


def test_a_shipped_order_gets_a_shipment_note_in_files(product, operator):
    customer = new_customer(product, operator)
    _, shipment, skus = shipped_goods_order(operator, customer)

    def note():
        return next((f for f in customer.items("/files") if f["kind"] == "shipment_note"), None)

    listed = wait_for(note, 30, message="no shipment note in Files")
    text = pdf_text(customer.get(f"/files/{listed['id']}/content").content)
    assert "Shipment note" in text and shipment["number"] in text and skus[0] in text
