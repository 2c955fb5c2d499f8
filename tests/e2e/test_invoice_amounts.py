"""An issued invoice's amounts through HTTP (EN 16931): VAT per category and rate on the sum of
the lines; a voucher's share of an order is a document-level allowance, so the invoice bills
exactly the cash paid (prepaid), the cent VAT-on-the-sum differs from the per-line amounts is
the rounding amount, and nothing is due; a business buyer in another EU country is reverse
charged (AE, 0 %); the UBL e-invoice passes the official EN 16931 and Peppol BIS rules."""

from __future__ import annotations

import os
import subprocess
import uuid
from decimal import Decimal
from typing import Any

from services.common import einvoice, testing
from services.common.profile_testing import ADDRESS, BILLING, MAILING
from tests.e2e.conftest import Api
from tests.e2e.test_implementation import place
from tests.e2e.test_order_payment_methods import give_voucher

# -- helpers shared by the invoicing e2e modules (amounts, credit notes, delivery) ---------------


def money(part: dict[str, str] | None) -> Decimal:
    assert part is not None, "an amount is missing"
    return Decimal(part["amount"])


def put(api: Api, path: str, body: Any) -> dict[str, Any]:
    answer = api.http.put(path, json=body, headers=api.headers())
    assert answer.status_code == 200, f"PUT {path}: {answer.status_code} {answer.text}"
    return answer.json()


def give_profile(customer: Api, *, billing: dict | None = None, address: dict | None = None) -> str:
    """Billing and mailing information, documents mailed to an address of this customer's own
    (the mail sink is shared by every test); returns that e-mail."""
    email = f"ap-{uuid.uuid4().hex[:10]}@ada.example"
    address = address or ADDRESS
    put(customer, "/account/billing-info", billing or {**BILLING, "address": address})
    put(customer, "/account/mailing-info", {**MAILING, "address": address, "email": email})
    return email


def organisation_number() -> str:
    """A Swedish organisation number, fresh for each call: ten digits, the last a Luhn check
    digit (Peppol PEPPOL-COMMON-R049 refuses any other)."""
    main = f"55{uuid.uuid4().int % 10**7:07d}"
    total = sum(sum(divmod(int(d) * 2, 10)) if i % 2 == 0 else int(d)
                for i, d in enumerate(reversed(main)))
    return main + str((10 - total % 10) % 10)


def new_customer(product: testing.Product, operator: Api, cash: str = "100.00",
                 company: str = "Ada Cloud AB") -> Api:
    customer = Api(product.url, product.mail)
    account_id = customer.register(company)["account_id"]
    if cash != "0.00":
        operator.top_up(account_id, cash)
    return customer


def new_sku(operator: Api, price: str, vat_rate: str = "25", category: str = "S") -> str:
    sku = f"E2E-A-{uuid.uuid4().hex[:6].upper()}"
    made = operator.post("/admin/products", {
        "sku": sku, "name": f"Priced {price} at {vat_rate} %", "kind": "service",
        "vat_category": category, "vat_rate": vat_rate,
        "price": {"amount": price, "currency": "EUR"}})
    assert made.status_code == 201, made.text
    return sku


