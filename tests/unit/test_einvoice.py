"""E-invoices: every invoice and credit note the domain issues, written as Peppol BIS Billing 3.0
UBL, passes the UBL 2.1 schema, the EN 16931 rules and the Peppol rules with no fatal finding —
over a randomized corpus (1–60 lines, categories S, Z, E, AE and O, rounding edges, voucher
allowances, PO numbers, buyers in SE, NO, DE and FI) — and the checker refuses what it should:
the hand-made bad fixtures, a buyer without an e-invoice address, tampered totals, a DOCTYPE.

Documents are built the way the service builds them: ``domain.Document`` with the configured
seller, an ``Invoice`` row as ``InvoicingService._issued`` makes it (in memory, no database),
then ``invoice_out``.  The official rules are read from ``EINVOICE_RULES_DIR`` (default
``<repo>/../shared/einvoice``); without them the tests fail, they are never skipped."""

import json
import os
import random
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from services.common import einvoice
from services.common.config import Settings
from services.common.contracts import InvoiceOut, PartySnapshot, utcnow
from services.common.countries import participant_id
from services.common.money import Money, exponent
from services.common.seller import seller_party
from services.invoicing import domain
from services.invoicing.models import Invoice
from services.invoicing.service import invoice_out
from services.orders.domain import refund_of, split_lines

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = Path(os.environ.get("EINVOICE_RULES_DIR") or REPO.parent / "shared" / "einvoice")
HANDMADE = RULES_DIR / "examples-handmade"
NS = {"cac": einvoice.CAC, "cbc": einvoice.CBC}
SEED = 20261122

SWEDISH_RATES = ("25", "12", "6")  # SE-R-006: a Swedish seller's only standard rates
FOREIGN_RATES = ("25.5", "19", "24")
PRICES = ("0.01", "0.02", "0.05", "0.10", "0.25", "0.50", "1.99", "4.50", "12.49", "99.95",
          "999.99")
# (price, rate) whose net at an odd quantity puts the VAT on half a minor unit: 25 % of 2 mod 4
# minor units, 6 % of 25 mod 50
HALF_UNIT_VAT = (("0.02", "25"), ("0.10", "25"), ("0.50", "25"), ("12.50", "25"), ("0.25", "6"))


@pytest.fixture(scope="module")
def rules() -> einvoice.Validator:
    if not (RULES_DIR / einvoice.PEPPOL_RULES).is_file():
        pytest.fail(f"the e-invoice rules are not at {RULES_DIR} (set EINVOICE_RULES_DIR to the "
                    "folder holding en16931-1.3.16/, peppol-bis-billing-3.0.21/ and ubl-2.1/)",
                    pytrace=False)
    checker = einvoice.validator(RULES_DIR)
    checker.prepare()
    return checker


@pytest.fixture(scope="module")
def schema_only() -> einvoice.Validator:
    checker = einvoice.Validator(None)
    checker.prepare()
    return checker


# -- building documents as the service does -------------------------------------------------


