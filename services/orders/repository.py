"""Orders queries, each taking the caller's session."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, delete, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session

from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.errors import NotFound, ProductNotFound
from services.common.pages import newest_first
from services.orders.domain import (
    AWAITING_PAYMENT,
    CONFIRMED,
    EDITABLE,
    FAILED,
    IMPLEMENTING,
    MARKED_FOR_DELETION,
    PARTIALLY_FAILED,
)
from services.orders.models import (
    CartItem,
    Order,
    OrderLine,
    OrderProvisioningRule,
    OrderRefund,
    Product,
    ProvisioningRule,
    Shipment,
    ShipmentCounter,
    SimulatedOutcome,
    note_status,
)
from services.orders.provisioning import EVERY_LINE


def products(session: Session, include_inactive: bool = False) -> list[Product]:
    query = select(Product).order_by(Product.sku)
    if not include_inactive:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query))


def product(session: Session, sku: str, *, lock: bool = False, addressed: bool = False) -> Product:
    """A product by SKU: a missing one is ``product_not_found`` when an order names it, and
    ``not_found`` (404) when it is the resource addressed (``addressed``)."""
    found = session.get(Product, sku, with_for_update=lock, populate_existing=lock)
    if found is None:
        if addressed:
            raise NotFound("no such product", {"sku": sku})
        raise ProductNotFound(f"no product {sku!r} in the catalogue", {"sku": sku})
    return found


def products_named(session: Session, skus: set[str]) -> list[Product]:
    if not skus:
        return []
    return list(session.scalars(select(Product).where(Product.sku.in_(sorted(skus)))))


def lock_products(session: Session, skus: set[str]) -> None:
    """Lock these products' rows in SKU order, as every multi-product change does first, so
    two orders changing the same products queue instead of deadlocking."""
    for sku in sorted(skus):
        session.get(Product, sku, with_for_update=True, populate_existing=True)


def lock_orders_holding(session: Session, sku: str) -> list[Order]:
    """The goods orders still being edited that hold a line of this product, locked in id
    order (before the product's row, as edits lock their order before its products)."""
    ids = sorted(session.scalars(
        select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.sku == sku, Order.status.in_(EDITABLE)).distinct()))
    if not ids:
        return []
    return list(session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)
                                .with_for_update().execution_options(populate_existing=True)))


def cart(session: Session, user_id: str) -> list[CartItem]:
    return list(session.scalars(select(CartItem).where(CartItem.user_id == user_id)
                                .order_by(CartItem.added_at, CartItem.sku)))


def cart_item(session: Session, user_id: str, sku: str) -> CartItem:
    found = session.get(CartItem, (user_id, sku))
    if found is None:
        raise NotFound("this product is not in the cart", {"sku": sku})
    return found


def clear_cart(session: Session, user_id: str) -> None:
    session.execute(delete(CartItem).where(CartItem.user_id == user_id))


def order(session: Session, account_id: str | None, order_id: str, *, lock: bool = False) -> Order:
    """An order of this account (None: of any account, for operators); another account's
    order is as missing as a missing one."""
    query = select(Order).where(Order.id == order_id)
    if account_id is not None:
        query = query.where(Order.account_id == account_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound("no such order", {"order_id": order_id})
    return found


def orders_by_id(session: Session, order_ids: set[str]) -> dict[str, Order]:
    """Orders (their lines too) by id, in one query for the orders and one for the lines."""
    if not order_ids:
        return {}
    return {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(sorted(order_ids))))}


def order_paid_by(session: Session, payment_invoice_id: str) -> Order | None:
    return session.scalars(select(Order).where(Order.payment_invoice_id == payment_invoice_id)).first()


def shipment(session: Session, account_id: str | None, shipment_id: str, *,
             lock: bool = False) -> Shipment:
    """A shipment of this account (None: any); another account's is as missing as none."""
    query = select(Shipment).where(Shipment.id == shipment_id)
    if account_id is not None:
        query = query.where(Shipment.account_id == account_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound("no such shipment", {"shipment_id": shipment_id})
    return found


def shipment_of(session: Session, order_id: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.order_id == order_id)).first()


