"""Factur-X: every invoice and credit note the domain issues, written as UN/CEFACT CII D16B (the
Factur-X EN 16931 profile), passes the Factur-X EN16931 schema and the EN 16931 rules for CII
with no fatal finding, and carries the same business terms as its Peppol UBL, over the
randomized corpus of ``test_einvoice`` (its factories build documents as the service does).
The checker refuses what it should: tampered totals (each by the BR-CO rule it breaks), an
element out of the schema's order, a DOCTYPE, a UBL document.  Attached to a PDF/A-3b made by
WeasyPrint, the XML comes back byte for byte, and the PDF says it is PDF/A-3B and Factur-X.

The official rules are read from ``EINVOICE_RULES_DIR`` (default ``<repo>/../shared/einvoice``);
without them the tests fail, they are never skipped."""

import io
import random
from decimal import Decimal

import pypdf
import pytest
import weasyprint
from lxml import etree
from test_einvoice import (
    HANDMADE,
    RULES_DIR,
    SEED,
    buyer,
    credit_note_of,
    invoice_of,
    line,
    paid_by_voucher,
    random_invoice,
)

from services.common import einvoice, facturx

NS = {**facturx.NAMESPACES, "cac": einvoice.CAC, "cbc": einvoice.CBC}
SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
LINES = "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
FACTUR_X_XMP = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"