def check_digit_luhn(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return str((10 - total % 10) % 10)


def check_digit_gln(body: str) -> str:
    total = sum(int(char) * (3 if position % 2 == 0 else 1)
                for position, char in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def check_digit_mod11(body: str) -> str | None:
    total = sum(int(char) * (position % 6 + 2) for position, char in enumerate(reversed(body)))
    check = (11 - total % 11) % 11
    return None if check == 10 else str(check)


def digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(count - 1))


def buyer(rng: random.Random, country: str, with_vat: bool = True) -> PartySnapshot:
    """A buyer as ``domain.buyer_party`` makes it: its e-invoice address from its country and
    organisation number."""
    if country == "SE":  # organisation number: 10 digits, Luhn
        number = "55" + digits(rng, 7)
        number += check_digit_luhn(number)
        vat_id = f"SE{number}01"
        street, postal_code, city, name = "Kungsgatan 12", "411 19", "Göteborg", "Kund AB"
    elif country == "NO":  # 9 digits, mod 11; no EU VAT number
        check = None
        while check is None:
            number = "9" + digits(rng, 7)
            check = check_digit_mod11(number)
        number += check
        vat_id = None
        street, postal_code, city, name = "Karl Johans gate 5", "0154", "Oslo", "Kunde AS"
    elif country == "DE":  # a GLN: 13 digits, GS1 check digit
        number = "40" + digits(rng, 10)
        number += check_digit_gln(number)
        vat_id = "DE123456789"
        street, postal_code, city, name = "Friedrichstraße 100", "10117", "Berlin", "Kunde GmbH"
    else:  # FI: business id, 8 digits
        number = digits(rng, 8)
        vat_id = f"FI{number}"
        street, postal_code, city, name = "Mannerheimintie 1", "00100", "Helsinki", "Asiakas Oy"
    return PartySnapshot(
        name=name, address=f"{street}, {postal_code} {city}, {country}",
        vat_id=vat_id if with_vat else None, email=f"ap@{country.lower()}.example",
        street=street, postal_code=postal_code, city=city, country=country,
        organisation_number=number, endpoint_id=participant_id(country, number))


def line(order_id: str, sku: str | None, quantity: int, price: str, category: str, rate: str,
         currency: str) -> domain.Line:
    """An order's line, paid in cash in full (``paid_by_voucher`` splits the payment).  The
    price is in minor units' scale: "0.05" is 5 yen in a currency without minor units."""
    unit_minor = Money(Decimal(price).scaleb(2 - exponent(currency)), currency).minor
    net = domain.line_net(quantity, unit_minor, currency)
    gross = net + domain.vat_on(net, Decimal(rate), currency)
    return domain.Line(order_id=order_id, sku=sku, description=f"Product {sku or 'ad hoc'}",
                       quantity=quantity, unit_price_minor=unit_minor, category=category,
                       rate=Decimal(rate).quantize(Decimal("0.01")), net_minor=net, cash_minor=gross)


def paid_by_voucher(lines: list[domain.Line], voucher_minor: int) -> list[domain.Line]:
    """An order's lines when a voucher paid ``voucher_minor`` of it, split as the orders
    service splits it."""
    parts = split_lines([one.cash_minor + one.voucher_minor for one in lines], voucher_minor)
    return [replace(one, cash_minor=cash, voucher_minor=voucher)
            for one, (cash, voucher) in zip(lines, parts, strict=True)]


def issue(document: domain.Document, sequence: int, settings: Settings | None = None) -> InvoiceOut:
    """The document issued as ``InvoicingService._issued`` issues it, read back as the API
    shows it."""
    settings = settings or Settings()
    series = settings.invoice_series if document.kind == domain.INVOICE else settings.credit_note_series
    today = document.issue_date
    number = domain.invoice_number(series, today.year, sequence)
    if not document.payment_reference:
        document = replace(document, payment_reference=number)
    totals = document.amounts
    row = Invoice(
        id=str(uuid.uuid4()), number=number, series=series, year=today.year,
        sequence=sequence, kind=document.kind, account_id="acct-1",
        application_id=None, status="issued", currency=document.currency,
        net_minor=totals.taxable_minor, vat_minor=totals.vat_minor,
        total_minor=totals.total_minor, snapshot_json=json.dumps(document.snapshot()),
        issue_date=today.isoformat(), pdf_status="pending", issued_at=utcnow())
    row.credited_invoice_id = document.credited_invoice_id
    row.delivery_status = None
    return invoice_out(row)


def invoice_of(lines: list[domain.Line], buyer_party: PartySnapshot, currency: str = "EUR",
               po_numbers: list[str] | None = None, sequence: int = 1,
               settings: Settings | None = None) -> InvoiceOut:
    settings = settings or Settings()
    issued_on = date(2026, 11, 20)
    return issue(domain.Document(
        kind=domain.INVOICE, currency=currency, seller=seller_party(settings),
        buyer=buyer_party, lines=lines, po_numbers=po_numbers or [], issue_date=issued_on,
        supply_date=issued_on - timedelta(days=3), payment_reference="", channel="einvoice"),
        sequence, settings)


def credit_note_of(invoice: InvoiceOut, lines: list[domain.Line], rng: random.Random,
                   sequence: int) -> InvoiceOut:
    """A credit note for cancelled units of some of the invoice's lines: each refunded as the
    orders service refunds it (the units' share, each wallet its own part)."""
    refunded = []
    for one in rng.sample(lines, rng.randint(1, len(lines))):
        units = rng.randint(1, one.quantity)
        cash, voucher = refund_of(one.cash_minor + one.voucher_minor, one.cash_minor,
                                  one.voucher_minor, one.quantity, units)
        refunded.append(replace(one, quantity=units, cash_minor=cash, voucher_minor=voucher,
                                net_minor=domain.line_net(units, one.unit_price_minor,
                                                          invoice.currency or "EUR")))
    return issue(domain.Document(
        kind=domain.CREDIT_NOTE, currency=invoice.currency or "EUR", seller=invoice.seller,
        buyer=invoice.buyer, lines=refunded, po_numbers=invoice.po_numbers,
        issue_date=date(2026, 11, 24), supply_date=None, payment_reference="",
        channel="einvoice", credited_invoice_id=invoice.id,
        credited_invoice_number=invoice.number, credit_reason="units not delivered"), sequence)


def categories_for(rng: random.Random, country: str) -> list[tuple[str, str]]:
    """The (category, rate) choices of one document for a buyer in ``country``: outside the
    scope of VAT alone (BR-O-11), else taxed, zero-rated and exempt lines, reverse charged for
    a business in another EU country."""
    if rng.random() < 0.12:
        return [("O", "0")]
    if country in ("DE", "FI"):
        return [("AE", "0"), ("AE", "0"), ("Z", "0"), ("E", "0")]
    return [("S", rate) for rate in SWEDISH_RATES] + [("S", "25"), ("Z", "0"), ("E", "0")]


def random_lines(rng: random.Random, country: str, currency: str) -> list[domain.Line]:
    choices = categories_for(rng, country)
    count = rng.choice([1, 2, 3, rng.randint(1, 60), rng.randint(40, 60)])
    orders = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(rng.randint(1, min(count, 4)))]
    by_order: dict[str, list[domain.Line]] = {order: [] for order in orders}
    for number in range(count):
        category, rate = rng.choice(choices)
        quantity = rng.choice([1, 1, 2, 3, 7, 50, rng.randint(1, 1000)])
        price = rng.choice(PRICES) if rng.random() < 0.7 else f"{rng.randint(1, 500_00) / 100:.2f}"
        if category == "S" and rng.random() < 0.3:
            price, rate = rng.choice(HALF_UNIT_VAT)
            quantity = rng.randrange(1, 1000, 2)
        sku = f"SKU-{number:03d}" if rng.random() < 0.8 else None
        order = orders[number % len(orders)]
        by_order[order].append(line(order, sku, quantity, price, category, rate, currency))
    lines = []
    for order_lines in by_order.values():
        if not order_lines:
            continue
        gross = sum(one.cash_minor for one in order_lines)
        share = rng.choice([0, 0, 0.25, 0.5, 0.99])  # never all of it: that is not invoiceable
        lines.extend(paid_by_voucher(order_lines, int(gross * share)))
    return lines


