"""Orders' tables.  Amounts are integer minor units; VAT rates are basis points."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.messaging import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Product(Base):
    """A catalogue item: a ``service`` or ``licence`` (implemented after payment) or ``goods``
    (stock on hand, of which approved order lines hold ``reserved``; never more reserved than
    on hand is taken by a new order).  Texts in other languages are JSON ``{lang: text}``."""

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("reserved >= 0", name="ck_products_reserved"),)

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="service")  # service | licence | goods
    vat_category: Mapped[str] = mapped_column(String(2), default="S")  # EN 16931: S Z E AE O
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    names: Mapped[str | None] = mapped_column(Text)  # JSON {sv: ..., ru: ...}
    description: Mapped[str | None] = mapped_column(Text)
    descriptions: Mapped[str | None] = mapped_column(Text)  # JSON {sv: ..., ru: ...}
    on_hand: Mapped[int | None] = mapped_column(Integer)  # goods only
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    units_per_box: Mapped[int | None] = mapped_column(Integer)
    characteristics: Mapped[str | None] = mapped_column(Text)  # JSON {name: value}
    certificates: Mapped[str | None] = mapped_column(Text)  # JSON [{name, number, ...}]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "request_key"),
        Index("ix_orders_account_created", "account_id", "created_at", "id"),
        Index("ix_orders_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    request_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_voucher_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_method: Mapped[str] = mapped_column(String(20), default="balance")
    card_payment_id: Mapped[str | None] = mapped_column(String(36))  # payment_method card
    # payment_method wire_transfer: the payment invoice that pays it
    payment_invoice_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(10))  # goods: system | manager
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # a failed or partially failed order's cancel: pending (its refund not confirmed yet),
    # blocked (the automatic cancel failed: a manual cancel is needed), done
    cancel_status: Mapped[str | None] = mapped_column(String(10))
    # every status it has had, with when: JSON [{"status": ..., "at": ...}] (kept on the row, so
    # reading an order stays one query)
    status_history: Mapped[str | None] = mapped_column(Text)
    # marked_for_deletion: when it is deleted; merged_into: the order made of it
    delete_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    merged_into: Mapped[str | None] = mapped_column(String(36))
    po_number: Mapped[str | None] = mapped_column(String(64))
    # Why payment was refused ({code, message, details}), for an order cancelled that way.
    payment_refusal: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="selectin", order_by="OrderLine.line_no",
        cascade="all, delete-orphan",
    )

    @property
    def is_goods(self) -> bool:
        return any(line.kind == "goods" for line in self.lines)


def note_status(order: Order, status: str, at: datetime | None = None) -> None:
    """Add a status to an order's history (once per change)."""
    history = json.loads(order.status_history) if order.status_history else []
    if history and history[-1]["status"] == status:
        return
    history.append({"status": status, "at": (at or utcnow()).isoformat().replace("+00:00", "Z")})
    order.status_history = json.dumps(history)


@event.listens_for(Order.status, "set")
def _status_set(order: Order, value: str, oldvalue: object, _: object) -> None:
    if value != oldvalue:
        note_status(order, value)


class OrderLine(Base):
    __tablename__ = "order_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    # EN 16931 category the line was priced under: the product's, or AE (reverse charge)
    vat_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    implementation: Mapped[str] = mapped_column(String(20), default="pending")
    kind: Mapped[str] = mapped_column(String(10), default="service")
    # what each wallet paid of the line (balance+voucher: the voucher wallet first, line by line)
    paid_cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_voucher_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # services and licences: units that failed to be implemented, the licence key, and what
    # the automatic or manual cancel of the failed units gave back
    failed_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # implemented units refunded afterwards (an operator's refund: a cancellation, a correction)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    licence_key: Mapped[str | None] = mapped_column(String(40))
    refunded_cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_voucher_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # goods: how many of ``quantity`` stock allowed (reserved), and why not all of it
    approved_quantity: Mapped[int | None] = mapped_column(Integer)
    rejection_reason: Mapped[str | None] = mapped_column(String(40))

    order: Mapped[Order] = relationship(back_populates="lines")


class Shipment(Base):
    """A locked goods order on its way: ``to_warehouse`` → ``assembled`` → ``shipped`` (a
    realization).  Its number is gap-free per year."""

    __tablename__ = "shipments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    boxes: Mapped[str | None] = mapped_column(Text)  # JSON [{number, lines: [{sku, quantity}]}]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ShipmentCounter(Base):
    __tablename__ = "shipment_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class SimulatedOutcome:
    """What the provisioning simulator does with a line (see ``provisioning``)."""

    outcome: Mapped[str] = mapped_column(String(12))  # succeed | fail | fail_units
    failed_units: Mapped[int] = mapped_column(Integer, default=0)
    delay_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_fails: Mapped[bool] = mapped_column(Boolean, default=False)


class ProvisioningRule(SimulatedOutcome, Base):
    """How the provisioning simulator treats a SKU (none: every unit succeeds at once)."""

    __tablename__ = "provisioning_rules"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)


class OrderProvisioningRule(SimulatedOutcome, Base):
    """How the simulator treats one order's lines of a SKU (``*``: all its lines), before the
    SKU's own rule."""

    __tablename__ = "order_provisioning_rules"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)


class OrderRefund(Base):
    """An operator's refund of implemented units, kept under its key: written down before
    billing is asked, so a timeout leaves it pending (asked again by the same key) and a repeat
    refunds nothing more."""

    __tablename__ = "order_refunds"

    refund_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(36), index=True)
    lines_json: Mapped[str] = mapped_column(Text)  # [{line_no, quantity}], as asked
    # pending (asked of billing) → done | refused; what it gives back, per line:
    # {line_no: [units, cash minor, voucher minor]}, decided when it was asked
    status: Mapped[str] = mapped_column(String(10), default="pending")
    plan_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AccountContact(Base):
    """Where and how the orders service writes to an account, kept from billing's
    ``account_registered`` and ``profile_changed`` (the newest profile version wins)."""

    __tablename__ = "account_contacts"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="en")
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    profile_version: Mapped[int] = mapped_column(Integer, default=0)
    # the company's country and VAT number: they decide whether a sale is reverse charged
    country: Mapped[str | None] = mapped_column(String(2))
    vat_number: Mapped[str | None] = mapped_column(String(20))


class CartItem(Base):
    """A line of a user's cart: a product and how many (priced when the cart is read)."""

    __tablename__ = "cart_items"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
