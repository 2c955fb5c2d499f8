"""Order rules: a line's net is unit price times quantity, its VAT is rounded half-up on the
line itself, the order's totals are the sums of its lines in one currency, and an order
moves awaiting_payment -> paid -> completed and never backwards."""

from decimal import Decimal

import pytest

from services.common.errors import Conflict, MixedCurrencies
from services.common.money import Money
from services.orders.domain import (
    AWAITING_PAYMENT,
    COMPLETED,
    PAID,
    PricedLine,
    complete,
    mark_paid,
    rate,
    totals,
)


def line(no: int, price: str, quantity: int = 1, vat_bp: int = 2500, currency: str = "EUR"):
    return PricedLine(
        no, f"SKU-{no}", f"Product {no}", quantity, Money(Decimal(price), currency), vat_bp
    )


def test_a_vat_rate_in_basis_points_is_a_fraction():
    assert rate(2500) == Decimal("0.25")
    assert rate(600) == Decimal("0.06")
    assert rate(0) == Decimal(0)


def test_a_line_net_is_unit_price_times_quantity():
    assert line(1, "19.99", quantity=3).net == Money(Decimal("59.97"), "EUR")


def test_vat_is_rounded_half_up_per_line():
    # 0.05 * 25% = 0.0125 -> 0.01 ; 0.10 * 25% = 0.025 -> 0.03
    assert line(1, "0.05").vat == Money(Decimal("0.01"), "EUR")
    assert line(2, "0.10").vat == Money(Decimal("0.03"), "EUR")


def test_a_line_gross_is_net_plus_vat():
    priced = line(1, "10.00", quantity=2, vat_bp=1200)
    assert priced.gross == Money(Decimal("22.40"), "EUR")


def test_order_totals_sum_vat_computed_per_line():
    # Each line: net 0.05, VAT 0.0125 -> 0.01.  Summed per line: 0.03.
    # (VAT on the summed net 0.15 would be 0.0375 -> 0.04; that is not the rule.)
    result = totals([line(1, "0.05"), line(2, "0.05"), line(3, "0.05")])
    assert result.net == Money(Decimal("0.15"), "EUR")
    assert result.vat == Money(Decimal("0.03"), "EUR")
    assert result.total == Money(Decimal("0.18"), "EUR")


def test_order_totals_with_different_rates_and_quantities():
    result = totals([line(1, "100.00", 2, 2500), line(2, "9.99", 3, 1200), line(3, "5.00", 1, 0)])
    assert result.net == Money(Decimal("234.97"), "EUR")
    assert result.vat == Money(Decimal("53.60"), "EUR")  # 50.00 + 3.5964->3.60 + 0
    assert result.total == result.net + result.vat


def test_an_order_mixing_currencies_is_refused():
    with pytest.raises(MixedCurrencies) as refused:
        totals([line(1, "10.00", currency="EUR"), line(2, "10.00", currency="SEK")])
    assert refused.value.details == {"currencies": ["EUR", "SEK"]}


def test_an_order_awaiting_payment_becomes_paid():
    assert mark_paid(AWAITING_PAYMENT) == PAID


@pytest.mark.parametrize("status", [PAID, COMPLETED])
def test_an_order_cannot_be_paid_twice(status):
    with pytest.raises(Conflict):
        mark_paid(status)


def test_a_paid_order_can_be_completed():
    assert complete(PAID) == COMPLETED


@pytest.mark.parametrize("status", [AWAITING_PAYMENT, COMPLETED])
def test_only_a_paid_order_can_be_completed(status):
    with pytest.raises(Conflict):
        complete(status)


def test_a_standard_rated_sale_to_a_business_in_another_eu_country_is_reverse_charged():
    from services.orders.domain import vat_treatment
    assert vat_treatment("S", 2500, "SE", "DE", "DE123456789") == ("AE", 0)
    assert vat_treatment("S", 2500, "SE", "SE", "SE556677889901") == ("S", 2500)  # domestic
    assert vat_treatment("S", 2500, "SE", "DE", None) == ("S", 2500)  # a consumer: no VAT number
    assert vat_treatment("S", 2500, "SE", "NO", "NO123456789MVA") == ("S", 2500)  # outside the EU
    assert vat_treatment("E", 0, "SE", "DE", "DE123456789") == ("E", 0)  # exempt stays exempt


def test_a_swedish_seller_sells_only_at_swedish_standard_rates():
    import pytest

    from services.common.contracts import ProductIn
    from services.common.errors import InvalidRequest
    from services.orders.domain import check_product

    def product(percent: str) -> ProductIn:
        return ProductIn(sku="VM", name="VM", kind="service", vat_rate=percent,
                         price={"amount": "10.00", "currency": "EUR"})

    for swedish in ("25", "12", "6"):
        check_product(product(swedish), "SE")
    with pytest.raises(InvalidRequest) as refused:
        check_product(product("25.5"), "SE")  # Finland's: SE-R-006 would hold every e-invoice
    assert refused.value.details["allowed"] == ["25", "12", "6"]
    check_product(product("25.5"), "FI")
