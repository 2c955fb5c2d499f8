"""Ledger and credential rules of billing: every journal entry balances, top-ups and charges
are positive, a charge never exceeds the cash balance, and e-mail addresses are normalised and
checked."""

from decimal import Decimal

import pytest

from services.billing.domain import (
    BANK,
    CUSTOMER_CASH,
    REVENUE_CLEARING,
    Leg,
    balanced,
    normalise_email,
    pay_from_cash,
    top_up,
)
from services.common.errors import InsufficientFunds, InvalidRequest
from services.common.money import CurrencyMismatch, Money


def eur(value: str) -> Money:
    return Money(Decimal(value), "EUR")


def books(legs: list[Leg]) -> dict[str, Money]:
    return {leg.book: leg.amount for leg in legs}


# -- journal entries ----------------------------------------------------------------------


def test_an_entry_whose_postings_do_not_sum_to_zero_is_refused():
    with pytest.raises(ValueError):
        balanced([Leg(CUSTOMER_CASH, "acc", eur("10.00")), Leg(BANK, None, eur("-9.99"))])


def test_an_entry_whose_postings_sum_to_zero_is_accepted():
    legs = [Leg(CUSTOMER_CASH, "acc", eur("10.00")), Leg(BANK, None, eur("-10.00"))]
    assert balanced(legs) == legs


def test_an_entry_mixing_currencies_is_refused_even_if_minor_units_cancel():
    # 1000 JPY and -10.00 EUR are both 1000 minor units; they are not a balanced entry.
    legs = [
        Leg(CUSTOMER_CASH, "acc", Money(Decimal("1000"), "JPY")),
        Leg(BANK, None, eur("-10.00")),
    ]
    with pytest.raises(ValueError):
        balanced(legs)


# -- top-ups ------------------------------------------------------------------------------


def test_a_top_up_moves_money_from_bank_to_customer_cash():
    legs = top_up("acc", eur("50.00"))
    assert books(legs) == {CUSTOMER_CASH: eur("50.00"), BANK: eur("-50.00")}
    assert next(leg for leg in legs if leg.book == CUSTOMER_CASH).account_id == "acc"


@pytest.mark.parametrize("value", ["0", "-0.01", "-50"])
def test_top_up_must_be_positive(value):
    with pytest.raises(InvalidRequest):
        top_up("acc", eur(value))


# -- paying from cash ---------------------------------------------------------------------


def test_paying_moves_money_from_customer_cash_to_sales():
    legs = pay_from_cash("acc", eur("30.00"), cash_balance=eur("100.00"))
    assert books(legs) == {CUSTOMER_CASH: eur("-30.00"), REVENUE_CLEARING: eur("30.00")}


def test_paying_exactly_the_cash_balance_is_allowed():
    legs = pay_from_cash("acc", eur("100.00"), cash_balance=eur("100.00"))
    assert books(legs)[REVENUE_CLEARING] == eur("100.00")


def test_paying_more_than_the_cash_balance_is_refused_with_insufficient_funds():
    with pytest.raises(InsufficientFunds) as refused:
        pay_from_cash("acc", eur("100.01"), cash_balance=eur("100.00"))
    assert refused.value.details == {"wallet": "cash", "balance": "100.00", "required": "100.01",
                                     "currency": "EUR"}


@pytest.mark.parametrize("value", ["0", "-5.00"])
def test_a_charge_must_be_positive(value):
    with pytest.raises(InvalidRequest):
        pay_from_cash("acc", eur(value), cash_balance=eur("100.00"))


def test_paying_in_another_currency_than_the_balance_is_refused():
    with pytest.raises(CurrencyMismatch):
        pay_from_cash("acc", Money(Decimal("1"), "USD"), cash_balance=eur("100.00"))


# -- addresses -------------------------------------------------------------------------


def test_email_is_normalised_to_lower_case_without_surrounding_spaces():
    assert normalise_email("  Alice@Example.COM ") == "alice@example.com"


@pytest.mark.parametrize(
    "email", ["not-an-email", "@example.com", "alice@localhost", "ali ce@example.com", ""]
)
def test_email_normalisation_refuses_what_is_not_an_address(email):
    with pytest.raises(InvalidRequest):
        normalise_email(email)


def test_an_address_with_two_at_signs_is_refused():
    with pytest.raises(InvalidRequest):
        normalise_email("alice@evil@example.com")
