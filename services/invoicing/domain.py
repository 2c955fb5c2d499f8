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

from dataclasses import dataclass

from services.common.contracts import OrderOut, ProfileChanged
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
