"""Invoicing rules in plain Python.

* Only the cash-paid part of successfully implemented orders is invoiceable: what each line's
  cash paid less what was refunded to cash.  An order still failed (its failed part not yet
  cancelled) is not; after the cancel, its successful part is.  An order paid by voucher only
  has nothing to invoice.  An order is on at most one application and one invoice.
* An account applies with its billing and mailing information given and nothing overdue.
* An application groups orders of one account and one currency and awaits the customer's
  confirmation (the preview); confirmed it is ``submitted`` and issued — at once, or once an
  operator approves it where ``INVOICING_REVIEW`` says so (or ``rejected`` with a reason).  The
  customer may withdraw it until it is issued; a withdrawn or rejected application frees its
  orders.  Confirming again answers the same; exactly one invoice is issued.
* Invoice numbers run per series and year without gaps: ``INV-2026-000001``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from services.common.contracts import (
    InvoiceLineOut,
    MoneyOut,
    OrderOut,
    PartySnapshot,
    ProfileChanged,
    VatBreakdownOut,
    one_line,
    wire_minor,
)
from services.common.countries import participant_id
from services.common.errors import (
    AccountInArrears,
    ApplicationNotPending,
    BillingInfoMissing,
    BusinessError,
    MailingInfoMissing,
    MixedCurrencies,
    OrderAlreadyInvoiced,
    OrderImplementationFailed,
    OrderNotInvoiceable,
    OrderPaidWithVoucher,
)
from services.common.money import Money

AVAILABLE = "available"
APPLIED = "applied"
INVOICED = "invoiced"
PENDING = "pending"  # paid, not implemented yet
FAILED = "failed"  # failed (in part), its failed part not cancelled yet
VOUCHER_ONLY = "voucher_only"
NOTHING = "nothing"  # cancelled whole, or nothing paid in cash or by voucher

REFUSALS: dict[str, type[OrderNotInvoiceable]] = {
    APPLIED: OrderAlreadyInvoiced, INVOICED: OrderAlreadyInvoiced, FAILED: OrderImplementationFailed,
    VOUCHER_ONLY: OrderPaidWithVoucher, PENDING: OrderNotInvoiceable, NOTHING: OrderNotInvoiceable,
}
WHY = {APPLIED: "it is already on an invoice application", INVOICED: "it has already been invoiced",
       FAILED: "its implementation failed and the failed part is not cancelled yet",
       VOUCHER_ONLY: "it was paid with a voucher only", PENDING: "it is not implemented yet",
       NOTHING: "nothing of it was paid in cash"}


@dataclass(frozen=True)
class Fate:
    """What an order is to invoicing, from its latest state: the status on the Invoiceable
    List and the cash (and voucher) money that paid what it kept."""

    status: str
    cash_minor: int
    voucher_minor: int


def was_paid(order: OrderOut) -> bool:
    """Whether anything paid for the order (a refused or expired order never is listed)."""
    return order.paid_cash.amount > 0 or bool(order.paid_voucher and order.paid_voucher.amount > 0)


def fate_of(order: OrderOut) -> Fate:
    """A completed or partially cancelled order is invoiceable for the cash its lines paid
    less the cash refunded (the successful units' cash share); with none, but voucher money,
    it was paid by voucher only.  Failed or partially failed is not invoiceable until
    cancelled; anything else (paid, implementing, cancelled whole) is not invoiceable."""
    cash = sum(line.paid_cash.money().minor - (line.refunded_cash.money().minor
                                               if line.refunded_cash else 0)
               for line in order.lines)
    voucher = sum((line.paid_voucher.money().minor if line.paid_voucher else 0)
                  - (line.refunded_voucher.money().minor if line.refunded_voucher else 0)
                  for line in order.lines)
    return Fate(status_of(order.status, cash, voucher), cash, voucher)


def status_of(order_status: str | None, cash_minor: int, voucher_minor: int) -> str:
    """The Invoiceable List's status of an order in ``order_status`` that kept this cash and
    voucher money (not on an application)."""
    if order_status in ("failed", "partially_failed"):
        return FAILED
    if order_status in ("completed", "partially_cancelled"):
        return AVAILABLE if cash_minor > 0 else VOUCHER_ONLY if voucher_minor > 0 else NOTHING
    return PENDING if order_status in ("paid", "implementing") else NOTHING

AWAITING_CONFIRMATION = "awaiting_confirmation"  # the preview: the customer confirms it
SUBMITTED = "submitted"  # confirmed; issued at once, or after an operator's review
ISSUED = "issued"
DELIVERED = "delivered"  # its invoice reached the customer by its channel
CREDITED = "credited"  # an invoice credited in full (its orders may be invoiced again)
REJECTED = "rejected"  # by the reviewing operator, with a reason
WITHDRAWN = "withdrawn"  # by the customer, before it was issued
LIVE = (AWAITING_CONFIRMATION, SUBMITTED)  # an order on a live application is taken


def account_refusal(profile: ProfileChanged | None, in_arrears: bool) -> BusinessError | None:
    """Why the account may not apply for invoices now, if it may not: an account applies with
    its billing and mailing information given and nothing overdue."""
    if profile is None or profile.billing_info is None:
        return BillingInfoMissing(details={"missing": "billing_info"})
    if profile.mailing_info is None:
        return MailingInfoMissing(details={"missing": "mailing_info"})
    if in_arrears:
        return AccountInArrears()
    return None


def check_account(profile: ProfileChanged | None, in_arrears: bool) -> None:
    refusal = account_refusal(profile, in_arrears)
    if refusal is not None:
        raise refusal


def check_invoiceable(order_id: str, status: str) -> None:
    """Refuse an order that cannot go on an application now, with the rule's own code."""
    if status != AVAILABLE:
        refusal = REFUSALS.get(status, OrderNotInvoiceable)
        raise refusal(f"order {order_id} cannot be invoiced: {WHY.get(status, f'it is {status}')}",
                      {"order_id": order_id, "status": status})


def not_invoiceable_reason(status: str) -> str | None:
    """Why an order on the Invoiceable List cannot be chosen (its error code), or None."""
    return None if status == AVAILABLE else REFUSALS.get(status, OrderNotInvoiceable).code


def check_scope(lines: list[Line]) -> None:
    """Sales outside the scope of VAT (O) are invoiced apart from taxed ones: EN 16931 lets an
    invoice with an O line hold nothing else (BR-O-11)."""
    categories = {line.category for line in lines}
    if "O" in categories and len(categories) > 1:
        orders = sorted({line.order_id for line in lines if line.category == "O"})
        raise OrderNotInvoiceable(
            "orders outside the scope of VAT are invoiced apart from taxed ones",
            {"outside_scope_order_ids": orders})


def single_currency(currencies: list[str]) -> str:
    distinct = sorted(set(currencies))
    if len(distinct) != 1:
        raise MixedCurrencies("one invoice holds orders of one currency", {"currencies": distinct})
    return distinct[0]


def check_pending(status: str, *allowed: str) -> None:
    if status not in (allowed or (AWAITING_CONFIRMATION,)):
        raise ApplicationNotPending(f"the application is {status}", {"status": status})


def invoice_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:06d}"


