"""Order rules in plain Python: pricing lines and the order's life.

Lifecycle (services and licences): awaiting_payment → paid → completed (every line
implemented); awaiting_payment → cancelled when billing refuses the payment.  Orders are never
deleted.  Each line's VAT is rounded half-up on its own; the order's totals are the
sums of its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.common.errors import Conflict, MixedCurrencies
from services.common.money import Money

AWAITING_PAYMENT = "awaiting_payment"
PAID = "paid"
COMPLETED = "completed"
CANCELLED = "cancelled"

BASIS_POINTS = Decimal(10_000)


def rate(basis_points: int) -> Decimal:
    """A VAT rate as a fraction: 2500 basis points are 0.25."""
    return Decimal(basis_points) / BASIS_POINTS


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Money
    vat_rate_bp: int

    @property
    def vat_rate(self) -> Decimal:
        return rate(self.vat_rate_bp)

    @property
    def net(self) -> Money:
        return self.unit_price.times(self.quantity)

    @property
    def vat(self) -> Money:
        return self.net.times(self.vat_rate)

    @property
    def gross(self) -> Money:
        return self.net + self.vat


@dataclass(frozen=True)
class Totals:
    net: Money
    vat: Money
    total: Money


def totals(lines: list[PricedLine]) -> Totals:
    currencies = {line.unit_price.currency for line in lines}
    if len(currencies) != 1:
        raise MixedCurrencies(details={"currencies": sorted(currencies)})
    (currency,) = currencies
    net = vat = Money.zero(currency)
    for line in lines:
        net, vat = net + line.net, vat + line.vat
    return Totals(net=net, vat=vat, total=net + vat)


def mark_paid(status: str) -> str:
    if status != AWAITING_PAYMENT:
        raise Conflict(f"an order that is {status} cannot be paid")
    return PAID


def complete(status: str) -> str:
    if status != PAID:
        raise Conflict(f"an order that is {status} cannot be implemented")
    return COMPLETED
