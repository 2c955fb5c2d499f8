"""Credit notes through HTTP: an operator's refund of units of an invoiced order issues a
credit note, in its own series, for exactly those units and the cash given back (which is back
in the cash balance); the same refund repeated with its Idempotency-Key refunds and credits
nothing more; more units than remain are refused; an operator's full credit frees the order to
be invoiced anew and answers the same credit note when repeated; the hash chain of issued
documents stays whole; another account's credit note is not found."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from services.common import testing
from services.common.profile_testing import ADDRESS
from tests.e2e.conftest import Api
from tests.e2e.test_invoice_amounts import (
    assert_sums_hold,
    give_profile,
    invoice_of,
    issue,
    money,
    new_customer,
    organisation_number,
    pdf_text,
    put,
    rule_ids,
    wait_invoiceable,
    wait_pdf,
)

CREDIT_NOTE_NUMBER = re.compile(rf"^CN-{date.today().year}-\d{{6}}$")


def refund(operator: Api, order_id: str, units: int, key: str, reason: str = "one VM ended"):
    return operator.post(f"/admin/orders/{order_id}/refunds",
                         {"lines": [{"line_no": 1, "quantity": units}], "reason": reason},
                         headers={"Idempotency-Key": key})


def cash(customer: Api) -> Decimal:
    return money(customer.get("/account").json()["cash_balance"])


def credit_notes(customer: Api, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The account's credit notes, newest first, once there are ``count`` of them."""
    def listed() -> list[dict[str, Any]] | None:
        notes = customer.items("/invoices?kind=credit_note")
        return notes if len(notes) >= count else None

    return testing.wait_for(listed, timeout, 0.3, f"{count} credit note(s) never issued")


def test_a_refund_of_units_of_an_invoiced_order_is_credited_for_exactly_those_units_once(
        product, operator):
    customer = new_customer(product, operator, "100.00")
    give_profile(customer)
    order = customer.order("VM-S-1M", 3)  # 75.00 of cash: 25.00 left
    _, invoice = issue(customer, [order["id"]])
    assert cash(customer) == Decimal("25.00")

    key = uuid.uuid4().hex
    refunded = refund(operator, order["id"], 1, key)

    assert refunded.status_code == 200, refunded.text
    (line,) = refunded.json()["lines"]
    assert (line["returned_quantity"], money(line["refunded_cash"])) == (1, Decimal("25.00"))
    assert cash(customer) == Decimal("50.00")  # the unit's cash is back in the balance
    (note,) = credit_notes(customer, 1)
    assert note["kind"] == "credit_note" and CREDIT_NOTE_NUMBER.match(note["number"]), note["number"]
    assert note["credited_invoice_id"] == invoice["id"]
    assert note["credited_invoice_number"] == invoice["number"]
    assert note["credit_reason"] == "one VM ended"
    (credited,) = note["lines"]
    assert (credited["order_id"], credited["sku"], credited["quantity"]) == (order["id"], "VM-S-1M", 1)
    assert [money(note[f]) for f in ("net", "vat", "total", "prepaid", "amount_due")] == [
        Decimal("20.00"), Decimal("5.00"), Decimal("25.00"), Decimal("25.00"), 0]
    assert_sums_hold(note)
    assert customer.get(f"/invoices/{note['id']}").json()["id"] == note["id"]
    assert [i["id"] for i in customer.items("/invoices?kind=invoice")] == [invoice["id"]]
    text = pdf_text(wait_pdf(customer, f"/invoices/{note['id']}/pdf"))
    assert note["number"] in text and invoice["number"] in text

    again = refund(operator, order["id"], 1, key)  # a retry after a timeout: the same refund

    assert again.status_code == 200 and again.json() == refunded.json()
    assert cash(customer) == Decimal("50.00")
    second = refund(operator, order["id"], 1, uuid.uuid4().hex, "another VM ended")
    assert second.status_code == 200, second.text
    assert cash(customer) == Decimal("75.00")
    newest, first = credit_notes(customer, 2)
    assert first["id"] == note["id"] and newest["credit_reason"] == "another VM ended"
    assert [ln["quantity"] for ln in newest["lines"]] == [1]
    assert len(customer.items("/invoices?kind=credit_note")) == 2  # none for the repeat

    too_many = refund(operator, order["id"], 2, uuid.uuid4().hex)  # 1 unit remains
    assert too_many.status_code == 422, too_many.text
    assert cash(customer) == Decimal("75.00")
    in_part = operator.post(f"/admin/invoices/{invoice['id']}/credit-notes", {"reason": "all"})
    assert (in_part.status_code, in_part.json()["error"]["code"]) == (409, "invoice_already_credited")