def random_invoice(rng: random.Random, sequence: int) -> tuple[InvoiceOut, list[domain.Line]]:
    country = rng.choice(["SE", "SE", "NO", "DE", "FI"])
    currency = rng.choice(["EUR", "EUR", "SEK", "NOK", "JPY"])
    lines = random_lines(rng, country, currency)
    po_numbers = [f"PO-{rng.randint(1000, 9999)}" for _ in range(rng.choice([0, 0, 1, 1, 3]))]
    return invoice_of(lines, buyer(rng, country), currency, po_numbers, sequence), lines


def fatal(checker: einvoice.Validator, xml: bytes) -> list[str]:
    return einvoice.rejections(checker.check(xml))


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


# -- generated documents pass -----------------------------------------------------------------


def test_randomized_invoices_pass_the_schema_en16931_and_peppol_rules(rules):
    rng = random.Random(SEED)
    failures = {}
    for sequence in range(1, 41):
        invoice, _ = random_invoice(rng, sequence)
        found = fatal(rules, einvoice.ubl(invoice))
        if found:
            failures[invoice.number] = found
    assert failures == {}, f"seed {SEED}"


def test_randomized_credit_notes_pass_the_schema_en16931_and_peppol_rules(rules):
    rng = random.Random(SEED + 1)
    failures = {}
    for sequence in range(1, 16):
        invoice, lines = random_invoice(rng, sequence)
        credit_note = credit_note_of(invoice, lines, rng, sequence)
        xml = einvoice.ubl(credit_note)
        assert parse(xml).tag == f"{{{einvoice.CREDIT_NOTE_NS}}}CreditNote"
        found = fatal(rules, xml)
        if found:
            failures[credit_note.number] = found
    assert failures == {}, f"seed {SEED + 1}"