# -- an issued document's amounts (EN 16931) --------------------------------------------------
#
# An invoice bills what the account's cash paid for the orders it holds.  Its lines are the
# orders' kept lines at their prices; VAT is computed per category and rate on the sum of their
# lines.  Where a voucher paid part of a category's lines, that part is a document-level
# allowance ("Paid by voucher"), so the taxable amount is what the cash paid net of VAT and the
# voucher money never shows as invoiced.  The cash already paid is the prepaid amount; the cent
# or so by which VAT on the sum differs from the per-line VAT the order charged is the rounding
# amount; so the amount due is exactly zero and every EN 16931 sum rule (BR-CO-10 … BR-CO-16)
# holds.  A credit note is the same over the refunded units and the money refunded.

# category → (VATEX code, the exemption text printed with it); S and Z carry none (BR-S-10, BR-Z-10)
EXEMPTIONS: dict[str, tuple[str | None, str]] = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "E": (None, "Exempt from VAT"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}


@dataclass(frozen=True)
class Line:
    """A document line: an order's kept units, and the cash and voucher money that paid them."""

    order_id: str
    sku: str | None
    description: str
    quantity: int
    unit_price_minor: int
    category: str
    rate: Decimal  # percent
    net_minor: int
    cash_minor: int
    voucher_minor: int = 0


@dataclass(frozen=True)
class VatGroup:
    category: str
    rate: Decimal
    lines_net_minor: int
    allowance_minor: int
    taxable_minor: int
    vat_minor: int

    @property
    def exemption(self) -> tuple[str | None, str | None]:
        return EXEMPTIONS.get(self.category, (None, None))


