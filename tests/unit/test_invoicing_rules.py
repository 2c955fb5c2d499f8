"""Invoicing rules: only available orders are invoiceable (not ones already on an application
or already invoiced), one invoice holds one currency, only a pending application can be
confirmed, and invoice numbers run per series and year, zero-padded."""

import pytest

from services.common.errors import ApplicationNotPending, MixedCurrencies, OrderNotInvoiceable
from services.invoicing.domain import (
    APPLIED,
    AVAILABLE,
    AWAITING_CONFIRMATION,
    INVOICED,
    ISSUED,
    check_invoiceable,
    check_pending,
    invoice_number,
    single_currency,
)


def test_an_available_order_is_invoiceable():
    check_invoiceable("ord-1", AVAILABLE)


def test_an_order_already_on_an_application_is_not_invoiceable():
    with pytest.raises(OrderNotInvoiceable) as refused:
        check_invoiceable("ord-1", APPLIED)
    assert refused.value.details == {"order_id": "ord-1", "status": APPLIED}
    assert "application" in refused.value.message


def test_an_order_already_invoiced_is_not_invoiceable():
    with pytest.raises(OrderNotInvoiceable) as refused:
        check_invoiceable("ord-1", INVOICED)
    assert "already been invoiced" in refused.value.message


def test_an_order_in_an_unknown_state_is_not_invoiceable():
    with pytest.raises(OrderNotInvoiceable):
        check_invoiceable("ord-1", "cancelled")


def test_an_invoice_holds_orders_of_one_currency():
    assert single_currency(["EUR", "EUR", "EUR"]) == "EUR"


def test_orders_of_different_currencies_cannot_share_an_invoice():
    with pytest.raises(MixedCurrencies) as refused:
        single_currency(["SEK", "EUR", "SEK"])
    assert refused.value.details == {"currencies": ["EUR", "SEK"]}


def test_an_application_awaiting_confirmation_is_pending():
    check_pending(AWAITING_CONFIRMATION)


def test_an_issued_application_is_not_pending():
    with pytest.raises(ApplicationNotPending):
        check_pending(ISSUED)


def test_invoice_numbers_are_zero_padded_per_series_and_year():
    assert invoice_number("INV", 2026, 1) == "INV-2026-000001"
    assert invoice_number("INV", 2026, 123456) == "INV-2026-123456"
    assert invoice_number("CRN", 2027, 42) == "CRN-2027-000042"


def test_invoice_numbers_sort_in_issue_order_within_a_series_and_year():
    numbers = [invoice_number("INV", 2026, n) for n in (1, 2, 10, 100, 999)]
    assert numbers == sorted(numbers)