# A business term as each syntax writes it: (UBL XPath, CII XPath), from the document's root.
UBL_LINE = "*[self::cac:InvoiceLine or self::cac:CreditNoteLine]"
BUSINESS_TERMS = {
    "BT-1 number": ("cbc:ID", "rsm:ExchangedDocument/ram:ID"),
    "BT-2 issue date": ("cbc:IssueDate", "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
    "BT-3 type": ("cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode", "rsm:ExchangedDocument/ram:TypeCode"),
    "BT-5 currency": ("cbc:DocumentCurrencyCode", f"{SETTLEMENT}/ram:InvoiceCurrencyCode"),
    "BT-9 due date": ("cbc:DueDate | cac:PaymentMeans/cbc:PaymentDueDate",
                      f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"),
    "BT-10 buyer reference": ("cbc:BuyerReference", f"{AGREEMENT}/ram:BuyerReference"),
    "BT-13 purchase order": ("cac:OrderReference/cbc:ID",
                             f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
    "BT-20 payment terms": ("cac:PaymentTerms/cbc:Note",
                            f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description"),
    "BT-22 note": ("cbc:Note", "rsm:ExchangedDocument/ram:IncludedNote/ram:Content"),
    "BT-25 credited invoice": ("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
                               f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
    "BT-27/44 party names": ("*/cac:Party/cac:PartyName/cbc:Name", f"{AGREEMENT}/*/ram:Name"),
    "BT-30/47 legal registration": ("*/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
                                    f"{AGREEMENT}/*/ram:SpecifiedLegalOrganization/ram:ID"),
    "BT-31/48 VAT numbers": ("*/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
                             f"{AGREEMENT}/*/ram:SpecifiedTaxRegistration/ram:ID"),
    "BT-34/49 e-invoice addresses": ("*/cac:Party/cbc:EndpointID",
                                     f"{AGREEMENT}/*/ram:URIUniversalCommunication/ram:URIID"),
    "BT-34/49 address schemes": ("*/cac:Party/cbc:EndpointID/@schemeID",
                                 f"{AGREEMENT}/*/ram:URIUniversalCommunication/ram:URIID/@schemeID"),
    "BT-35/50 streets": ("*/cac:Party/cac:PostalAddress/cbc:StreetName",
                         f"{AGREEMENT}/*/ram:PostalTradeAddress/ram:LineOne"),
    "BT-40/55 countries": ("*/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
                           f"{AGREEMENT}/*/ram:PostalTradeAddress/ram:CountryID"),
    "BT-43/58 e-mails": ("*/cac:Party/cac:Contact/cbc:ElectronicMail",
                         f"{AGREEMENT}/*/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID"),
    "BT-72 delivery date": ("cac:Delivery/cbc:ActualDeliveryDate",
                            "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery"
                            "/ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"),
    "BT-81 payment means": ("cac:PaymentMeans/cbc:PaymentMeansCode",
                            f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode"),
    "BT-83 payment reference": ("cac:PaymentMeans/cbc:PaymentID", f"{SETTLEMENT}/ram:PaymentReference"),
    "BT-84 IBAN": ("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID",
                   f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
                   "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"),
    "BT-92 allowances": ("cac:AllowanceCharge/cbc:Amount",
                         f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount"),
    "BT-95 allowance categories": ("cac:AllowanceCharge/cac:TaxCategory/cbc:ID",
                                   f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge/ram:CategoryTradeTax"
                                   "/ram:CategoryCode"),
    "BT-97 allowance reasons": ("cac:AllowanceCharge/cbc:AllowanceChargeReason",
                                f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge/ram:Reason"),
    "BT-106 lines net": ("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", f"{TOTALS}/ram:LineTotalAmount"),
    "BT-107 allowance total": ("cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
                               f"{TOTALS}/ram:AllowanceTotalAmount"),
    "BT-109 taxable": ("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", f"{TOTALS}/ram:TaxBasisTotalAmount"),
    "BT-110 VAT": ("cac:TaxTotal/cbc:TaxAmount", f"{TOTALS}/ram:TaxTotalAmount"),
    "BT-112 total": ("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", f"{TOTALS}/ram:GrandTotalAmount"),
    "BT-113 prepaid": ("cac:LegalMonetaryTotal/cbc:PrepaidAmount", f"{TOTALS}/ram:TotalPrepaidAmount"),
    "BT-114 rounding": ("cac:LegalMonetaryTotal/cbc:PayableRoundingAmount", f"{TOTALS}/ram:RoundingAmount"),
    "BT-115 due": ("cac:LegalMonetaryTotal/cbc:PayableAmount", f"{TOTALS}/ram:DuePayableAmount"),
    "BT-116 taxable per category": ("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
                                    f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:BasisAmount"),
    "BT-117 VAT per category": ("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount",
                                f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount"),
    "BT-118 categories": ("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID",
                          f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CategoryCode"),
    "BT-119 rates": ("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent",
                     f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:RateApplicablePercent"),
    "BT-120 exemption reasons": ("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason",
                                 f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReason"),
    "BT-121 exemption codes": ("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
                               f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode"),
    "BT-129 quantities": (f"{UBL_LINE}/*[self::cbc:InvoicedQuantity or self::cbc:CreditedQuantity]",
                          f"{LINES}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
    "BT-131 line nets": (f"{UBL_LINE}/cbc:LineExtensionAmount",
                         f"{LINES}/ram:SpecifiedLineTradeSettlement"
                         "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"),
    "BT-146 prices": (f"{UBL_LINE}/cac:Price/cbc:PriceAmount",
                      f"{LINES}/ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount"),
    "BT-151 line categories": (f"{UBL_LINE}/cac:Item/cac:ClassifiedTaxCategory/cbc:ID",
                               f"{LINES}/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode"),
    "BT-152 line rates": (f"{UBL_LINE}/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",
                          f"{LINES}/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
                          "/ram:RateApplicablePercent"),
    "BT-153 item names": (f"{UBL_LINE}/cac:Item/cbc:Name", f"{LINES}/ram:SpecifiedTradeProduct/ram:Name"),
    "BT-155 item ids": (f"{UBL_LINE}/cac:Item/cac:SellersItemIdentification/cbc:ID",
                        f"{LINES}/ram:SpecifiedTradeProduct/ram:SellerAssignedID"),
}
DATES = {"BT-2 issue date", "BT-9 due date", "BT-72 delivery date"}


@pytest.fixture(scope="module")
def rules() -> facturx.CiiValidator:
    if not (RULES_DIR / facturx.CII_RULES).is_file():
        pytest.fail(f"the e-invoice rules are not at {RULES_DIR} (set EINVOICE_RULES_DIR to the "
                    "folder holding en16931-1.3.16/)", pytrace=False)
    checker = facturx.cii_validator(RULES_DIR)
    checker.prepare()
    return checker


@pytest.fixture(scope="module")
def schema_only() -> facturx.CiiValidator:
    checker = facturx.CiiValidator(None)
    checker.prepare()
    return checker


def fatal(checker: facturx.CiiValidator, xml: bytes) -> list[str]:
    return einvoice.rejections(checker.check(xml))


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def values(doc: etree._Element, xpath: str) -> list[str]:
    return [str(found.text if isinstance(found, etree._Element) else found)
            for found in doc.xpath(xpath, namespaces=NS)]


def tampered(xml: bytes, xpath: str, change: Decimal) -> bytes:
    doc = parse(xml)
    element = doc.find(xpath, NS)
    element.text = str(Decimal(element.text) + change)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def random_credit_note(seed: int):
    rng = random.Random(SEED + 1_000 + seed)
    invoice, lines = random_invoice(rng, seed + 1)
    return invoice, credit_note_of(invoice, lines, rng, seed + 1)


def simple_invoice():
    return invoice_of([line("order-1", "A", 3, "12.49", "S", "25", "EUR"),
                       line("order-1", "B", 2, "4.50", "S", "12", "EUR")], buyer(random.Random(12), "SE"))


def a3b_pdf(title: str) -> bytes:
    return weasyprint.HTML(string=f"<h1>{title}</h1><p>Paid in advance; nothing is due.</p>").write_pdf(
        pdf_variant="pdf/a-3b")


# -- generated documents pass -----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_random_invoices_pass_the_factur_x_schema_and_the_en16931_cii_rules(rules, seed):
    invoice, _ = random_invoice(random.Random(SEED + seed), seed + 1)
    xml = facturx.cii(invoice)
    assert parse(xml).findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "380"
    assert fatal(rules, xml) == []


@pytest.mark.parametrize("seed", range(30))
def test_random_credit_notes_pass_the_factur_x_schema_and_the_en16931_cii_rules(rules, seed):
    _, credit_note = random_credit_note(seed)
    assert fatal(rules, facturx.cii(credit_note)) == []


@pytest.mark.parametrize("seed", range(20))
def test_the_cii_carries_every_business_term_its_ubl_carries(seed):
    invoice, credit_note = random_credit_note(seed)
    for document in (invoice, credit_note):
        ubl, cii = parse(einvoice.ubl(document)), parse(facturx.cii(document))
        for term, (ubl_path, cii_path) in BUSINESS_TERMS.items():
            expected = values(ubl, ubl_path)
            if term in DATES:
                expected = [date.replace("-", "") for date in expected]
            assert values(cii, cii_path) == expected, (document.number, term)


def test_a_credit_note_is_type_381_with_positive_amounts_and_refers_to_the_invoice_it_credits(rules):
    rng = random.Random(11)
    lines = [line("order-1", "A", 4, "12.49", "S", "25", "SEK")]
    invoice = invoice_of(lines, buyer(rng, "SE"), "SEK")
    credit_note = credit_note_of(invoice, lines, rng, 1)
    xml = facturx.cii(credit_note)
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert doc.findtext(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
                        namespaces=NS) == invoice.number
    amounts = [Decimal(text) for text in values(doc, f"{TOTALS}/*")]
    assert Decimal(doc.findtext(f"{TOTALS}/ram:GrandTotalAmount", namespaces=NS)) > 0
    assert min(amounts) >= Decimal("-0.01")  # only the rounding amount may be negative


def test_a_reverse_charged_invoice_names_the_exemption_and_both_vat_numbers(rules):
    lines = [line("order-1", "CLOUD-M", 12, "1.99", "AE", "0", "EUR"),
             line("order-2", "CLOUD-L", 1000, "0.05", "AE", "0", "EUR")]
    xml = facturx.cii(invoice_of(lines, buyer(random.Random(7), "DE")))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext(f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode",
                        namespaces=NS) == "VATEX-EU-AE"
    vat_numbers = doc.findall(f"{AGREEMENT}/*/ram:SpecifiedTaxRegistration/ram:ID", NS)
    assert [(number.text, number.get("schemeID")) for number in vat_numbers] == [
        ("SE556677889901", "VA"), ("DE123456789", "VA")]


def test_an_invoice_outside_the_scope_of_vat_carries_no_vat_number_and_no_rate(rules):
    lines = [line("order-1", "DONATION", 1, "100.00", "O", "0", "SEK"),
             line("order-1", "FEE", 3, "0.05", "O", "0", "SEK")]
    xml = facturx.cii(invoice_of(lines, buyer(random.Random(3), "SE"), "SEK"))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findall(".//ram:SpecifiedTaxRegistration", NS) == []  # BR-O-02 … BR-O-04
    assert doc.findall(".//ram:RateApplicablePercent", NS) == []  # BR-O-05
    assert doc.findtext(f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReason",
                        namespaces=NS) == "Not subject to VAT"  # BR-O-10


def test_what_a_voucher_paid_is_a_document_level_allowance_per_vat_group(rules):
    lines = paid_by_voucher([line("order-1", "A", 10, "12.49", "S", "25", "EUR"),
                             line("order-1", "B", 7, "1.99", "S", "12", "EUR")], 100_00)
    invoice = invoice_of(lines, buyer(random.Random(2), "SE"))
    xml = facturx.cii(invoice)
    assert fatal(rules, xml) == []
    doc = parse(xml)
    allowances = doc.findall(f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge", NS)
    assert len(allowances) == len([group for group in invoice.vat_breakdown if group.allowance.amount > 0])
    assert {a.findtext("ram:ChargeIndicator/udt:Indicator", namespaces=NS) for a in allowances} == {"false"}
    assert {a.findtext("ram:Reason", namespaces=NS) for a in allowances} == {"Paid by voucher"}
    assert doc.findtext(f"{TOTALS}/ram:AllowanceTotalAmount", namespaces=NS) == str(invoice.allowances.amount)


def test_vat_landing_on_half_a_cent_leaves_the_cent_as_the_rounding_amount(rules):
    lines = [line("order-1", "A", 1, "0.02", "S", "25", "EUR"),
             line("order-1", "B", 2, "0.01", "S", "25", "EUR"),
             line("order-1", "C", 1, "0.25", "S", "6", "EUR")]
    xml = facturx.cii(invoice_of(lines, buyer(random.Random(1), "SE")))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext(f"{TOTALS}/ram:RoundingAmount", namespaces=NS) == "0.01"
    assert doc.findtext(f"{TOTALS}/ram:DuePayableAmount", namespaces=NS) == "0.00"


def test_amounts_carry_exactly_the_currencys_minor_digits_and_only_the_vat_total_names_it(rules):
    xml = facturx.cii(invoice_of([line("order-1", "A", 3, "19.99", "S", "25", "JPY")],
                                 buyer(random.Random(4), "SE"), "JPY"))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    amounts = values(doc, f"{TOTALS}/* | {LINES}//ram:ChargeAmount | {LINES}//ram:LineTotalAmount")
    assert amounts and all(amount.lstrip("-").isdigit() for amount in amounts)
    assert [(element.tag, element.get("currencyID")) for element in doc.xpath("//*[@currencyID]")] == [
        (f"{{{facturx.RAM}}}TaxTotalAmount", "JPY")]


def test_several_po_numbers_are_listed_in_a_note_and_the_first_is_the_order_reference(rules):
    xml = facturx.cii(invoice_of([line("order-1", "A", 1, "9.00", "S", "25", "EUR")],
                                 buyer(random.Random(5), "SE"), po_numbers=["PO-1", "PO-2", "PO-3"]))
    assert fatal(rules, xml) == []
    doc = parse(xml)
    assert doc.findtext("rsm:ExchangedDocument/ram:IncludedNote/ram:Content",
                        namespaces=NS) == "PO numbers: PO-1, PO-2, PO-3"
    assert doc.findtext(f"{AGREEMENT}/ram:BuyerReference", namespaces=NS) == "PO-1"
    assert doc.findtext(f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",
                        namespaces=NS) == "PO-1"


# -- what the rules refuse --------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "expected"), [
    ("ram:LineTotalAmount", ["BR-CO-10", "BR-CO-13"]),
    ("ram:TaxBasisTotalAmount", ["BR-CO-13", "BR-CO-15"]),
    ("ram:TaxTotalAmount", ["BR-CO-14", "BR-CO-15"]),
    ("ram:GrandTotalAmount", ["BR-CO-15", "BR-CO-16"]),
    ("ram:TotalPrepaidAmount", ["BR-CO-16"]),
    ("ram:DuePayableAmount", ["BR-CO-16"]),
])
def test_a_total_off_by_one_is_rejected_by_the_br_co_rules_it_breaks(rules, amount, expected):
    xml = facturx.cii(simple_invoice())
    assert fatal(rules, xml) == []
    assert fatal(rules, tampered(xml, f"{TOTALS}/{amount}", Decimal(1))) == expected


@pytest.mark.parametrize(("change", "expected"), [
    ("0.01", ["BR-CO-14"]),  # BR-S-09 allows a category's VAT to be off by less than one unit
    ("1.00", ["BR-CO-14", "BR-S-09"]),
])
def test_vat_per_category_off_is_rejected_by_br_co_14_and_a_whole_unit_off_by_br_s_09(rules, change,
                                                                                       expected):
    xml = tampered(facturx.cii(simple_invoice()), f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount",
                   Decimal(change))
    assert fatal(rules, xml) == expected


def test_the_official_and_hand_made_cii_examples_pass(rules):
    examples = sorted((RULES_DIR / "en16931-1.3.16/examples/cii").glob("*.xml"))
    assert len(examples) == 4
    for path in [*examples, HANDMADE / "cii-en16931-minimal-invoice.xml"]:
        assert fatal(rules, path.read_bytes()) == [], path.name


def test_an_element_out_of_the_schemas_order_is_refused_by_the_xsd_before_any_rule(rules):
    doc = parse(facturx.cii(simple_invoice()))
    header = doc.find("rsm:ExchangedDocument", NS)
    header.insert(0, header.find("ram:TypeCode", NS))  # TypeCode before ID
    findings = rules.check(etree.tostring(doc))
    assert findings and {(f.rule_id, f.flag) for f in findings} == {("XSD", "fatal")}
    assert "SCHEMAV_ELEMENT_CONTENT" in findings[0].text


def test_a_ubl_document_is_not_cii(rules):
    findings = rules.check(einvoice.ubl(simple_invoice()))
    assert [(f.rule_id, f.flag) for f in findings] == [("XML", "fatal")]
    assert "not a CII CrossIndustryInvoice" in findings[0].text


def test_a_document_with_a_doctype_is_refused(rules):
    xml = facturx.cii(simple_invoice()).replace(
        b"<rsm:CrossIndustryInvoice ",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<rsm:CrossIndustryInvoice ', 1)
    findings = rules.check(xml)
    assert [(f.rule_id, f.flag) for f in findings] == [("XML", "fatal")]
    assert "DOCTYPE" in findings[0].text


def test_schema_only_checks_pass_a_good_document_and_ignore_the_rules(schema_only):
    xml = facturx.cii(simple_invoice())
    assert schema_only.check(xml) == []
    assert schema_only.check(tampered(xml, f"{TOTALS}/ram:DuePayableAmount", Decimal(1))) == []


def test_there_is_one_cii_validator_per_rules_folder(rules):
    assert facturx.cii_validator(RULES_DIR) is rules
    assert facturx.cii_validator(str(RULES_DIR)) is rules
    assert facturx.cii_validator(None) is not rules


# -- the Factur-X PDF -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_a_factur_x_pdf_gives_back_its_xml_byte_for_byte_and_says_pdfa_3b_en16931(rules, kind):
    invoice, credit_note = random_credit_note(3)
    document = credit_note if kind == "credit_note" else invoice
    xml = facturx.cii(document)
    assert fatal(rules, xml) == []
    pdf = facturx.embed(a3b_pdf(document.number), xml)

    assert facturx.extract(pdf) == xml
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    xmp = reader.xmp_metadata
    assert (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "B")
    factur_x = {node.localName: node.firstChild.data for node in xmp.get_nodes_in_namespace("", FACTUR_X_XMP)}
    assert factur_x == {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0",
                        "ConformanceLevel": "EN 16931"}
    assert document.number in reader.metadata.title


def test_a_pdf_without_factur_x_xml_has_nothing_to_extract():
    with pytest.raises(LookupError):
        facturx.extract(a3b_pdf("no e-invoice"))