def apply(customer: Api, order_ids: list[str], **extra: Any) -> dict[str, Any]:
    answer = customer.post("/invoice-applications", {"order_ids": order_ids, **extra},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code == 201, answer.text
    return answer.json()


def confirm(customer: Api, application_id: str) -> dict[str, Any]:
    answer = customer.post(f"/invoice-applications/{application_id}/confirm")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "issued", answer.text
    return answer.json()


def invoice_of(customer: Api, invoice_id: str) -> dict[str, Any]:
    answer = customer.get(f"/invoices/{invoice_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_invoiceable(customer: Api, order_id: str, timeout: float = 30) -> dict[str, Any]:
    """The order's row on the Invoiceable List once it can be chosen."""
    def chosen() -> dict[str, Any] | None:
        rows = customer.items("/invoiceable-orders")
        return next((r for r in rows if r["order_id"] == order_id and r["invoiceable"]), None)

    return testing.wait_for(chosen, timeout, 0.3, f"order {order_id} never became invoiceable")


def issue(customer: Api, order_ids: list[str], **extra: Any) -> tuple[dict, dict]:
    """Wait for the orders on the Invoiceable List, apply, confirm: (application, invoice)."""
    for order_id in order_ids:
        wait_invoiceable(customer, order_id)
    confirmed = confirm(customer, apply(customer, order_ids, **extra)["id"])
    return confirmed, invoice_of(customer, confirmed["invoice_id"])


def wait_pdf(api: Api, path: str, timeout: float = 60) -> bytes:
    def rendered() -> bytes | None:
        answer = api.get(path)
        return answer.content if answer.status_code == 200 else None

    pdf = testing.wait_for(rendered, timeout, 0.5, f"{path} never answered a PDF")
    assert pdf.startswith(b"%PDF"), pdf[:20]
    return pdf


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def rule_ids(xml: bytes) -> list[str]:
    """The rules (UBL schema, EN 16931, Peppol BIS) that refuse an e-invoice; [] when it passes."""
    findings = einvoice.validator(os.environ["EINVOICE_RULES_DIR"]).check(xml)
    return einvoice.rejections(findings)


def assert_sums_hold(invoice: dict[str, Any]) -> None:
    """EN 16931's sums: the lines' net per group and in all, less allowances, is the taxable
    amount; VAT per group; total = taxable + VAT; due = total - prepaid + rounding = 0."""
    groups = invoice["vat_breakdown"]
    lines = invoice["lines"]
    assert money(invoice["lines_net"]) == sum(money(line["net"]) for line in lines)
    assert money(invoice["lines_net"]) == sum(money(g["lines_net"]) for g in groups)
    assert money(invoice["allowances"]) == sum(money(g["allowance"]) for g in groups)
    assert money(invoice["net"]) == sum(money(g["taxable"]) for g in groups)
    assert money(invoice["net"]) == money(invoice["lines_net"]) - money(invoice["allowances"])
    assert money(invoice["vat"]) == sum(money(g["vat"]) for g in groups)
    assert money(invoice["total"]) == money(invoice["net"]) + money(invoice["vat"])
    for group in groups:
        assert money(group["taxable"]) == money(group["lines_net"]) - money(group["allowance"])
        rate = Decimal(group["rate"]) / 100
        assert money(group["vat"]) == (money(group["taxable"]) * rate).quantize(Decimal("0.01"),
                                                                                  "ROUND_HALF_UP")
    assert money(invoice["amount_due"]) == 0
    assert (money(invoice["total"]) - money(invoice["prepaid"]) + money(invoice["rounding"])
            == money(invoice["amount_due"]))


# -- the rules ------------------------------------------------------------------------------------


def test_a_cash_order_is_invoiced_at_its_lines_with_one_standard_vat_group_and_nothing_due(
        product, operator):
    customer = new_customer(product, operator)
    give_profile(customer)
    order = customer.order("VM-S-1M", 2, po_number="PO-AMOUNTS")  # 2 × 20.00 + 25 % = 50.00

    _, invoice = issue(customer, [order["id"]])

    assert invoice["kind"] == "invoice" and invoice["currency"] == "EUR"
    (line,) = invoice["lines"]
    assert (line["sku"], line["quantity"], line["vat_category"]) == ("VM-S-1M", 2, "S")
    assert [money(line[f]) for f in ("unit_price", "net", "vat", "gross")] == [
        Decimal("20.00"), Decimal("40.00"), Decimal("10.00"), Decimal("50.00")]
    assert [money(invoice[f]) for f in ("net", "vat", "total", "prepaid", "rounding", "amount_due")
            ] == [Decimal("40.00"), Decimal("10.00"), Decimal("50.00"), Decimal("50.00"), 0, 0]
    assert money(invoice["allowances"]) == 0
    (group,) = invoice["vat_breakdown"]
    assert (group["category"], Decimal(group["rate"])) == ("S", Decimal("25"))
    assert [money(group[f]) for f in ("lines_net", "allowance", "taxable", "vat")] == [
        Decimal("40.00"), 0, Decimal("40.00"), Decimal("10.00")]
    assert group["exemption_reason"] is None and group["exemption_reason_code"] is None
    assert invoice["po_numbers"] == ["PO-AMOUNTS"] and invoice["order_ids"] == [order["id"]]
    assert_sums_hold(invoice)


def test_a_cash_and_voucher_order_is_invoiced_for_its_cash_with_the_voucher_as_an_allowance(
        product, operator):
    customer = new_customer(product, operator)
    give_profile(customer)
    give_voucher(operator, customer, "10.03")
    order = place(customer, "VM-S-1M", 1, "balance+voucher")  # 25.00: 10.03 voucher, 14.97 cash
    assert (money(order["paid_cash"]), money(order["paid_voucher"])) == (
        Decimal("14.97"), Decimal("10.03"))

    _, invoice = issue(customer, [order["id"]])

    (line,) = invoice["lines"]  # the line at its full price
    assert (line["quantity"], money(line["unit_price"]), money(line["net"])) == (
        1, Decimal("20.00"), Decimal("20.00"))
    (group,) = invoice["vat_breakdown"]
    voucher_net = (Decimal("10.03") / Decimal("1.25")).quantize(Decimal("0.01"))  # 8.02
    assert money(group["allowance"]) == voucher_net == money(invoice["allowances"])
    assert money(group["taxable"]) == Decimal("11.98") == money(invoice["net"])
    assert money(group["vat"]) == Decimal("3.00") == money(invoice["vat"])
    cash = Decimal("14.97")
    assert money(invoice["net"]) + money(invoice["vat"]) + money(invoice["rounding"]) == cash
    assert money(invoice["rounding"]) == Decimal("-0.01")  # 14.97 is no taxable + 25 % of it
    assert money(invoice["prepaid"]) == cash
    assert money(invoice["amount_due"]) == 0
    assert_sums_hold(invoice)


def test_orders_at_two_vat_rates_give_two_groups_each_taxed_on_the_sum_of_its_lines(
        product, operator):
    customer = new_customer(product, operator)
    give_profile(customer)
    reduced = new_sku(operator, "1.05", "12")  # 0.126 → 0.13 of VAT a line, 1.18 paid
    first, second = customer.order(reduced), customer.order(reduced)
    standard = customer.order("VM-S-1M")  # 25.00

    _, invoice = issue(customer, [first["id"], second["id"], standard["id"]])

    assert [(g["category"], Decimal(g["rate"])) for g in invoice["vat_breakdown"]] == [
        ("S", Decimal("12")), ("S", Decimal("25"))]
    low, high = invoice["vat_breakdown"]
    assert [money(low[f]) for f in ("lines_net", "taxable", "vat")] == [
        Decimal("2.10"), Decimal("2.10"), Decimal("0.25")]  # 12 % of 2.10, not 2 × 0.13
    assert [money(high[f]) for f in ("lines_net", "taxable", "vat")] == [
        Decimal("20.00"), Decimal("20.00"), Decimal("5.00")]
    assert sorted(Decimal(line["vat_rate"]) for line in invoice["lines"]) == [
        Decimal("12"), Decimal("12"), Decimal("25")]
    paid = Decimal("1.18") * 2 + Decimal("25.00")
    assert money(invoice["prepaid"]) == paid
    assert money(invoice["total"]) == Decimal("27.35")
    assert money(invoice["rounding"]) == Decimal("0.01")
    assert_sums_hold(invoice)


GERMAN_ADDRESS = {"street": "Friedrichstraße 10", "postal_code": "10117", "city": "Berlin",
                  "country": "DE"}


def test_a_business_buyer_in_another_eu_country_is_reverse_charged_at_zero(product, operator):
    customer = new_customer(product, operator, company="Ada Cloud GmbH")
    put(customer, "/account/company", {
        "legal_name": "Ada Cloud GmbH", "vat_number": "DE123456789", "country": "DE",
        "organisation_number": "4000001000005", "address": GERMAN_ADDRESS})
    give_profile(customer, billing={"legal_name": "Ada Cloud GmbH", "tax_id": "DE123456789",
                                    "address": GERMAN_ADDRESS}, address=GERMAN_ADDRESS)
    assert customer.post("/cart/items", {"sku": "VM-S-1M", "quantity": 1}).status_code == 200

    def reverse_charged() -> bool:  # the orders service has heard of the VAT number
        return customer.get("/cart").json()["items"][0]["vat_category"] == "AE"

    testing.wait_for(reverse_charged, 20, 0.3, "the cart never priced the line reverse charged")
    order = customer.order("VM-S-1M", 2)

    (order_line,) = order["lines"]
    assert (order_line["vat_category"], Decimal(order_line["vat_rate"])) == ("AE", 0)
    assert money(order_line["vat"]) == 0 and money(order["total"]) == Decimal("40.00")
    _, invoice = issue(customer, [order["id"]])
    (group,) = invoice["vat_breakdown"]
    assert (group["category"], Decimal(group["rate"]), money(group["vat"])) == ("AE", 0, 0)
    assert group["exemption_reason"] == "Reverse charge"
    assert group["exemption_reason_code"] == "VATEX-EU-AE"
    assert money(invoice["total"]) == Decimal("40.00") == money(invoice["prepaid"])
    assert invoice["buyer"]["vat_id"] == "DE123456789"
    assert invoice["seller"]["country"] == "SE"
    assert_sums_hold(invoice)
    xml = customer.get(f"/invoices/{invoice['id']}/xml")
    assert xml.status_code == 200, xml.text
    assert rule_ids(xml.content) == []


def test_an_issued_invoices_e_invoice_passes_the_en16931_and_peppol_rules(product, operator):
    customer = new_customer(product, operator)
    put(customer, "/account/company", {"legal_name": "Ada AB", "country": "SE", "address": ADDRESS,
                                       "organisation_number": organisation_number(),
                                       "vat_number": "SE556677889901"})
    give_profile(customer)
    give_voucher(operator, customer, "10.03")
    mixed = place(customer, "VM-S-1M", 1, "balance+voucher")
    reduced = customer.order(new_sku(operator, "1.05", "12"))

    _, invoice = issue(customer, [mixed["id"], reduced["id"]])

    assert money(invoice["allowances"]) > 0 and money(invoice["rounding"]) != 0
    answer = customer.get(f"/invoices/{invoice['id']}/xml")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert invoice["number"] in answer.text
    assert "Paid by voucher" in answer.text
    assert rule_ids(answer.content) == []
