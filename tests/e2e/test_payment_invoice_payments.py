"""Payment invoices paid through the gateway (some opened by publishing the invoicing
service's ``payment_invoice_opened`` on the product's broker; a wire-transfer order's issued
by invoicing itself): a camt.053 import pays
one in full and one in part and credits an over-payment's surplus to the cash wallet; the card
link pays what remains; an operator matches an unmatched credit to a payment invoice; a card
payment names either an amount or a payment invoice."""

import uuid
from datetime import date, timedelta
from pathlib import Path
from string import Template

import httpx

from services.billing.profile import rf_reference
from services.common import testing
from services.common.contracts import MoneyOut, PaymentInvoiceOpened
from tests.e2e.conftest import Api

DATA = Path(__file__).resolve().parent.parent / "data"
SELLER_IBAN = "SE4550000000058398257466"


def open_invoice(product, customer: Api, total: str) -> PaymentInvoiceOpened:
    evt = PaymentInvoiceOpened(
        payment_invoice_id=str(uuid.uuid4()), account_id=customer.get("/account").json()["id"],
        number=f"PI-2026-{uuid.uuid4().int % 10**6:06d}",
        wire_reference=rf_reference(uuid.uuid4().int % 10**12),
        total=MoneyOut(amount=total, currency="EUR"), due_on=date.today() + timedelta(days=14))
    product.publish(evt)
    return evt


def owed(customer: Api) -> str:
    return customer.get("/account").json()["open_invoices"]["amount"]


def cash(customer: Api) -> str:
    return customer.get("/account").json()["cash_balance"]["amount"]


def import_statement(operator: Api, statement_id: str | None = None, **values: str) -> dict:
    raw = Template((DATA / "camt053_v02_payment_invoices.xml").read_text()).substitute(
        STATEMENT=statement_id or uuid.uuid4().hex[:10], IBAN=SELLER_IBAN,
        **{"FULL_NUMBER": "-", "PARTIAL_REFERENCE": "-", "OVER_NUMBER": "-", "ADVANCE_NUMBER": "-",
           **values})
    answer = operator.http.post("/admin/bank-statements", headers=operator.headers(),
                                files={"file": ("statement.xml", raw.encode(), "application/xml")})
    assert answer.status_code == 201, answer.text
    return answer.json()


def card_for(customer: Api, payment_invoice_id: str):
    return customer.post("/account/card-payments", {"payment_invoice_id": payment_invoice_id},
                         headers={"Idempotency-Key": uuid.uuid4().hex})


def test_a_statement_pays_payment_invoices_in_full_and_in_part_and_the_surplus_is_cash(
    product, operator, customer
):
    full, partial, over = (open_invoice(product, customer, total) for total in ("250.00", "300.00", "50.00"))
    testing.wait_for(lambda: owed(customer) == "600.00", 20, 0.2, "billing never heard of the invoices")

    counts = import_statement(operator, FULL_NUMBER=full.number,
                              PARTIAL_REFERENCE=" ".join([partial.wire_reference[:4],
                                                          partial.wire_reference[4:]]),
                              OVER_NUMBER=over.number)

    assert (counts["matched"], counts["unmatched"]) == (3, 1)  # the advance invoice is not open
    assert owed(customer) == "200.00"  # what remains of the partly paid one
    assert cash(customer) == "30.00"  # the over-payment's surplus, nothing of the rest

    payment = card_for(customer, partial.payment_invoice_id)
    assert payment.status_code == 201, payment.text
    assert (payment.json()["amount"]["amount"], payment.json()["payment_invoice_id"]) == (
        "200.00", partial.payment_invoice_id)
    paid = httpx.post(payment.json()["pay_url"], json={"card_number": "4242424242424242",
                                                       "expiry": "12/30", "cvc": "123",
                                                       "callback_count": 2})
    assert paid.status_code == 200, paid.text
    testing.wait_for(lambda: owed(customer) == "0.00", 15, 0.2, "the card never paid the invoice")
    assert cash(customer) == "30.00"

    again = card_for(customer, partial.payment_invoice_id)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "payment_invoice_not_open")


