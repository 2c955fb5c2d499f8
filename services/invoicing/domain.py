"""Invoicing rules in plain Python.

* Only cash-paid, successfully implemented orders are invoiceable; an order is on at most
  one application and one invoice.
* An application groups orders of one account and one currency and awaits the customer's
  confirmation; confirming issues exactly one invoice (confirming again returns it).
* Invoice numbers run per series and year without gaps: ``INV-2026-000001``.
"""

from __future__ import annotations

from services.common.errors import (
    ApplicationNotPending,
    MixedCurrencies,
    OrderAlreadyInvoiced,
    OrderNotInvoiceable,
)

AVAILABLE = "available"
APPLIED = "applied"
INVOICED = "invoiced"

AWAITING_CONFIRMATION = "awaiting_confirmation"
ISSUED = "issued"


def check_invoiceable(order_id: str, status: str) -> None:
    if status in (APPLIED, INVOICED):
        reason = {APPLIED: "it is already on an invoice application",
                  INVOICED: "it has already been invoiced"}[status]
        raise OrderAlreadyInvoiced(
            f"order {order_id} cannot be invoiced: {reason}",
            {"order_id": order_id, "status": status},
        )
    if status != AVAILABLE:
        raise OrderNotInvoiceable(
            f"order {order_id} cannot be invoiced: it is {status}",
            {"order_id": order_id, "status": status},
        )


def not_invoiceable_reason(status: str) -> str | None:
    """Why an order on the Invoiceable List cannot be chosen (its error code), or None."""
    return None if status == AVAILABLE else OrderAlreadyInvoiced.code


def single_currency(currencies: list[str]) -> str:
    distinct = sorted(set(currencies))
    if len(distinct) != 1:
        raise MixedCurrencies("one invoice holds orders of one currency", {"currencies": distinct})
    return distinct[0]


def check_pending(status: str) -> None:
    if status != AWAITING_CONFIRMATION:
        raise ApplicationNotPending(f"the application is {status}")


def invoice_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:06d}"