@dataclass(frozen=True)
class Amounts:
    """A document's totals in minor units, named as EN 16931 names them."""

    currency: str
    groups: tuple[VatGroup, ...]
    lines_net_minor: int  # BT-106
    allowances_minor: int  # BT-107
    taxable_minor: int  # BT-109
    vat_minor: int  # BT-110
    total_minor: int  # BT-112
    prepaid_minor: int  # BT-113
    rounding_minor: int  # BT-114
    due_minor: int  # BT-115


def vat_on(taxable_minor: int, rate: Decimal, currency: str) -> int:
    return Money.from_minor(taxable_minor, currency).times(rate / 100).minor


def line_net(quantity: int, unit_price_minor: int, currency: str) -> int:
    return Money.from_minor(unit_price_minor, currency).times(quantity).minor


def taxable_for(cash_minor: int, rate: Decimal, lines_net_minor: int, currency: str) -> int:
    """The taxable amount whose VAT-inclusive sum is the cash paid, or the nearest to it (some
    sums cannot be reached at a rate: the rounding amount takes the cent), never above the
    lines' net and never below zero."""
    guess = int((Decimal(cash_minor) / (1 + rate / 100)).quantize(Decimal(1), ROUND_HALF_UP))
    best = min((guess, guess - 1, guess + 1),
               key=lambda t: abs(t + vat_on(t, rate, currency) - cash_minor))
    return max(0, min(best, lines_net_minor))


def amounts(lines: list[Line], currency: str) -> Amounts:
    """Group the lines by VAT category and rate (in that order), take any voucher share off
    each group as an allowance, and total the document."""
    keys = sorted({(line.category, line.rate) for line in lines})
    groups = []
    for category, rate in keys:
        members = [line for line in lines if (line.category, line.rate) == (category, rate)]
        net = sum(line.net_minor for line in members)
        cash = sum(line.cash_minor for line in members)
        voucher = any(line.voucher_minor > 0 for line in members)
        taxable = taxable_for(cash, rate, net, currency) if voucher else net
        groups.append(VatGroup(category, rate, net, net - taxable, taxable,
                               vat_on(taxable, rate, currency)))
    lines_net = sum(group.lines_net_minor for group in groups)
    allowances = sum(group.allowance_minor for group in groups)
    taxable = lines_net - allowances
    vat = sum(group.vat_minor for group in groups)
    total = taxable + vat
    prepaid = sum(line.cash_minor for line in lines)
    rounding = prepaid - total
    return Amounts(currency, tuple(groups), lines_net, allowances, taxable, vat, total, prepaid,
                   rounding, total - prepaid + rounding)


def line_of(order_id: str, line: dict[str, Any], currency: str) -> Line:
    """A document line from an order line as the orders service reported it (its wire form):
    net = quantity × unit price, half-up; the cash and voucher money it kept (paid less
    refunded).  Lines reported before categories were sent are S when taxed, else Z."""
    rate = Decimal(line["vat_rate"])
    unit_minor = wire_minor(line["unit_price"])
    return Line(
        order_id=order_id, sku=line.get("sku"), description=line["name"],
        quantity=line["quantity"], unit_price_minor=unit_minor,
        category=line.get("vat_category") or ("S" if rate > 0 else "Z"), rate=rate,
        net_minor=line_net(line["quantity"], unit_minor, currency),
        cash_minor=wire_minor(line["paid_cash"]) - wire_minor(line.get("refunded_cash")),
        voucher_minor=wire_minor(line.get("paid_voucher")) - wire_minor(line.get("refunded_voucher")))


def credited_line(order_id: str, line: dict[str, Any], units: int, cash_minor: int,
                  voucher_minor: int, currency: str) -> Line:
    """A credit note's line: ``units`` of an order line returned, and the money refunded for
    them."""
    return replace(line_of(order_id, {**line, "quantity": units}, currency),
                   cash_minor=cash_minor, voucher_minor=voucher_minor)


INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
PAID_TERMS = {INVOICE: "Paid in advance from the account balance; nothing is due.",
              CREDIT_NOTE: "Refunded to the account balance; nothing is due."}