def test_an_operator_matches_an_unmatched_credit_to_a_payment_invoice(product, operator, customer):
    invoice = open_invoice(product, customer, "250.00")
    testing.wait_for(lambda: owed(customer) == "250.00", 20, 0.2, "billing never heard of the invoice")
    statement_id = uuid.uuid4().hex[:10]
    assert import_statement(operator, statement_id)["unmatched"] == 4
    (target,) = [t for t in operator.items("/admin/bank-transactions?status=unmatched")
                 if t["bank_reference"] == f"{statement_id}-P1"]

    matched = operator.post(f"/admin/bank-transactions/{target['id']}/match",
                            {"payment_invoice_id": invoice.payment_invoice_id})

    assert matched.status_code == 200, matched.text
    assert matched.json()["payment_invoice_id"] == invoice.payment_invoice_id
    assert owed(customer) == "0.00" and cash(customer) == "0.00"
    unknown = operator.post(f"/admin/bank-transactions/{target['id']}/match",
                            {"payment_invoice_id": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")


def test_a_card_payment_names_an_amount_or_a_payment_invoice_and_not_another_accounts(
    product, customer
):
    both = customer.post("/account/card-payments", {
        "amount": {"amount": "5.00", "currency": "EUR"}, "payment_invoice_id": "x"})
    neither = customer.post("/account/card-payments", {})
    assert [(r.status_code, r.json()["error"]["code"]) for r in (both, neither)] == [
        (422, "validation_error")] * 2

    stranger = Api(product.url, product.mail)
    stranger.register("Stranger AB")
    theirs = open_invoice(product, stranger, "10.00")
    testing.wait_for(lambda: owed(stranger) == "10.00", 20, 0.2, "billing never heard of it")
    answer = card_for(customer, theirs.payment_invoice_id)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")


def wire_order(customer: Api, sku: str = "VM-S-1M", quantity: int = 10) -> dict:
    placed = customer.post("/orders", {"lines": [{"sku": sku, "quantity": quantity}],
                                       "payment_method": "wire_transfer", "po_number": "PO-WIRE"},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert placed.status_code == 201, placed.text
    return placed.json()


def payment_invoice_of(customer: Api, order: dict) -> dict:
    def issued() -> dict | None:
        answer = customer.get(f"/invoices/{order['payment_invoice_id']}")
        return answer.json() if answer.status_code == 200 else None

    return testing.wait_for(issued, 20, 0.2, "invoicing never issued the payment invoice")


def test_a_wire_transfer_order_is_implemented_when_its_payment_invoice_is_paid(
    product, operator, customer
):
    order = wire_order(customer)
    assert (order["status"], order["total"]["amount"]) == ("awaiting_payment", "250.00")

    invoice = payment_invoice_of(customer, order)  # issued by invoicing from the order's event
    year = date.today().year
    assert invoice["kind"] == "payment_invoice" and invoice["number"].startswith(f"PI-{year}-")
    assert (invoice["status"], invoice["total"]["amount"], invoice["po_number"]) == (
        "open", "250.00", "PO-WIRE")
    assert invoice["wire_reference"].startswith("RF") and invoice["order_id"] == order["id"]
    listed = customer.items("/invoices?kind=payment_invoice")
    assert [i["id"] for i in listed] == [invoice["id"]]
    testing.wait_for(lambda: owed(customer) == "250.00", 20, 0.2, "billing never heard of it")

    import_statement(operator, FULL_NUMBER=invoice["number"])

    def completed() -> dict | None:
        shown = customer.get(f"/orders/{order['id']}").json()
        return shown if shown["status"] == "completed" else None

    done = testing.wait_for(completed, 20, 0.2, "the paid invoice never completed the order")
    assert done["paid_cash"]["amount"] == "250.00"
    assert (owed(customer), cash(customer)) == ("0.00", "0.00")
    paid = testing.wait_for(lambda: (shown := customer.get(f"/invoices/{invoice['id']}").json())
                            ["status"] == "paid" and shown, 20, 0.2, "never shown paid")
    assert (paid["paid_amount"]["amount"], paid["remaining"]["amount"]) == ("250.00", "0.00")


def test_a_wire_order_paid_by_card_link_that_partly_fails_refunds_the_failed_part_as_cash(
    product, operator, customer
):
    sku = f"E2E-W-{uuid.uuid4().hex[:6].upper()}"
    assert operator.post("/admin/products", {"sku": sku, "name": "Wired", "kind": "service",
                                             "vat_rate": "25", "price": {"amount": "20.00",
                                                                         "currency": "EUR"}}
                         ).status_code == 201
    assert operator.http.put(f"/admin/provisioning-simulator/{sku}", json={
        "outcome": "fail_units", "failed_units": 1}, headers=operator.headers()).status_code == 200
    order = wire_order(customer, sku, 2)  # 50.00
    invoice = payment_invoice_of(customer, order)
    testing.wait_for(lambda: owed(customer) == "50.00", 20, 0.2, "billing never heard of it")

    card = customer.post(f"/payment-invoices/{invoice['id']}/card-payments",
                         headers={"Idempotency-Key": uuid.uuid4().hex})
    assert card.status_code == 201, card.text
    assert httpx.post(card.json()["pay_url"], json={"card_number": "4242424242424242",
                                                    "expiry": "12/30", "cvc": "123"}
                      ).status_code == 200

    def cancelled() -> dict | None:
        shown = customer.get(f"/orders/{order['id']}").json()
        return shown if shown["status"] == "partially_cancelled" else None

    done = testing.wait_for(cancelled, 20, 0.2, "the failed unit was never cancelled")
    assert done["lines"][0]["refunded_cash"]["amount"] == "25.00"
    assert (owed(customer), cash(customer)) == ("0.00", "25.00")


def test_an_expired_wire_orders_payment_invoice_is_void(product, customer):
    from services.common.contracts import utcnow

    order = wire_order(customer, quantity=1)
    invoice = payment_invoice_of(customer, order)
    testing.wait_for(lambda: owed(customer) == "25.00", 20, 0.2, "billing never heard of it")

    product.rpc("orders", "run_timers_at", (utcnow() + timedelta(days=15)).isoformat())

    testing.wait_for(lambda: customer.get(f"/invoices/{invoice['id']}").json()["status"] == "void",
                     20, 0.2, "the payment invoice was never voided")
    assert owed(customer) == "0.00"
    refused = customer.post(f"/payment-invoices/{invoice['id']}/card-payments",
                            headers={"Idempotency-Key": uuid.uuid4().hex})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "payment_invoice_not_open")


def test_shipped_goods_are_billed_by_a_payment_invoice_on_request_and_paid_by_wire(
    product, operator, customer
):
    sku = f"E2E-S-{uuid.uuid4().hex[:6].upper()}"
    assert operator.post("/admin/products", {
        "sku": sku, "name": "Rack shelf", "kind": "goods", "vat_rate": "25",
        "price": {"amount": "80.00", "currency": "EUR"}}).status_code == 201
    operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 5}, headers=operator.headers())
    order = customer.post("/orders", {"lines": [{"sku": sku, "quantity": 2}]},
                          headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    customer.post(f"/orders/{order['id']}/send-for-confirmation")
    customer.post(f"/orders/{order['id']}/send-for-shipment")
    (shipment,) = customer.items(f"/shipments?order_id={order['id']}")
    not_yet = customer.post("/payment-invoices", {"shipment_ids": [shipment["id"]]},
                            headers={"Idempotency-Key": uuid.uuid4().hex})
    assert not_yet.status_code == 404  # not shipped: not a realization yet
    for step in ("assembled", "shipped"):
        assert operator.post(f"/admin/shipments/{shipment['id']}/status",
                             {"status": step}).status_code == 200

    def billed():
        answer = customer.post("/payment-invoices", {"shipment_ids": [shipment["id"]]},
                               headers={"Idempotency-Key": uuid.uuid4().hex})
        return answer if answer.status_code == 201 else None

    invoice = testing.wait_for(billed, 20, 0.3, "the realization never reached invoicing").json()
    assert (invoice["total"]["amount"], invoice["shipment_ids"]) == ("200.00", [shipment["id"]])
    again = customer.post("/payment-invoices", {"shipment_ids": [shipment["id"]]},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_already_invoiced")
    testing.wait_for(lambda: owed(customer) == "200.00", 20, 0.2, "billing never heard of it")

    import_statement(operator, PARTIAL_REFERENCE=invoice["wire_reference"])  # 100.00 of it
    testing.wait_for(lambda: owed(customer) == "100.00", 20, 0.2, "the wire never paid part")
    partly = customer.get(f"/invoices/{invoice['id']}").json()
    assert (partly["status"], partly["remaining"]["amount"]) == ("open", "100.00")


def test_a_payment_invoice_for_any_amount_paid_by_card_tops_up_the_balance(customer):
    made = customer.post("/payment-invoices", {"amount": {"amount": "40.00", "currency": "EUR"}},
                         headers={"Idempotency-Key": uuid.uuid4().hex})
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert invoice["claim"] is False and invoice["number"].startswith("PI-")

    def card_started():
        answer = customer.post(f"/payment-invoices/{invoice['id']}/card-payments",
                               headers={"Idempotency-Key": uuid.uuid4().hex})
        return answer if answer.status_code == 201 else None

    card = testing.wait_for(card_started, 20, 0.3, "billing never opened it").json()
    httpx.post(card["pay_url"], json={"card_number": "4242424242424242", "expiry": "12/30",
                                      "cvc": "123"})
    testing.wait_for(lambda: cash(customer) == "40.00", 20, 0.2, "the advance never reached cash")
    bad = customer.post("/payment-invoices", {"shipment_ids": ["x"], "amount": {
        "amount": "1.00", "currency": "EUR"}}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert bad.status_code == 422


def test_the_link_on_a_payment_invoice_opens_a_page_that_pays_it_by_card(product, customer):
    order = wire_order(customer, quantity=2)
    invoice = payment_invoice_of(customer, order)
    assert invoice["pay_url"] == f"{product.url}/pay/{invoice['id']}"
    testing.wait_for(lambda: owed(customer) == "50.00", 20, 0.2, "billing never heard of it")

    page = httpx.get(invoice["pay_url"])  # opening the link spends nothing: only a form
    assert page.status_code == 200 and invoice["number"] in page.text and "€50.00" in page.text
    assert invoice["wire_reference"] in page.text and page.headers["cache-control"] == "no-store"
    pressed = httpx.post(invoice["pay_url"], follow_redirects=False)
    again = httpx.post(invoice["pay_url"], follow_redirects=False)  # a double click: one payment
    assert pressed.status_code == 303 and pressed.headers["location"] == again.headers["location"]
    assert "/sim/card/" in pressed.headers["location"]
    paid = httpx.post(pressed.headers["location"], json={"card_number": "4242424242424242",
                                                          "expiry": "12/30", "cvc": "123"})
    assert paid.status_code == 200, paid.text

    def completed() -> dict | None:
        shown = customer.get(f"/orders/{order['id']}").json()
        return shown if shown["status"] == "completed" else None

    testing.wait_for(completed, 20, 0.2, "the card-paid invoice never completed the order")
    testing.wait_for(lambda: "is paid" in httpx.get(invoice["pay_url"]).text, 20, 0.2,
                     "the page never said the invoice is paid")
    assert cash(customer) == "0.00"
    assert httpx.get(f"{product.url}/pay/{uuid.uuid4()}").status_code == 404
    assert httpx.get(f"{product.url}/pay/{'x' * 100}").status_code == 404
