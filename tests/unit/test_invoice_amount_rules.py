"""An issued document's amounts agree with its lines for every payment mix (EN 16931's sum
rules BR-CO-10 … BR-CO-16), checked over random lines, rates, quantities and voucher shares."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import OrderNotInvoiceable
from services.invoicing import domain

TREATMENTS = [("S", Decimal("25.00")), ("S", Decimal("12.00")), ("S", Decimal("6.00")),
              ("Z", Decimal("0.00")), ("E", Decimal("0.00")), ("AE", Decimal("0.00"))]


@st.composite
def lines(draw: st.DrawFn) -> list[domain.Line]:
    made = []
    for number in range(draw(st.integers(1, 12))):
        category, rate = draw(st.sampled_from(TREATMENTS))
        quantity = draw(st.integers(1, 1000))
        unit = draw(st.integers(1, 200_000))
        net = domain.line_net(quantity, unit, "EUR")
        gross = net + domain.vat_on(net, rate, "EUR")
        voucher = draw(st.one_of(st.just(0), st.just(gross), st.integers(0, gross)))
        made.append(domain.Line(order_id=f"o-{number % 3}", sku=f"SKU-{number}",
                                description="item", quantity=quantity, unit_price_minor=unit,
                                category=category, rate=rate, net_minor=net,
                                cash_minor=gross - voucher, voucher_minor=voucher))
    return made


@settings(max_examples=400, deadline=None)
@given(lines())
def test_invoice_totals_satisfy_the_en16931_sum_rules_for_every_payment_mix(drawn):
    totals = domain.amounts(drawn, "EUR")
    groups = totals.groups
    assert totals.lines_net_minor == sum(line.net_minor for line in drawn)  # BR-CO-10
    assert totals.allowances_minor == sum(g.allowance_minor for g in groups)  # BR-CO-11
    assert totals.taxable_minor == totals.lines_net_minor - totals.allowances_minor  # BR-CO-13
    assert totals.vat_minor == sum(g.vat_minor for g in groups)  # BR-CO-14
    assert totals.total_minor == totals.taxable_minor + totals.vat_minor  # BR-CO-15
    assert totals.due_minor == totals.total_minor - totals.prepaid_minor + totals.rounding_minor
    assert totals.due_minor == 0  # BR-CO-16: paid orders owe nothing
    assert totals.prepaid_minor == sum(line.cash_minor for line in drawn)
    for group in groups:  # VAT on the sum of the category's lines (BR-S-09 and kin)
        assert group.vat_minor == domain.vat_on(group.taxable_minor, group.rate, "EUR")
        assert 0 <= group.allowance_minor <= group.lines_net_minor
        assert group.taxable_minor == group.lines_net_minor - group.allowance_minor


@settings(max_examples=300, deadline=None)
@given(lines())
def test_the_voucher_share_never_shows_as_invoiced(drawn):
    totals = domain.amounts(drawn, "EUR")
    for group in totals.groups:
        members = [line for line in drawn if (line.category, line.rate) == (group.category, group.rate)]
        cash = sum(line.cash_minor for line in members)
        if not any(line.voucher_minor for line in members):
            assert group.allowance_minor == 0
        else:  # what the group bills is what its cash paid, to within the cent rounding takes
            billed = group.taxable_minor + group.vat_minor
            assert abs(billed - cash) <= len(members)
    # the rounding amount is cents: at most one per line
    assert abs(totals.rounding_minor) <= len(drawn)


def test_an_order_paid_wholly_by_voucher_bills_nothing_taxable():
    net = domain.line_net(2, 5000, "EUR")
    line = domain.Line("o", "S", "VM", 2, 5000, "S", Decimal("25.00"), net, 0, 12500)
    totals = domain.amounts([line], "EUR")
    assert (totals.taxable_minor, totals.vat_minor, totals.allowances_minor) == (0, 0, 10000)


def test_vat_is_computed_on_the_sum_of_a_rate_and_the_cent_goes_to_rounding():
    # three lines of 0.02 at 25 %: per line VAT 0.01 (half-up of 0.005) = 0.03 paid; on the sum
    # 0.06 × 25 % = 0.015 → 0.02; the cent is the rounding amount
    lines_ = [domain.Line("o", None, "x", 1, 2, "S", Decimal("25.00"), 2, 3) for _ in range(3)]
    totals = domain.amounts(lines_, "EUR")
    assert (totals.taxable_minor, totals.vat_minor, totals.total_minor) == (6, 2, 8)
    assert (totals.prepaid_minor, totals.rounding_minor, totals.due_minor) == (9, 1, 0)


def test_reverse_charged_and_exempt_groups_carry_their_exemption_text():
    lines_ = [domain.Line("o", None, "x", 1, 1000, "AE", Decimal("0.00"), 1000, 1000),
              domain.Line("o", None, "y", 1, 1000, "E", Decimal("0.00"), 1000, 1000)]
    groups = {g.category: g for g in domain.amounts(lines_, "EUR").groups}
    assert groups["AE"].exemption == ("VATEX-EU-AE", "Reverse charge")
    assert groups["E"].exemption == (None, "Exempt from VAT")


def test_sales_outside_the_scope_of_vat_are_invoiced_apart_from_taxed_ones():
    outside = domain.Line("o-1", None, "x", 1, 1000, "O", Decimal("0.00"), 1000, 1000)
    taxed = domain.Line("o-2", None, "y", 1, 1000, "S", Decimal("25.00"), 1000, 1250)
    domain.check_scope([outside])
    domain.check_scope([taxed])
    with pytest.raises(OrderNotInvoiceable) as refused:
        domain.check_scope([outside, taxed])
    assert refused.value.details == {"outside_scope_order_ids": ["o-1"]}