@pytest.mark.parametrize("country", ["SE", "NO", "DE", "FI"])
def test_an_invoice_to_a_buyer_in_each_country_passes_peppol_rules(rules, country):
    rng = random.Random(country)
    category, rate = ("AE", "0") if country in ("DE", "FI") else ("S", "25")
    lines = [line("order-1", "CLOUD-S", 3, "12.49", category, rate, "EUR"),
             line("order-1", "SUPPORT", 1, "999.99", "E", "0", "EUR")]
    assert fatal(rules, einvoice.ubl(invoice_of(lines, buyer(rng, country)))) == []


def test_reverse_charged_invoice_passes_peppol_rules(rules):
    german = buyer(random.Random(7), "DE")
    lines = [line("order-1", "CLOUD-M", 12, "1.99", "AE", "0", "EUR"),
             line("order-2", "CLOUD-L", 1000, "0.05", "AE", "0", "EUR")]
    invoice = invoice_of(lines, german)
    xml = einvoice.ubl(invoice)
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
                        namespaces=NS) == "VATEX-EU-AE"
    assert doc.findtext("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
                        namespaces=NS) == "DE123456789"
    assert doc.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS).get("schemeID") == "0088"


def test_an_invoice_outside_the_scope_of_vat_carries_no_vat_number_and_passes(rules):
    lines = [line("order-1", "DONATION", 1, "100.00", "O", "0", "SEK"),
             line("order-1", "FEE", 3, "0.05", "O", "0", "SEK")]
    xml = einvoice.ubl(invoice_of(lines, buyer(random.Random(3), "SE"), "SEK"))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findall(".//cac:PartyTaxScheme", NS) == []  # BR-O-02
    assert doc.findall(".//cac:TaxCategory/cbc:Percent", NS) == []  # BR-O-05 … BR-O-10


def test_vat_landing_on_half_a_cent_rounds_half_up_and_the_cent_is_the_rounding_amount(rules):
    # 0.02 at 25 % is 0.005 of VAT per line, 0.01 on each line the order charged, but 0.01 on
    # the category's sum of 0.04: the odd cent the cash paid is the rounding amount (BT-114)
    lines = [line("order-1", "A", 1, "0.02", "S", "25", "EUR"),
             line("order-1", "B", 2, "0.01", "S", "25", "EUR"),
             line("order-1", "C", 1, "0.25", "S", "6", "EUR")]
    invoice = invoice_of(lines, buyer(random.Random(1), "SE"))
    xml = einvoice.ubl(invoice)
    assert fatal(rules, xml) == []
    totals = parse(xml).find("cac:LegalMonetaryTotal", NS)
    assert totals.findtext("cbc:PayableRoundingAmount", namespaces=NS) == "0.01"
    assert totals.findtext("cbc:PayableAmount", namespaces=NS) == "0.00"


def test_what_a_voucher_paid_is_a_document_level_allowance(rules):
    lines = paid_by_voucher([line("order-1", "A", 10, "12.49", "S", "25", "EUR"),
                             line("order-1", "B", 7, "1.99", "S", "12", "EUR")], 100_00)
    invoice = invoice_of(lines, buyer(random.Random(2), "SE"))
    xml = einvoice.ubl(invoice)
    assert fatal(rules, xml) == []
    doc = parse(xml)
    allowance = doc.find("cac:AllowanceCharge", NS)
    assert allowance.findtext("cbc:ChargeIndicator", namespaces=NS) == "false"
    assert allowance.findtext("cbc:AllowanceChargeReason", namespaces=NS) == "Paid by voucher"
    assert doc.findtext("cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount", namespaces=NS) == str(
        invoice.allowances.amount)


def test_amounts_carry_exactly_the_currencys_minor_digits(rules):
    lines = [line("order-1", "A", 3, "19.99", "S", "25", "JPY")]
    xml = einvoice.ubl(invoice_of(lines, buyer(random.Random(4), "SE"), "JPY"))
    assert fatal(rules, xml) == []
    amounts = parse(xml).xpath("//*[@currencyID]")
    assert {element.get("currencyID") for element in amounts} == {"JPY"}
    assert all(element.text.isdigit() for element in amounts)
    euro = einvoice.ubl(invoice_of([line("order-1", "A", 3, "10", "S", "25", "EUR")],
                                   buyer(random.Random(4), "SE")))
    assert {len(element.text.partition(".")[2]) for element in parse(euro).xpath("//*[@currencyID]")} == {2}