def test_an_operators_full_credit_frees_the_order_to_be_invoiced_anew(product, operator):
    customer = new_customer(product, operator, "50.00")
    put(customer, "/account/company", {"legal_name": "Ada AB", "country": "SE", "address": ADDRESS,
                                       "organisation_number": organisation_number()})
    give_profile(customer)
    order = customer.order("VM-S-1M", 2)  # 50.00
    _, invoice = issue(customer, [order["id"]])
    assert customer.post(f"/admin/invoices/{invoice['id']}/credit-notes",
                         {"reason": "wrong buyer"}).status_code == 403

    made = operator.post(f"/admin/invoices/{invoice['id']}/credit-notes",
                         {"reason": "the buyer's name was wrong"})

    assert made.status_code == 201, made.text
    note = made.json()
    assert note["kind"] == "credit_note" and CREDIT_NOTE_NUMBER.match(note["number"])
    assert note["credited_invoice_id"] == invoice["id"]
    assert [(ln["order_id"], ln["quantity"]) for ln in note["lines"]] == [(order["id"], 2)]
    assert [money(note[f]) for f in ("net", "vat", "total", "prepaid", "amount_due")] == [
        Decimal("40.00"), Decimal("10.00"), Decimal("50.00"), Decimal("50.00"), 0]
    assert invoice_of(customer, invoice["id"])["status"] == "credited"
    xml = customer.get(f"/invoices/{note['id']}/xml")
    assert xml.status_code == 200 and "<CreditNote" in xml.text and invoice["number"] in xml.text
    assert rule_ids(xml.content) == []
    assert cash(customer) == 0  # a correction: nothing is refunded
    again = operator.post(f"/admin/invoices/{invoice['id']}/credit-notes", {"reason": "again"})
    assert (again.status_code, again.json()["id"]) == (201, note["id"])
    assert [n["id"] for n in credit_notes(customer, 1)] == [note["id"]]

    row = wait_invoiceable(customer, order["id"])
    assert money(row["invoiceable_amount"]) == Decimal("50.00")
    _, reissued = issue(customer, [order["id"]])
    assert reissued["id"] != invoice["id"] and reissued["number"] != invoice["number"]
    assert reissued["order_ids"] == [order["id"]] and money(reissued["total"]) == Decimal("50.00")
    assert reissued["status"] == "issued"

    verified = subprocess.run([sys.executable, "-m", "services.invoicing.cli", "verify-chain"],
                              env=product.env, cwd=testing.ROOT, capture_output=True, text=True,
                              timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "the chain is whole" in verified.stdout


def test_another_accounts_credit_note_is_not_found(product, operator):
    customer = new_customer(product, operator, "25.00")
    give_profile(customer)
    order = customer.order("VM-S-1M")
    _, invoice = issue(customer, [order["id"]])
    note = operator.post(f"/admin/invoices/{invoice['id']}/credit-notes", {"reason": "undone"}).json()
    wait_pdf(customer, f"/invoices/{note['id']}/pdf")

    stranger = new_customer(product, operator, "0.00", "Stranger AB")

    for path in ("", "/pdf", "/xml"):
        answer = stranger.get(f"/invoices/{note['id']}{path}")
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), path
    assert stranger.items("/invoices?kind=credit_note") == []
