"""The product's central story, through HTTP against all five processes: a customer pays an
order in cash and gets an invoice PDF for it."""

import subprocess
from decimal import Decimal

from services.common import testing


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def test_a_cash_paid_order_becomes_an_issued_invoice_with_a_pdf(customer, operator):
    walk_the_skeleton(customer, operator)


def walk_the_skeleton(customer, operator):
    # 1. the account exists and an operator credits its cash balance
    account = customer.get("/account").json()
    assert account["cash_balance"] == {"amount": "0.00", "currency": "EUR"}
    operator.top_up(account["id"], "100.00")
    assert customer.get("/account").json()["cash_balance"]["amount"] == "100.00"

    # 2. the catalogue has products; the customer orders one, paying from the balance
    products = {p["sku"]: p for p in customer.items("/products")}
    assert "VM-S-1M" in products
    order = customer.order("VM-S-1M", 2, po_number="PO-4711")
    assert order["status"] == "completed"
    assert [order[f]["amount"] for f in ("net", "vat", "total", "paid_cash")] == [
        "40.00", "10.00", "50.00", "50.00"]
    assert customer.get(f"/orders/{order['id']}").json() == order
    assert customer.get("/account").json()["cash_balance"]["amount"] == "50.00"

    # 3. invoicing learnt of the implemented order from the event
    row = customer.wait_invoiceable(order["id"])
    assert row["invoiceable"] and row["invoiceable_amount"] == {"amount": "50.00", "currency": "EUR"}
    assert row["po_number"] == "PO-4711"

    # 4. with its billing and mailing information given, apply (the confirmation page) and
    # confirm: the invoice is issued with a number
    refused = customer.post("/invoice-applications", {"order_ids": [order["id"]]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] in ("billing_info_missing", "mailing_info_missing")
    customer.complete_profile()
    application = customer.post("/invoice-applications", {"order_ids": [order["id"]]})
    assert application.status_code == 201, application.text
    assert application.json()["status"] == "awaiting_confirmation"
    assert application.json()["total"]["amount"] == "50.00"
    confirmed = customer.post(f"/invoice-applications/{application.json()['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "issued"
    invoice = customer.get(f"/invoices/{confirmed.json()['invoice_id']}").json()
    assert invoice["number"].startswith("INV-")
    assert Decimal(invoice["total"]["amount"]) == Decimal("50.00")
    [row] = customer.items("/invoiceable-orders")
    assert (row["invoiceable"], row["reason"]) == (False, "order_already_invoiced")

    # 5. the PDF: rendered by the documents service, with number, buyer and amount
    def rendered():
        answer = customer.get(f"/invoices/{invoice['id']}/pdf")
        return answer if answer.status_code == 200 else None

    pdf = testing.wait_for(rendered, 60, 0.5, "the invoice PDF was never rendered")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert invoice["number"] in text
    assert "Ada AB" in text
    assert "50.00" in text
    assert "PO-4711" in text
    assert customer.get(f"/invoices/{invoice['id']}").json()["pdf_status"] == "ready"


def test_another_customers_invoice_answers_404_like_a_missing_one(customer, operator, product):
    from tests.e2e.conftest import Api

    account = customer.get("/account").json()
    customer.complete_profile()
    operator.top_up(account["id"], "30.00")
    order = customer.order()
    customer.wait_invoiceable(order["id"])
    application = customer.post("/invoice-applications", {"order_ids": [order["id"]]}).json()
    confirmed = customer.post(f"/invoice-applications/{application['id']}/confirm").json()
    invoice = {"id": confirmed["invoice_id"]}

    stranger = Api(product.url, product.mail)
    stranger.register("Mallory AB")
    stranger.complete_profile()
    for path in (f"/invoices/{invoice['id']}", f"/invoices/{invoice['id']}/pdf",
                 f"/orders/{order['id']}", f"/invoice-applications/{application['id']}"):
        answer = stranger.get(path)
        missing = stranger.get(path.replace(path.split("/")[2], "00000000-0000-0000-0000-000000000000"))
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    refused = stranger.post("/invoice-applications", {"order_ids": [order["id"]]})
    assert refused.status_code == 404


def test_an_order_the_balance_does_not_cover_is_refused_charges_nothing_and_stays_listed(customer):
    answer = customer.post("/orders", {"lines": [{"sku": "LIC-SCHED-1Y", "quantity": 1}]})
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "insufficient_funds"
    [order] = customer.items("/orders")
    assert order["status"] == "cancelled"
    assert order["payment_refusal"]["code"] == "insufficient_funds"
    assert customer.get("/account").json()["cash_balance"]["amount"] == "0.00"