def test_several_po_numbers_are_listed_in_a_note_and_the_first_is_the_order_reference(rules):
    lines = [line("order-1", "A", 1, "9.00", "S", "25", "EUR")]
    xml = einvoice.ubl(invoice_of(lines, buyer(random.Random(5), "SE"),
                                  po_numbers=["PO-1", "PO-2", "PO-3"]))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext("cbc:Note", namespaces=NS) == "PO numbers: PO-1, PO-2, PO-3"
    assert doc.findtext("cbc:BuyerReference", namespaces=NS) == "PO-1"
    assert doc.findtext("cac:OrderReference/cbc:ID", namespaces=NS) == "PO-1"


def test_without_a_po_number_the_buyer_reference_is_the_first_order(rules):
    lines = [line("order-7", "A", 1, "9.00", "S", "25", "EUR")]
    doc = parse(einvoice.ubl(invoice_of(lines, buyer(random.Random(5), "SE"))))
    assert doc.findtext("cbc:BuyerReference", namespaces=NS) == "order-7"
    assert doc.find("cac:OrderReference", NS) is None


def test_a_credit_note_refers_to_the_invoice_it_credits_and_passes(rules):
    rng = random.Random(11)
    lines = [line("order-1", "A", 4, "12.49", "S", "25", "SEK")]
    invoice = invoice_of(lines, buyer(rng, "SE"), "SEK")
    credit_note = credit_note_of(invoice, lines, rng, 1)
    xml = einvoice.ubl(credit_note)
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert doc.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
                        namespaces=NS) == invoice.number
    assert doc.find("cbc:DueDate", NS) is None
    assert doc.findtext("cac:PaymentMeans/cbc:PaymentDueDate", namespaces=NS) == credit_note.due_date
    assert doc.find("cac:CreditNoteLine/cbc:CreditedQuantity", NS).get("unitCode") == "C62"


@pytest.mark.parametrize(("country", "rate", "overrides"), [
    ("FI", "25.5", {"seller_name": "Nimbus Cloud Oy", "seller_country": "FI",
                    "seller_vat_id": "FI12345671", "seller_organisation_number": "1234567-1",
                    "seller_street": "Mannerheimintie 1", "seller_postal_code": "00100",
                    "seller_city": "Helsinki", "seller_iban": "FI2112345600000785",
                    "seller_bic": "NDEAFIHH"}),
    ("FI", "24", {"seller_name": "Nimbus Cloud Oy", "seller_country": "FI",
                  "seller_vat_id": "FI12345671", "seller_organisation_number": "1234567-1",
                  "seller_iban": "FI2112345600000785"}),
    ("DE", "19", {"seller_name": "Nimbus Cloud GmbH", "seller_country": "DE",
                  "seller_vat_id": "DE123456789", "seller_organisation_number": "4012345000009",
                  "seller_street": "Friedrichstraße 1", "seller_postal_code": "10117",
                  "seller_city": "Berlin", "seller_iban": "DE89370400440532013000"}),
])
def test_a_seller_established_elsewhere_invoices_its_own_standard_rate(rules, country, rate,
                                                                        overrides):
    settings = Settings(**overrides)
    lines = [line("order-1", "A", 7, "12.49", "S", rate, "EUR"),
             line("order-1", "B", 1000, "0.05", "S", rate, "EUR")]
    invoice = invoice_of(lines, buyer(random.Random(6), "NO"), settings=settings)
    assert invoice.seller.country == country
    assert fatal(rules, einvoice.ubl(invoice)) == []


# -- what the rules refuse --------------------------------------------------------------------


@pytest.mark.parametrize("rate", FOREIGN_RATES)
def test_a_swedish_seller_charging_a_foreign_standard_rate_is_rejected_by_se_r_006(rules, rate):
    lines = [line("order-1", "A", 2, "50.00", "S", rate, "EUR")]
    found = fatal(rules, einvoice.ubl(invoice_of(lines, buyer(random.Random(8), "NO"))))
    assert found == ["SE-R-006"]


