"""Order rules in plain Python: the catalogue's rules, pricing lines, stock, and the order's
life.

Lifecycle (services and licences): awaiting_payment → paid → completed (every line
implemented); awaiting_payment → cancelled when billing refuses the payment.  Goods: placed →
checked against stock (each line approved, partly approved or rejected; what is approved is
reserved) → ``draft``.  Orders are never deleted.  Each line's VAT is rounded half-up on its
own; the order's totals are the sums of its lines (for goods, of what was approved).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.common.contracts import ProductIn
from services.common.countries import reverse_charged
from services.common.errors import (
    Conflict,
    InvalidRequest,
    MixedCurrencies,
    OrderLocked,
    OrderNotEditable,
)
from services.common.money import Money

AWAITING_PAYMENT = "awaiting_payment"
IMPLEMENTING = "implementing"
PARTIALLY_FAILED = "partially_failed"
FAILED = "failed"
PARTIALLY_CANCELLED = "partially_cancelled"
DRAFT = "draft"
AWAITING_CONFIRMATION = "awaiting_confirmation"
CONFIRMED = "confirmed"
CHANGED = "changed"
SENT_FOR_SHIPMENT = "sent_for_shipment"
SHIPPED = "shipped"
MARKED_FOR_DELETION = "marked_for_deletion"
DELETED = "deleted"
# a goods order can be edited until it is sent for shipment; an edit needs a new confirmation
EDITABLE = (DRAFT, AWAITING_CONFIRMATION, CONFIRMED, CHANGED)
LOCKED = (SENT_FOR_SHIPMENT, SHIPPED)
SHIPMENT_STEPS = ("to_warehouse", "assembled", "shipped")
GOODS = "goods"
OUT_OF_STOCK = "out_of_stock"
PARTLY_IN_STOCK = "partly_in_stock"
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


def vat_treatment(category: str, rate_bp: int, seller_country: str, buyer_country: str | None,
                  buyer_vat_number: str | None) -> tuple[str, int]:
    """The VAT category and rate a product is sold under to this buyer: its own, except that a
    standard-rated sale to a business in another EU country (it gave its VAT number) is
    reverse charged — AE at 0 %, the buyer accounts for the VAT."""
    if category == "S" and reverse_charged(seller_country, buyer_country, buyer_vat_number):
        return "AE", 0
    return category, rate_bp


# the standard-category rates a seller established there may charge (Peppol SE-R-006 refuses
# any other on a Swedish seller's e-invoice); other countries' are not restricted here
STANDARD_RATES = {"SE": (Decimal(25), Decimal(12), Decimal(6))}


def check_product(product: ProductIn, seller_country: str = "SE") -> None:
    """The catalogue's rules beyond each field's own: the VAT category fits the rate (a
    standard rate the seller's country has), and only goods carry packing and certificate
    data."""
    if product.vat_category == "S" and product.vat_rate <= 0:
        raise InvalidRequest("the standard VAT category (S) takes a rate above zero",
                             {"field": "vat_rate"})
    rates = STANDARD_RATES.get(seller_country)
    if product.vat_category == "S" and rates and product.vat_rate not in rates:
        allowed = ", ".join(f"{rate}" for rate in rates)
        raise InvalidRequest(f"a seller in {seller_country} charges standard VAT of {allowed} %",
                             {"field": "vat_rate", "allowed": [str(rate) for rate in rates]})
    if product.vat_category != "S" and product.vat_rate != 0:
        raise InvalidRequest(f"VAT category {product.vat_category} takes a rate of 0",
                             {"field": "vat_rate"})
    if product.kind != GOODS:
        for name in ("units_per_box", "characteristics", "certificates"):
            if getattr(product, name):
                raise InvalidRequest(f"only goods have {name.replace('_', ' ')}", {"field": name})
    if product.price.amount < 0:
        raise InvalidRequest("a price is zero or more", {"field": "price"})


def approve(wanted: int, available: int) -> tuple[int, str | None]:
    """How much of a goods line stock allows, and why not all of it."""
    approved = max(0, min(wanted, available))
    if approved == wanted:
        return approved, None
    return approved, PARTLY_IN_STOCK if approved else OUT_OF_STOCK


def split_lines(grosses: list[int], voucher_minor: int) -> list[tuple[int, int]]:
    """What each line's gross takes from (cash, voucher) when the voucher wallet paid
    ``voucher_minor`` of the order: the voucher part covers the lines in order, each in full
    before the next (so the split is exact to the cent, with no remainder to place)."""
    left = voucher_minor
    parts = []
    for gross in grosses:
        from_voucher = min(gross, max(left, 0))
        left -= from_voucher
        parts.append((gross - from_voucher, from_voucher))
    if left > 0:
        raise ValueError("the voucher part is more than the order's total")
    return parts


def check_editable(status: str, goods: bool) -> None:
    """A goods order's lines change only until it is sent for shipment."""
    if goods and status in LOCKED:
        raise OrderLocked(details={"status": status})
    if not goods or status not in EDITABLE:
        raise OrderNotEditable(f"an order that is {status} cannot be changed", {"status": status})


def pack(lines: list[tuple[str, int]], units_per_box: dict[str, int | None]) -> list[dict[str, object]]:
    """Boxes for a shipment's lines when the operator gives none: each product in boxes of its
    ``units_per_box`` (the last one holding the rest; no such size: one box for the line),
    numbered from 1 in line order."""
    boxes: list[dict[str, object]] = []
    for sku, quantity in lines:
        size = units_per_box.get(sku) or quantity
        left = quantity
        while left > 0:
            boxes.append({"number": len(boxes) + 1, "lines": [{"sku": sku, "quantity": min(size, left)}]})
            left -= size
    return boxes


def check_boxes(boxes: list[dict[str, object]], lines: list[tuple[str, int]]) -> None:
    """Boxes an operator packed must hold exactly the shipment's lines, with unique numbers."""
    numbers = [box["number"] for box in boxes]
    if len(set(numbers)) != len(numbers):
        raise InvalidRequest("box numbers are unique in a shipment", {"field": "boxes"})
    packed: dict[str, int] = {}
    for box in boxes:
        for item in box["lines"]:  # type: ignore[attr-defined]
            packed[item["sku"]] = packed.get(item["sku"], 0) + item["quantity"]
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, 0) + quantity
    if packed != wanted:
        raise InvalidRequest("the boxes must hold exactly the shipment's lines",
                             {"field": "boxes", "shipment": wanted, "boxes": packed})


def implemented(failed: list[tuple[int, int]]) -> str:
    """An order's status from its lines' (quantity, failed units)."""
    if not any(f for _, f in failed):
        return COMPLETED
    return FAILED if all(f == q for q, f in failed) else PARTIALLY_FAILED


def line_outcome(quantity: int, failed: int) -> str:
    return "succeeded" if failed == 0 else "failed" if failed >= quantity else "partially_failed"


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def refund_of(gross: int, paid_cash: int, paid_voucher: int, quantity: int,
              failed: int) -> tuple[int, int]:
    """What cancelling ``failed`` of a line's ``quantity`` units gives back, as (cash,
    voucher) minor units, each to the wallet it came from.  All units failed: exactly what the
    line paid.  Some: the units' share of the gross, rounded half-up; of it the voucher part
    is the units' share of what the voucher paid, rounded half-up on its own, and cash takes
    the rest, so the odd cent is cash's (never more than either wallet paid)."""
    if failed <= 0:
        return 0, 0
    if failed >= quantity:
        return paid_cash, paid_voucher
    total = _half_up(gross * failed, quantity)
    voucher = min(_half_up(paid_voucher * failed, quantity), total, paid_voucher)
    cash = min(total - voucher, paid_cash)
    return cash, voucher