def shipments(session: Session, account_id: str | None, order_id: str | None, status: str | None,
              limit: int, after: tuple[datetime, str] | None) -> list[Shipment]:
    query = select(Shipment)
    if account_id is not None:
        query = query.where(Shipment.account_id == account_id)
    if order_id is not None:
        query = query.where(Shipment.order_id == order_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return list(session.scalars(newest_first(query, Shipment.created_at, Shipment.id, limit, after)))


def provisioning_rules(session: Session, order: Order) -> dict[str, SimulatedOutcome]:
    """The simulator's rule for each of the order's SKUs that has one: the order's own for
    that SKU, else the order's for all its lines, else the SKU's."""
    skus = sorted({line.sku for line in order.lines})
    found: dict[str, SimulatedOutcome] = {r.sku: r for r in session.scalars(
        select(ProvisioningRule).where(ProvisioningRule.sku.in_(skus)))}
    own = {r.sku: r for r in session.scalars(
        select(OrderProvisioningRule).where(OrderProvisioningRule.order_id == order.id))}
    for sku in skus:
        rule = own.get(sku) or own.get(EVERY_LINE)
        if rule is not None:
            found[sku] = rule
    return found


def stuck(session: Session, older_than: datetime, limit: int) -> list[Order]:
    """Orders left implementing, or with a cancel whose refund is unconfirmed, for a while."""
    return list(session.scalars(
        select(Order).where(
            or_(Order.status == IMPLEMENTING,
                and_(Order.status.in_((PARTIALLY_FAILED, FAILED)), Order.cancel_status == "pending")),
            Order.updated_at < older_than)
        .order_by(Order.updated_at).limit(limit)))


def due_for_deletion(session: Session, now: datetime, limit: int) -> list[Order]:
    return list(session.scalars(
        select(Order).where(Order.status == MARKED_FOR_DELETION, Order.delete_at <= now)
        .order_by(Order.delete_at).limit(limit).with_for_update(skip_locked=True)))


def past_retention(session: Session, confirmed_before: datetime, limit: int) -> list[Order]:
    return list(session.scalars(
        select(Order).where(Order.status == CONFIRMED, Order.confirmed_by == "manager",
                            Order.confirmed_at <= confirmed_before)
        .order_by(Order.confirmed_at).limit(limit).with_for_update(skip_locked=True)))


def next_shipment_number(session: Session) -> str:
    """``SHP-2026-000001``: the next of this year's numbers, gap-free (the counter row is
    locked until the shipment commits)."""
    year = utcnow().year
    counter = session.get(ShipmentCounter, year, with_for_update=True)
    if counter is None:
        counter = ShipmentCounter(year=year, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return f"SHP-{year}-{counter.last:06d}"


def order_by_request(session: Session, account_id: str, request_key: str) -> Order | None:
    return session.scalars(
        select(Order).where(Order.account_id == account_id, Order.request_key == request_key)
    ).first()


def transition(session: Session, order_id: str, from_status: str, to_status: str,
               **values: Any) -> bool:
    """Move an order from one status to another, if it is still in the first; True if this
    call moved it.  On PostgreSQL a concurrent mover waits for the winner's commit and then
    finds the status changed, so exactly one caller wins."""
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == from_status)
        .values(status=to_status, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    won = bool(result.rowcount)  # type: ignore[attr-defined]
    if won:  # the row is ours until commit: its history gains the status
        moved = session.get(Order, order_id)
        assert moved is not None
        note_status(moved, to_status)
    return won


def awaiting_payment(session: Session, older_than: datetime, limit: int,
                     placed: bool = False) -> list[Order]:
    """Orders awaiting payment, untouched since ``older_than`` (``placed``: placed before it),
    the longest waiting first."""
    since = Order.created_at if placed else Order.updated_at
    return list(session.scalars(
        select(Order).where(Order.status == AWAITING_PAYMENT, since < older_than)
        .order_by(since).limit(limit)))


# -- hot reads: one query, on an autocommit connection (see WorkerDatabase.read) ------------------

ORDER_COLUMNS = (
    Order.id, Order.account_id, Order.status, Order.currency, Order.net_minor, Order.vat_minor,
    Order.total_minor, Order.paid_cash_minor, Order.paid_voucher_minor, Order.payment_method,
    Order.card_payment_id, Order.payment_invoice_id, Order.confirmed_by, Order.cancel_status,
    Order.status_history, Order.delete_at, Order.merged_into,
    Order.po_number, Order.payment_refusal,
    Order.created_at, Order.updated_at,
)
LINE_COLUMNS = (
    OrderLine.line_no, OrderLine.sku, OrderLine.name, OrderLine.quantity,
    OrderLine.unit_price_minor, OrderLine.vat_rate_bp, OrderLine.vat_category,
    OrderLine.net_minor.label("line_net"),
    OrderLine.vat_minor.label("line_vat"), OrderLine.gross_minor, OrderLine.implementation,
    OrderLine.kind, OrderLine.approved_quantity, OrderLine.rejection_reason,
    OrderLine.paid_cash_minor.label("line_paid_cash"),
    OrderLine.paid_voucher_minor.label("line_paid_voucher"),
    OrderLine.failed_quantity, OrderLine.returned_quantity, OrderLine.licence_key,
    OrderLine.refunded_cash_minor,
    OrderLine.refunded_voucher_minor,
)


# Built once: a statement object keeps its SQLAlchemy cache key, so the hot read neither
# rebuilds the expression nor regenerates the key on every call (≈ 0.15 CPU-ms each).
ORDER_ROWS = (
    select(*ORDER_COLUMNS, *LINE_COLUMNS)
    .join(OrderLine, OrderLine.order_id == Order.id)
    .where(Order.id == bindparam("order_id"), Order.account_id == bindparam("account_id"))
    .order_by(OrderLine.line_no)
)


def order_rows(account_id: str, order_id: str) -> tuple[Select[Any], dict[str, str]]:
    """An order of this account with its lines, one row per line."""
    return ORDER_ROWS, {"order_id": order_id, "account_id": account_id}


def orders_page_rows(account_id: str | None, limit: int, after: tuple[datetime, str] | None,
                     status: str | None = None, cancel_status: str | None = None) -> Select[Any]:
    """Up to ``limit`` orders of this account (None: of every account), newest first, after
    the cursor, in a status (and a cancel status) if given; with lines."""
    page = select(Order)
    if account_id is not None:
        page = page.where(Order.account_id == account_id)
    if status is not None:
        page = page.where(Order.status == status)
    if cancel_status is not None:
        page = page.where(Order.cancel_status == cancel_status)
    chosen = newest_first(page, Order.created_at, Order.id, limit, after).subquery()
    order = chosen.c
    return (
        select(*(order[c.key] for c in ORDER_COLUMNS), *LINE_COLUMNS)
        .join(OrderLine, OrderLine.order_id == order.id)
        .order_by(order.created_at.desc(), order.id.desc(), OrderLine.line_no)
    )


DEMO_CATALOGUE: list[dict[str, Any]] = [
    {"sku": "VM-S-1M", "name": "Cloud VM, small, 1 month", "kind": "service", "price": 2000,
     "names": {"sv": "Moln-VM, liten, 1 månad", "ru": "Облачная ВМ, малая, 1 месяц"}},
    {"sku": "BACKUP-100G-1M", "name": "Backup storage 100 GB, 1 month", "kind": "service",
     "price": 500, "names": {"sv": "Säkerhetskopiering 100 GB, 1 månad",
                             "ru": "Резервное хранилище 100 ГБ, 1 месяц"}},
    {"sku": "LIC-SCHED-1Y", "name": "Job scheduler licence, 1 year", "kind": "licence",
     "price": 29900, "names": {"sv": "Licens för jobbschemaläggare, 1 år",
                               "ru": "Лицензия планировщика заданий, 1 год"}},
    {"sku": "SRV-RACK-1U", "name": "Rack server 1U", "kind": "goods", "price": 189000,
     "names": {"sv": "Rackserver 1U", "ru": "Стоечный сервер 1U"}, "on_hand": 40,
     "units_per_box": 1, "characteristics": {"height": "1U", "power": "2 × 550 W"},
     "certificates": [{"name": "CE declaration of conformity", "number": "CE-2026-0142"}]},
    {"sku": "SSD-1T", "name": "SSD 1 TB", "kind": "goods", "price": 9900,
     "names": {"sv": "SSD 1 TB", "ru": "SSD-накопитель 1 ТБ"}, "on_hand": 500,
     "units_per_box": 20, "characteristics": {"capacity": "1 TB", "interface": "NVMe"},
     "certificates": [{"name": "RoHS", "number": "ROHS-77-1T"}]},
    {"sku": "CABLE-CAT6-2M", "name": "Patch cable Cat 6, 2 m", "kind": "goods", "price": 450,
     "names": {"sv": "Patchkabel Cat 6, 2 m", "ru": "Патч-корд Cat 6, 2 м"}, "on_hand": 2000,
     "units_per_box": 100, "characteristics": {"length": "2 m", "colour": "blue"}},
]


def seed_demo_catalogue(session: Session) -> None:
    for item in DEMO_CATALOGUE:
        if session.get(Product, item["sku"]) is None:
            session.add(Product(
                sku=item["sku"], name=item["name"], kind=item["kind"],
                unit_price_minor=item["price"], currency="EUR", vat_rate_bp=2500,
                vat_category="S", active=True, names=json.dumps(item["names"], ensure_ascii=False),
                on_hand=item.get("on_hand"), reserved=0, units_per_box=item.get("units_per_box"),
                characteristics=json.dumps(item.get("characteristics", {}), ensure_ascii=False),
                certificates=json.dumps(item.get("certificates", []), ensure_ascii=False)))


def pending_refund(session: Session, order_id: str) -> OrderRefund | None:
    return session.scalars(select(OrderRefund).where(OrderRefund.order_id == order_id,
                                                     OrderRefund.status == "pending")).first()


def pending_refunds(session: Session, before: datetime, limit: int) -> list[str]:
    """Operators' refunds billing has not answered, asked for before ``before``."""
    return list(session.scalars(select(OrderRefund.refund_id).where(
        OrderRefund.status == "pending", OrderRefund.created_at < before)
        .order_by(OrderRefund.created_at).limit(limit)))


# -- what reports read ------------------------------------------------------------------------------


SOLD = ("completed", "shipped", "partially_cancelled", "partially_failed")


def sold_orders(session: Session, account_id: str, since: datetime, until: datetime) -> list[Order]:
    """The account's orders placed in [since, until) that delivered something, oldest first."""
    return list(session.scalars(
        select(Order).where(Order.account_id == account_id, Order.status.in_(SOLD),
                            Order.created_at >= since, Order.created_at < until)
        .order_by(Order.created_at, Order.id)))


def shipped(session: Session, account_id: str, since: datetime, until: datetime, limit: int,
            after: tuple[datetime, str] | None) -> list[Shipment]:
    """The account's shipments shipped in [since, until), oldest first, after a key."""
    query = (select(Shipment).where(Shipment.account_id == account_id, Shipment.status == "shipped",
                                    Shipment.shipped_at >= since, Shipment.shipped_at < until)
             .order_by(Shipment.shipped_at, Shipment.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(Shipment.shipped_at, Shipment.id)
                            > tuple_(literal(after[0], UtcDateTime()), literal(after[1], String())))
    return list(session.scalars(query))


def products_by_sku(session: Session, skus: set[str]) -> dict[str, Product]:
    return {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(sorted(skus))))}