def test_outside_scope_lines_mixed_with_taxed_lines_are_rejected(rules):
    # the domain groups O with other categories on one invoice; EN 16931 allows O alone
    lines = [line("order-1", "A", 1, "10.00", "S", "25", "EUR"),
             line("order-1", "B", 1, "10.00", "O", "0", "EUR")]
    found = fatal(rules, einvoice.ubl(invoice_of(lines, buyer(random.Random(9), "SE"))))
    assert found == ["BR-O-02", "BR-O-11", "BR-O-12"]


def test_an_invoice_to_a_buyer_without_an_e_invoice_address_is_rejected_by_peppol_r010(rules):
    nowhere = buyer(random.Random(10), "SE").model_copy(update={"endpoint_id": None})
    xml = einvoice.ubl(invoice_of([line("order-1", "A", 1, "10.00", "S", "25", "EUR")], nowhere))
    findings = rules.check(xml)
    assert einvoice.rejections(findings) == ["PEPPOL-EN16931-R010"]
    assert einvoice.rejections(einvoice.validator(None).check(xml)) == []  # it is valid UBL


def test_a_tampered_payable_amount_is_rejected_by_a_br_co_rule(rules):
    xml = einvoice.ubl(invoice_of([line("order-1", "A", 3, "12.49", "S", "25", "EUR")],
                                  buyer(random.Random(12), "SE")))
    doc = parse(xml)
    doc.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "10.00"
    found = fatal(rules, etree.tostring(doc, xml_declaration=True, encoding="UTF-8"))
    assert found and all(rule.startswith("BR-CO-") for rule in found), found
    assert "BR-CO-16" in found


@pytest.mark.parametrize(("name", "expected"), [
    ("peppol-minimal-invoice.xml", []),
    ("peppol-minimal-invoice-BAD-totals.xml", ["BR-CO-10", "BR-CO-13", "BR-CO-15"]),
    ("peppol-minimal-invoice-BAD-no-seller-endpoint.xml", ["PEPPOL-EN16931-R020"]),
    ("peppol-minimal-invoice-BAD-xsd-element-order.xml", ["XSD"]),
])
def test_the_hand_made_fixtures_give_what_the_readme_says(rules, name, expected):
    assert fatal(rules, (HANDMADE / name).read_bytes()) == expected


def test_a_document_with_a_doctype_is_refused(rules):
    xml = (HANDMADE / "peppol-minimal-invoice.xml").read_bytes().replace(
        b"<Invoice ", b'<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Invoice ', 1)
    findings = rules.check(xml)
    assert [(f.rule_id, f.flag) for f in findings] == [("XML", "fatal")]
    assert "DOCTYPE" in findings[0].text


def test_what_is_not_xml_is_refused(rules):
    assert einvoice.rejections(rules.check(b"<Invoice>")) == ["XML"]


def test_schema_only_checks_pass_a_good_document_and_catch_the_element_order(schema_only):
    assert schema_only.check((HANDMADE / "peppol-minimal-invoice.xml").read_bytes()) == []
    findings = schema_only.check((HANDMADE / "peppol-minimal-invoice-BAD-xsd-element-order.xml")
                                 .read_bytes())
    assert findings and {(f.rule_id, f.flag) for f in findings} == {("XSD", "fatal")}
    assert "SCHEMAV_ELEMENT_CONTENT" in findings[0].text
    generated = einvoice.ubl(invoice_of([line("order-1", "A", 1, "1.00", "S", "25", "EUR")],
                                        buyer(random.Random(13), "SE")))
    assert schema_only.check(generated) == []


def test_warnings_pass_and_fatal_or_unflagged_findings_reject():
    findings = [einvoice.Finding("W-1", "warning", "/", "w"), einvoice.Finding("B", "fatal", "/", "b"),
                einvoice.Finding("A", "error", "/", "a"), einvoice.Finding("B", "fatal", "/x", "b")]
    assert einvoice.rejections(findings) == ["A", "B"]


def test_there_is_one_validator_per_rules_folder(rules):
    assert einvoice.validator(RULES_DIR) is rules
    assert einvoice.validator(str(RULES_DIR)) is rules
    assert einvoice.validator(None) is not rules
