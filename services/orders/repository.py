"""Orders queries, each taking the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.errors import NotFound, ProductNotFound
from services.orders.models import Order, Product


def products(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.sku)))


def product(session: Session, sku: str) -> Product:
    found = session.get(Product, sku)
    if found is None:
        raise ProductNotFound(f"no product {sku!r} in the catalogue", {"sku": sku})
    return found


def order(session: Session, account_id: str, order_id: str, *, lock: bool = False) -> Order:
    """An order of this account; another account's order is as missing as a missing one."""
    query = select(Order).where(Order.id == order_id, Order.account_id == account_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound("no such order", {"order_id": order_id})
    return found


def order_by_request(session: Session, account_id: str, request_key: str) -> Order | None:
    return session.scalars(
        select(Order).where(Order.account_id == account_id, Order.request_key == request_key)
    ).first()


def orders(session: Session, account_id: str) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.account_id == account_id).order_by(Order.created_at.desc())
        )
    )


DEMO_CATALOGUE = [
    ("VM-S-1M", "Cloud VM, small, 1 month", 2000, "EUR", 2500),
    ("BACKUP-100G-1M", "Backup storage 100 GB, 1 month", 500, "EUR", 2500),
    ("LIC-SCHED-1Y", "Job scheduler licence, 1 year", 29900, "EUR", 2500),
]


def seed_demo_catalogue(session: Session) -> None:
    for sku, name, price, currency, vat_bp in DEMO_CATALOGUE:
        if session.get(Product, sku) is None:
            session.add(
                Product(sku=sku, name=name, unit_price_minor=price, currency=currency,
                        vat_rate_bp=vat_bp)
            )
