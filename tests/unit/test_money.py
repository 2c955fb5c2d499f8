"""Money rules: amounts are exact Decimals with a currency, never floats; rounding is half-up
to the currency's minor unit; currencies never mix; amounts travel over the wire as strings."""

from decimal import Decimal

import pytest

from services.common.contracts import MoneyOut
from services.common.money import CurrencyMismatch, Money, total


def test_money_never_accepts_a_float():
    with pytest.raises(TypeError):
        Money(0.1, "EUR")


def test_money_is_never_multiplied_by_a_float():
    with pytest.raises(TypeError):
        Money(Decimal("10"), "EUR").times(1.5)


def test_an_amount_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        Money("ten euros", "EUR")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_an_amount_must_be_finite(value):
    with pytest.raises(ValueError):
        Money(Decimal(value), "EUR")


def test_amounts_are_rounded_half_up_to_the_minor_unit():
    assert Money(Decimal("0.125"), "EUR").amount == Decimal("0.13")
    assert Money(Decimal("0.124"), "EUR").amount == Decimal("0.12")


def test_negative_amounts_round_half_away_from_zero():
    assert Money(Decimal("-0.125"), "EUR").amount == Decimal("-0.13")


def test_jpy_has_no_minor_digits():
    assert Money(Decimal("100.5"), "JPY").amount == Decimal("101")
    assert Money.from_minor(500, "JPY").amount == Decimal("500")
    assert Money(Decimal("500"), "JPY").minor == 500


def test_minor_units_round_trip():
    for minor in (0, 1, 99, 1250, -437, 10**12):
        assert Money.from_minor(minor, "EUR").minor == minor


def test_from_minor_places_the_decimal_point_by_currency():
    assert Money.from_minor(1250, "EUR").amount == Decimal("12.50")


def test_adding_different_currencies_raises():
    with pytest.raises(CurrencyMismatch):
        Money(Decimal("1"), "EUR") + Money(Decimal("1"), "USD")


def test_comparing_different_currencies_raises():
    with pytest.raises(CurrencyMismatch):
        assert Money(Decimal("1"), "EUR") < Money(Decimal("2"), "SEK")


def test_money_does_not_combine_with_a_bare_number():
    with pytest.raises(TypeError):
        Money(Decimal("1"), "EUR") + Decimal("1")


def test_multiplying_rounds_half_up_to_the_minor_unit():
    assert Money(Decimal("0.05"), "EUR").times(Decimal("0.25")).amount == Decimal("0.01")
    assert Money(Decimal("0.10"), "EUR").times(Decimal("0.25")).amount == Decimal("0.03")


def test_total_of_nothing_is_zero_in_the_currency():
    assert total([], "SEK") == Money.zero("SEK")


def test_total_refuses_an_amount_in_another_currency():
    with pytest.raises(CurrencyMismatch):
        total([Money(Decimal("1"), "EUR"), Money(Decimal("1"), "USD")], "EUR")


def test_money_travels_as_a_string_never_a_float():
    wire = MoneyOut.of(Money(Decimal("12.5"), "EUR")).wire()
    assert wire == {"amount": "12.50", "currency": "EUR"}
