"""The orders service: catalogue, placing and paying orders, implementation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.contracts import (
    ChargeOrder,
    MoneyOut,
    OrderImplemented,
    OrderLineOut,
    OrderOut,
    PlaceOrder,
    ProductOut,
    parse,
    utcnow,
)
from services.common.db import Database, make_engine
from services.common.errors import BusinessError
from services.common.messaging import Outbox, ServiceRpc, rpc
from services.common.money import Money
from services.common.service import Pingable
from services.orders import domain, repository
from services.orders.models import Order, OrderLine, OutboxMessage, Product


class OrdersService(Pingable):
    name = "orders"

    db = Database("orders")
    outbox = Outbox("orders", OutboxMessage)
    billing = ServiceRpc("billing")

    @rpc
    def list_products(self) -> list[dict[str, Any]]:
        return [product_out(p).wire() for p in repository.products(self.db.session)]

    @rpc
    def place_order(self, account_id: str, data: dict[str, Any], request_key: str) -> dict[str, Any]:
        """Create an order and pay it from the cash balance.  The same ``request_key`` resumes
        the same order, so a retried request never charges twice."""
        request = parse(PlaceOrder, data)
        order = self._create_or_resume(account_id, request, request_key)
        if order.status == domain.AWAITING_PAYMENT:
            total = Money.from_minor(order.total_minor, order.currency)
            try:
                self.billing.charge_order(
                    ChargeOrder(account_id=account_id, order_id=order.id, amount=total.amount,
                                currency=total.currency).wire()
                )
            except BusinessError:
                self._withdraw(account_id, order.id)
                raise
            order = self._pay_and_implement(account_id, order.id)
        return order_out(order).wire()

    @rpc
    def get_order(self, account_id: str, order_id: str) -> dict[str, Any]:
        return order_out(repository.order(self.db.session, account_id, order_id)).wire()

    @rpc
    def list_orders(self, account_id: str) -> list[dict[str, Any]]:
        return [order_out(o).wire() for o in repository.orders(self.db.session, account_id)]

    # -- steps of place_order ------------------------------------------------------------------

    def _create_or_resume(self, account_id: str, request: PlaceOrder, request_key: str) -> Order:
        try:
            with self.db.transaction() as session:
                existing = repository.order_by_request(session, account_id, request_key)
                if existing is not None:
                    return existing
                order = new_order(session, account_id, request, request_key)
                session.add(order)
                return order
        except IntegrityError:  # the same request arrived twice at once; resume the winner
            found = repository.order_by_request(self.db.session, account_id, request_key)
            assert found is not None
            return found

    def _withdraw(self, account_id: str, order_id: str) -> None:
        """Payment was refused: the unpaid order is withdrawn so nothing is left half-done."""
        with self.db.transaction() as session:
            order = repository.order(session, account_id, order_id, lock=True)
            if order.status == domain.AWAITING_PAYMENT:
                session.delete(order)

    def _pay_and_implement(self, account_id: str, order_id: str) -> Order:
        with self.db.transaction() as session:
            order = repository.order(session, account_id, order_id, lock=True)
            if order.status != domain.AWAITING_PAYMENT:
                return order
            order.status = domain.mark_paid(order.status)
            order.paid_cash_minor = order.total_minor
            # Digital services and licences are provisioned at once by the simulator; the
            # provisioning adapter with partial failures comes with the orders issue.
            for line in order.lines:
                line.implementation = "succeeded"
            order.status = domain.complete(order.status)
            order.updated_at = utcnow()
            self.outbox.add(session, OrderImplemented(order=order_out(order)))
            return order


def new_order(session: Session, account_id: str, request: PlaceOrder, request_key: str) -> Order:
    priced = []
    for number, line in enumerate(request.lines, start=1):
        product = repository.product(session, line.sku)
        priced.append(
            domain.PricedLine(
                line_no=number,
                sku=product.sku,
                name=product.name,
                quantity=line.quantity,
                unit_price=Money.from_minor(product.unit_price_minor, product.currency),
                vat_rate_bp=product.vat_rate_bp,
            )
        )
    sums = domain.totals(priced)
    return Order(
        id=str(uuid.uuid4()),
        account_id=account_id,
        request_key=request_key,
        status=domain.AWAITING_PAYMENT,
        currency=sums.total.currency,
        net_minor=sums.net.minor,
        vat_minor=sums.vat.minor,
        total_minor=sums.total.minor,
        paid_cash_minor=0,
        po_number=request.po_number,
        created_at=utcnow(),
        updated_at=utcnow(),
        lines=[
            OrderLine(
                line_no=p.line_no,
                sku=p.sku,
                name=p.name,
                quantity=p.quantity,
                unit_price_minor=p.unit_price.minor,
                vat_rate_bp=p.vat_rate_bp,
                net_minor=p.net.minor,
                vat_minor=p.vat.minor,
                gross_minor=p.gross.minor,
                implementation="pending",
            )
            for p in priced
        ],
    )


def product_out(product: Product) -> ProductOut:
    return ProductOut(
        sku=product.sku,
        name=product.name,
        unit_price=MoneyOut.of(Money.from_minor(product.unit_price_minor, product.currency)),
        vat_rate=domain.rate(product.vat_rate_bp),
    )


def order_out(order: Order) -> OrderOut:
    def amount(minor: int) -> Any:
        return Money.from_minor(minor, order.currency).amount

    return OrderOut(
        id=order.id,
        account_id=order.account_id,
        status=order.status,
        currency=order.currency,
        net=amount(order.net_minor),
        vat=amount(order.vat_minor),
        total=amount(order.total_minor),
        paid_cash=amount(order.paid_cash_minor),
        po_number=order.po_number,
        created_at=order.created_at,
        lines=[
            OrderLineOut(
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=amount(line.unit_price_minor),
                vat_rate=domain.rate(line.vat_rate_bp),
                net=amount(line.net_minor),
                vat=amount(line.vat_minor),
                gross=amount(line.gross_minor),
                implementation=line.implementation,
            )
            for line in order.lines
        ],
    )


def on_start(settings: Settings) -> None:
    if not settings.demo_data:
        return
    engine = make_engine(settings.database_url("orders"))
    try:
        with Session(engine) as session:
            repository.seed_demo_catalogue(session)
            session.commit()
    except IntegrityError:  # another replica seeded it at the same moment
        pass
    finally:
        engine.dispose()


SERVICE = OrdersService