@dataclass(frozen=True)
class Document:
    """An invoice or credit note about to be issued: who it is from and to (as they are now),
    its lines, and everything its snapshot keeps.  ``amounts`` and ``snapshot`` decide; the
    service numbers, seals and stores it."""

    kind: str
    currency: str
    seller: PartySnapshot
    buyer: PartySnapshot
    lines: list[Line]
    po_numbers: list[str]
    issue_date: date
    supply_date: date | None
    payment_reference: str
    channel: str | None = None
    mailing: dict[str, str] | None = None  # where it goes: recipient, address, email
    language: str = "en"
    credited_invoice_id: str | None = None
    credited_invoice_number: str | None = None
    credit_reason: str | None = None

    @cached_property
    def amounts(self) -> Amounts:
        return amounts(self.lines, self.currency)

    def snapshot(self) -> dict[str, Any]:
        """What the issued document keeps, as JSON: parties, lines, the VAT breakdown and
        totals (minor units as money objects), dates and payment terms."""
        totals, currency = self.amounts, self.currency

        def money(minor: int) -> dict[str, str]:
            return MoneyOut.minor(minor, currency).wire()

        return {
            "kind": self.kind,
            "seller": self.seller.wire(),
            "buyer": self.buyer.wire(),
            "po_numbers": self.po_numbers,
            "order_ids": list(dict.fromkeys(line.order_id for line in self.lines)),
            "lines": [line_out(line, currency).wire() for line in self.lines],
            "vat_breakdown": [group.wire() for group in breakdown(totals)],
            "lines_net": money(totals.lines_net_minor),
            "allowances": money(totals.allowances_minor),
            "prepaid": money(totals.prepaid_minor),
            "rounding": money(totals.rounding_minor),
            "amount_due": money(totals.due_minor),
            "supply_date": self.supply_date.isoformat() if self.supply_date else None,
            "due_date": self.issue_date.isoformat(),
            "payment_terms": PAID_TERMS[self.kind],
            "payment_reference": self.payment_reference,
            "channel": self.channel,
            "mailing": self.mailing,
            "language": self.language,
            "paid": [[line.cash_minor, line.voucher_minor] for line in self.lines],
            "credited_invoice_id": self.credited_invoice_id,
            "credited_invoice_number": self.credited_invoice_number,
            "credit_reason": self.credit_reason,
        }


def breakdown(totals: Amounts) -> list[VatBreakdownOut]:
    """The VAT breakdown as documents show it (EN 16931 BG-23)."""
    currency = totals.currency
    return [VatBreakdownOut(
        category=group.category, rate=format(group.rate, ".2f"),  # type: ignore[arg-type]
        lines_net=MoneyOut.minor(group.lines_net_minor, currency),
        allowance=MoneyOut.minor(group.allowance_minor, currency),
        taxable=MoneyOut.minor(group.taxable_minor, currency),
        vat=MoneyOut.minor(group.vat_minor, currency),
        exemption_reason_code=group.exemption[0], exemption_reason=group.exemption[1])
        for group in totals.groups]


def line_out(line: Line, currency: str) -> InvoiceLineOut:
    vat = vat_on(line.net_minor, line.rate, currency)
    return InvoiceLineOut(
        order_id=line.order_id, sku=line.sku, description=line.description,
        quantity=line.quantity, unit_price=MoneyOut.minor(line.unit_price_minor, currency),
        vat_rate=format(line.rate, ".2f"), vat_category=line.category,  # type: ignore[arg-type]
        net=MoneyOut.minor(line.net_minor, currency), vat=MoneyOut.minor(vat, currency),
        gross=MoneyOut.minor(line.net_minor + vat, currency))


def mailing_of(profile: ProfileChanged) -> dict[str, str] | None:
    """Where the account's documents go, as its mailing information says now."""
    info = profile.mailing_info
    if info is None:
        return None
    return {"recipient": info.recipient, "address": one_line(info.address.model_dump()),
            "street": info.address.street,
            "city_line": f"{info.address.postal_code} {info.address.city}",
            "country": info.address.country, "email": info.email}


def buyer_party(profile: ProfileChanged) -> PartySnapshot:
    """The buyer as its billing information says now: legal name, address, VAT number (the
    company's, else the billing tax id) and organisation number, the mailing e-mail, and its
    e-invoice participant id."""
    assert profile.billing_info is not None
    info, company = profile.billing_info, profile.company
    address = info.address
    return PartySnapshot(
        name=info.legal_name, address=one_line(address.model_dump()),
        vat_id=company.vat_number or (info.tax_id if info.tax_id[:2].isalpha() else None),
        email=profile.mailing_info.email if profile.mailing_info else None,
        street=address.street, postal_code=address.postal_code, city=address.city,
        country=address.country, organisation_number=company.organisation_number,
        endpoint_id=participant_id(company.country, company.organisation_number),
        iban=info.bank_account.iban if info.bank_account else None,
        bic=info.bank_account.bic if info.bank_account else None)
