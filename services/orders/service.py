"""The orders service: catalogue, placing and paying orders, implementation."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import eventlet
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import pages
from services.common.config import Settings
from services.common.contracts import (
    AccountRegistered,
    Box,
    ChargeOrder,
    ErrorOut,
    MoneyOut,
    OrderCancelled,
    OrderCharged,
    OrderChargeRefused,
    OrderFailed,
    OrderImplemented,
    OrderLineIn,
    OrderMailRequested,
    OrderOut,
    OrderPaid,
    OrderPartiallyFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentInvoiceRequested,
    PaymentReceived,
    PlaceOrder,
    ProductIn,
    ProductOut,
    ProfileChanged,
    RefundOrder,
    RefundUnits,
    ShipmentLineOut,
    ShipmentOut,
    ShipmentStatusChanged,
    StockOut,
    money_wire,
    parse,
    percent,
    utcnow,
    wire_time,
)
from services.common.db import Database, make_engine
from services.common.errors import (
    BusinessError,
    Conflict,
    CurrencyNotSupported,
    InsufficientFunds,
    InsufficientStock,
    InvalidRequest,
    MixedCurrencies,
    NotFound,
    OrderChangedReconfirm,
    OrderFormUnreadable,
    OrderLocked,
    OrderNotCancellable,
    OrderNotEditable,
    OrderNotMergeable,
    OrderNotShipped,
    PaymentExpired,
    ProductInactive,
    ProductSkuTaken,
    ServiceTimeout,
    ServiceUnavailable,
    ShipmentNotPacked,
)
from services.common.messaging import Outbox, ServiceRpc, every, handles, rpc
from services.common.money import Money, person_decides
from services.common.service import Pingable
from services.orders import domain, order_forms, provisioning, repository
from services.orders.models import (
    AccountContact,
    CartItem,
    Order,
    OrderLine,
    OrderProvisioningRule,
    OrderRefund,
    OutboxMessage,
    Product,
    ProvisioningRule,
    Shipment,
)

log = logging.getLogger(__name__)

RECONCILE_BATCH = 50
TIMER_BATCH = 100


class OrdersService(Pingable):
    name = "orders"

    db = Database("orders")
    outbox = Outbox("orders", OutboxMessage)
    billing = ServiceRpc("billing")

    # -- the catalogue ----------------------------------------------------------------------------

    @rpc
    def list_products(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        """The catalogue by SKU: what is sold (operators: ``include_inactive``, all of it)."""
        return [product_out(p).wire()
                for p in repository.products(self.db.session, include_inactive)]

    @rpc
    def get_product(self, sku: str) -> dict[str, Any]:
        return product_out(repository.product(self.db.session, sku, addressed=True)).wire()

    @rpc
    def create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        """An operator adds a product (``product_sku_taken`` if its SKU exists)."""
        wanted = parse(ProductIn, data)
        domain.check_product(wanted, self.settings.seller_country)
        try:
            with self.db.transaction() as session:
                if session.get(Product, wanted.sku) is not None:
                    raise ProductSkuTaken(details={"sku": wanted.sku})
                product = Product(sku=wanted.sku, reserved=0,
                                  on_hand=0 if wanted.kind == domain.GOODS else None)
                write_product(product, wanted)
                session.add(product)
                session.flush()
                return product_out(product).wire()
        except IntegrityError:  # the same SKU added at this moment
            raise ProductSkuTaken(details={"sku": wanted.sku}) from None

    @rpc
    def update_product(self, sku: str, data: dict[str, Any]) -> dict[str, Any]:
        """An operator rewrites a product.  Its SKU stays; it stops or starts being goods only
        while none of it is reserved.  Paid and locked orders keep their prices; a goods order
        still being edited takes the new price, and a confirmed one becomes ``changed``."""
        wanted = parse(ProductIn, {**data, "sku": sku})
        domain.check_product(wanted, self.settings.seller_country)
        with self.db.transaction() as session:
            holding = repository.lock_orders_holding(session, sku)
            product = repository.product(session, sku, lock=True, addressed=True)
            price = wanted.price.money().minor
            if price != product.unit_price_minor or wanted.vat_rate * 100 != product.vat_rate_bp:
                for order in holding:
                    for line in order.lines:
                        if line.sku == sku:
                            line.unit_price_minor = price
                            if line.vat_category != "AE":  # a reverse-charged sale stays so
                                line.vat_category = wanted.vat_category
                                line.vat_rate_bp = int(wanted.vat_rate * 100)
                    if system_changed(order):
                        self._mail_changed(session, order)
            if (wanted.kind == domain.GOODS) != (product.kind == domain.GOODS):
                if product.reserved:
                    raise InvalidRequest("orders hold this product's stock: it stays goods",
                                         {"field": "kind", "reserved": product.reserved})
                product.on_hand = 0 if wanted.kind == domain.GOODS else None
            write_product(product, wanted)
            return product_out(product).wire()

    @rpc
    def set_stock(self, sku: str, on_hand: int) -> dict[str, Any]:
        """An operator counts a good's stock on hand (what orders reserve stays reserved)."""
        if not isinstance(on_hand, int) or isinstance(on_hand, bool) or not 0 <= on_hand <= 10**9:
            raise InvalidRequest("stock on hand is a whole number, 0 or more", {"field": "on_hand"})
        with self.db.transaction() as session:
            holding = repository.lock_orders_holding(session, sku)
            product = repository.product(session, sku, lock=True, addressed=True)
            if product.kind != domain.GOODS:
                raise InvalidRequest("only goods have stock", {"field": "sku"})
            product.on_hand, product.updated_at = on_hand, utcnow()
            for order in take_back(product, holding):
                self._mail_changed(session, order)
            return product_out(product).wire()

    # -- the cart -----------------------------------------------------------------------------------

    @rpc
    def get_cart(self, user_id: str) -> dict[str, Any]:
        """The user's cart at today's prices, with its totals."""
        return cart_out(self.db.session, repository.cart(self.db.session, user_id),
                        self.settings.seller_country)

    @rpc
    def add_to_cart(self, account_id: str, user_id: str, sku: str, quantity: int) -> dict[str, Any]:
        """Put ``quantity`` more of a product sold now in the cart (at most 10,000 of one)."""
        check_quantity(quantity)
        with self.db.transaction() as session:
            product = repository.product(session, sku)
            if not product.active:
                raise ProductInactive(details={"sku": sku})
            add_item(session, account_id, user_id, product.sku, quantity)
            return cart_out(session, repository.cart(session, user_id),
                        self.settings.seller_country)

    @rpc
    def set_cart_quantity(self, user_id: str, sku: str, quantity: int) -> dict[str, Any]:
        check_quantity(quantity)
        with self.db.transaction() as session:
            repository.cart_item(session, user_id, sku).quantity = quantity
            return cart_out(session, repository.cart(session, user_id),
                        self.settings.seller_country)

    @rpc
    def remove_from_cart(self, user_id: str, sku: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            session.delete(repository.cart_item(session, user_id, sku))
            session.flush()
            return cart_out(session, repository.cart(session, user_id),
                        self.settings.seller_country)

    @rpc
    def clear_cart(self, user_id: str) -> None:
        with self.db.transaction() as session:
            repository.clear_cart(session, user_id)

    @rpc
    def upload_order_form(self, account_id: str, user_id: str, content_b64: str) -> dict[str, Any]:
        """Fill the cart from an order form (CSV or XLSX, columns sku and quantity): every
        good row is added, in one transaction; each bad row is reported with its row number
        and reason.  A file that is not an order form adds nothing (``order_form_unreadable``)."""
        try:
            found = order_forms.rows(base64.b64decode(content_b64, validate=True))
        except (order_forms.Unreadable, binascii.Error) as error:
            raise OrderFormUnreadable(str(error), {"field": "file"}) from None
        errors: list[dict[str, Any]] = []
        added = 0
        with self.db.transaction() as session:
            catalogue = {p.sku: p for p in repository.products_named(
                session, {row.sku.upper() for row in found if row.sku})}
            for row in found:
                product = catalogue.get(row.sku.upper())
                quantity = order_forms.quantity_of(row.quantity)
                reason = ("missing_sku" if not row.sku else "product_not_found" if product is None
                          else "product_inactive" if not product.active
                          else "bad_quantity" if quantity is None or quantity > MAX_QUANTITY
                          else None)
                if reason is None and product is not None and quantity is not None:
                    if add_item(session, account_id, user_id, product.sku, quantity):
                        added += 1
                        continue
                    reason = "quantity_too_large"
                errors.append({"row": row.number, "sku": row.sku[:64] or None, "reason": reason})
            return {"added": added, "errors": errors,
                    "cart": cart_out(session, repository.cart(session, user_id),
                                         self.settings.seller_country)}

    # -- orders -------------------------------------------------------------------------------------

    @rpc
    def place_order(self, account_id: str, data: dict[str, Any], request_key: str,
                    user_id: str | None = None) -> dict[str, Any]:
        """Create an order and pay it from the cash balance; a repeated ``request_key`` resumes
        the same order, so a retried request never makes a second one or charges twice.

        A saga that never undoes what it cannot see: billing's refusal cancels the order (kept,
        with the reason); a timeout or an unavailable billing leaves it ``awaiting_payment``,
        and billing's ``order_charged`` / ``order_charge_refused`` event, or the reconciler
        asking billing again by the same key, settles it later."""
        request = parse(PlaceOrder, data)
        order = self._create_or_resume(account_id, request, request_key, user_id)
        if order.status == domain.AWAITING_PAYMENT and order.payment_method == "wire_transfer":
            pass  # paid when billing reports its payment invoice paid (on_payment_received)
        elif order.status == domain.AWAITING_PAYMENT and order.payment_method == "card":
            order = self._start_card_payment(order)
        elif order.status == domain.AWAITING_PAYMENT and not order.is_goods:
            order = self._collect_payment(order)
        if order.payment_refusal is not None and not expired(order):
            raise refusal_of(order)
        return order_out(order).wire()

    @rpc
    def get_order(self, account_id: str, order_id: str) -> dict[str, Any]:
        rows = self.db.read(*repository.order_rows(account_id, order_id))
        if not rows:
            raise NotFound("no such order", {"order_id": order_id})
        return order_view(rows)[0]

    @rpc
    def list_orders(self, account_id: str, limit: int | None = None,
                    cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        rows = self.db.read(repository.orders_page_rows(account_id, size + 1,
                                                        pages.decode_cursor(cursor)))
        return pages.page(order_view(rows), size, "created_at")

    @rpc
    def list_all_orders(self, status: str | None = None, account_id: str | None = None,
                        limit: int | None = None, cursor: str | None = None,
                        cancel_status: str | None = None) -> dict[str, Any]:
        """Operators: every account's orders newest first, by status, account or cancel status
        (``pending``: refunds billing has not confirmed yet; ``blocked``: cancels to do by hand)."""
        size = pages.check_limit(limit)
        rows = self.db.read(repository.orders_page_rows(account_id, size + 1,
                                                        pages.decode_cursor(cursor), status,
                                                        cancel_status))
        return pages.page(order_view(rows), size, "created_at")

    # -- goods: the draft, confirmation and shipment ---------------------------------------------

    @rpc
    def change_order_line(self, account_id: str, order_id: str, line_no: int,
                          quantity: int) -> dict[str, Any]:
        """Change a goods line's quantity: stock is checked again for it (what it held counts
        as available to it), and the order needs a new confirmation."""
        check_quantity(quantity)
        with self.db.transaction() as session:
            order = self._editable(session, account_id, order_id)
            line = line_of(order, line_no)
            regrant(session, line, quantity)
            self._edited(order)
            return order_out(order).wire()

    @rpc
    def remove_order_line(self, account_id: str, order_id: str, line_no: int) -> dict[str, Any]:
        """Remove a goods line and return its stock (an order keeps at least one line)."""
        with self.db.transaction() as session:
            order = self._editable(session, account_id, order_id)
            line = line_of(order, line_no)
            if len(order.lines) == 1:
                raise InvalidRequest("an order keeps at least one line", {"field": "line_id"})
            regrant(session, line, 0)
            order.lines.remove(line)
            self._edited(order)
            return order_out(order).wire()

    @rpc
    def add_cart_to_order(self, account_id: str, user_id: str, order_id: str) -> dict[str, Any]:
        """Move the user's cart into this goods order (a product already there gets the cart's
        quantity added), checked against stock; the cart is emptied."""
        with self.db.transaction() as session:
            order = self._editable(session, account_id, order_id)
            items = repository.cart(session, user_id)
            if not items:
                raise InvalidRequest("the cart is empty", {"field": "cart"})
            repository.lock_products(session, {i.sku for i in items} | {ln.sku for ln in order.lines})
            for item in items:
                product = repository.product(session, item.sku)
                if product.kind != domain.GOODS:
                    raise InvalidRequest("only goods can be added to a goods order",
                                         {"sku": item.sku})
                if not product.active:
                    raise ProductInactive(details={"sku": item.sku})
                line = next((ln for ln in order.lines if ln.sku == item.sku), None)
                if line is None:
                    category, rate_bp = buyer_treatment(session, account_id,
                                                      self.settings.seller_country)(product)
                    line = OrderLine(
                        line_no=max(ln.line_no for ln in order.lines) + 1, sku=product.sku,
                        name=product.name, kind=product.kind, quantity=0, approved_quantity=0,
                        unit_price_minor=product.unit_price_minor, vat_category=category,
                        vat_rate_bp=rate_bp, net_minor=0, vat_minor=0, gross_minor=0,
                        implementation="none")
                    order.lines.append(line)
                regrant(session, line, min(line.quantity + item.quantity, MAX_QUANTITY))
            repository.clear_cart(session, user_id)
            self._edited(order)
            return order_out(order).wire()

    @rpc
    def send_for_confirmation(self, account_id: str, order_id: str) -> dict[str, Any]:
        """Check stock again (lines short of what they ask get what is free now) and confirm:
        by the system, or leave it ``awaiting_confirmation`` for a manager when the account or
        the amount requires it (``ORDERS_MANAGER_CONFIRMATION``).  Accepts a ``changed``
        order's changes."""
        with self.db.transaction() as session:
            order = self._editable(session, account_id, order_id)
            if order.status in (domain.AWAITING_CONFIRMATION, domain.CONFIRMED):
                return order_out(order).wire()
            repository.lock_products(session, {line.sku for line in order.lines})
            for line in order.lines:
                if (line.approved_quantity or 0) < line.quantity:
                    regrant(session, line, line.quantity)
            reprice(order)
            if not any(line.approved_quantity for line in order.lines):
                raise InsufficientStock("none of the order's products is in stock",
                                        {"order_id": order.id})
            total = Money.from_minor(order.total_minor, order.currency)
            if person_decides(self.settings.orders_manager_confirmation, total):
                order.status = domain.AWAITING_CONFIRMATION
            else:
                order.status, order.confirmed_by, order.confirmed_at = (
                    domain.CONFIRMED, "system", utcnow())
            order.updated_at = utcnow()
            return order_out(order).wire()

    @rpc
    def confirm_order(self, order_id: str) -> dict[str, Any]:
        """A manager confirms a goods order awaiting confirmation."""
        with self.db.transaction() as session:
            order = repository.order(session, None, order_id, lock=True)
            if order.status == domain.CONFIRMED:
                return order_out(order).wire()
            if order.status != domain.AWAITING_CONFIRMATION:
                raise OrderNotEditable(f"an order that is {order.status} is not awaiting "
                                       "confirmation", {"status": order.status})
            order.status, order.confirmed_by, order.confirmed_at = (
                domain.CONFIRMED, "manager", utcnow())
            order.updated_at = utcnow()
            self._mail_step(session, order, "confirmed")
            return order_out(order).wire()

    @rpc
    def send_for_shipment(self, account_id: str, order_id: str) -> dict[str, Any]:
        """Lock a confirmed goods order and create its shipment (``to_warehouse``); a
        ``changed`` order must be sent for confirmation first (``order_changed_reconfirm``)."""
        with self.db.transaction() as session:
            order = repository.order(session, account_id, order_id, lock=True)
            if order.status == domain.SENT_FOR_SHIPMENT:
                return order_out(order).wire()
            if not order.is_goods:
                raise OrderNotEditable("only goods orders are shipped", {"status": order.status})
            if order.status == domain.CHANGED:
                raise OrderChangedReconfirm(details={"order_id": order.id})
            if order.status != domain.CONFIRMED:
                raise OrderNotEditable("send the order for confirmation first",
                                       {"status": order.status})
            order.status, order.updated_at = domain.SENT_FOR_SHIPMENT, utcnow()
            shipment = Shipment(id=str(uuid.uuid4()), number=repository.next_shipment_number(session),
                                order_id=order.id, account_id=order.account_id,
                                status="to_warehouse", created_at=utcnow())
            session.add(shipment)
            session.flush()
            self.outbox.add(session, ShipmentStatusChanged(shipment=shipment_out(session, shipment)))
            self._mail(session, order, "shipment_status", "shipment:to_warehouse",
                       {"shipment_number": shipment.number, "status": "to_warehouse"})
            return order_out(order).wire()

    @rpc
    def merge_orders(self, account_id: str, order_ids: list[str], request_key: str) -> dict[str, Any]:
        """Merge goods orders not yet sent for shipment into a new draft: the same product's
        lines are summed, and what the originals reserved moves to it; the originals are
        ``marked_for_deletion`` and deleted after ``ORDERS_MERGED_DELETE_AFTER_SECONDS`` (plus
        up to as much again).  A repeated ``request_key`` answers the order it made."""
        ids = list(dict.fromkeys(order_ids))
        if len(ids) < 2:
            raise OrderNotMergeable("merge at least two orders", {"order_ids": ids})
        try:
            with self.db.transaction() as session:
                made = repository.order_by_request(session, account_id, request_key)
                if made is not None:
                    return order_out(made).wire()
                originals = {i: repository.order(session, account_id, i, lock=True) for i in sorted(ids)}
                for order in originals.values():
                    if not order.is_goods or order.status not in domain.EDITABLE:
                        raise OrderNotMergeable(details={"order_id": order.id, "status": order.status})
                merged = merged_order(account_id, request_key, [originals[i] for i in ids])
                session.add(merged)
                delay = self.settings.orders_merged_delete_after_seconds
                for order in originals.values():
                    for line in order.lines:
                        line.approved_quantity = 0  # its stock now belongs to the merged order
                    order.status, order.merged_into = domain.MARKED_FOR_DELETION, merged.id
                    order.delete_at = utcnow() + timedelta(seconds=delay * (1 + random.random()))
                    order.updated_at = utcnow()
                session.flush()
                return order_out(merged).wire()
        except IntegrityError:  # the same merge twice at once: the winner's order
            found = repository.order_by_request(self.db.session, account_id, request_key)
            if found is None:
                raise
            return order_out(found).wire()

    # -- timers: merged orders' deletion, retention ---------------------------------------------------

    @every("orders_timer_interval")
    def run_timers(self) -> None:
        self._timers(utcnow())

    @rpc
    def run_timers_at(self, now: str) -> dict[str, int]:
        """Tests and demos move time: run the timers as if it were ``now`` (refused in
        production)."""
        if self.settings.environment == "production":
            raise InvalidRequest("time is not moved in production", {"field": "now"})
        return self._timers(datetime.fromisoformat(now))

    def _timers(self, now: datetime) -> dict[str, int]:
        """Delete merged originals that are due, and manager-confirmed goods orders not sent
        for shipment within ``ORDERS_CONFIRMED_RETENTION_SECONDS`` (their stock returned, the
        customer told); expire orders unpaid for ``ORDERS_UNPAID_EXPIRY_SECONDS``.  Rows are
        taken with ``SKIP LOCKED``, so replicas running this at once share the work and never
        delete (or return stock) twice."""
        with self.db.transaction() as session:
            merged = repository.due_for_deletion(session, now, TIMER_BATCH)
            for order in merged:
                order.status, order.updated_at = domain.DELETED, now
        retention = timedelta(seconds=self.settings.orders_confirmed_retention_seconds)
        with self.db.transaction() as session:
            expired = repository.past_retention(session, now - retention, TIMER_BATCH)
            repository.lock_products(session, {ln.sku for o in expired for ln in o.lines})
            for order in expired:
                for line in order.lines:
                    regrant(session, line, 0)
                order.status, order.updated_at = domain.DELETED, now
                self._mail(session, order, "order_status", "deleted",
                           {"status": "deleted",
                            "retention_days": str(max(round(retention.total_seconds() / 86400), 1))})
        return {"merged_deleted": len(merged), "retention_deleted": len(expired),
                "unpaid_expired": self._expire_unpaid(now)}

    def _expire_unpaid(self, now: datetime) -> int:
        """Service and licence orders still awaiting payment ``ORDERS_UNPAID_EXPIRY_SECONDS``
        after they were placed.  Billing decides each at once (``expire_order_payment``): paid
        after all (the order is paid and implemented as any other), refused, or expired (the
        order is cancelled with ``payment_expired`` and nothing is ever charged for it).  A
        billing that does not answer leaves the order waiting for the next pass; replicas
        asking at once get the same answer, and one of them wins the transition."""
        cutoff = now - timedelta(seconds=self.settings.orders_unpaid_expiry_seconds)
        count = 0
        for order in repository.awaiting_payment(self.db.session, cutoff, TIMER_BATCH,
                                                  placed=True):
            account_id, order_id, invoice_id = order.account_id, order.id, order.payment_invoice_id
            self.db.session.rollback()
            try:
                said = self.billing.expire_order_payment(account_id, order_id, invoice_id)
            except (ServiceTimeout, ServiceUnavailable) as unknown:
                log.warning("order %s is due to expire, but billing did not answer: %s",
                            order_id, unknown)
                continue
            if said["outcome"] == "charged":
                self._pay_and_implement(account_id, order_id, voucher_part(said["entry"]))
            elif said["outcome"] == "paid":
                self._pay_and_implement(account_id, order_id, 0)
            else:
                refused = self._refuse(account_id, order_id, ErrorOut.model_validate(said["error"]))
                count += expired(refused)
        return count

    # -- shipments ----------------------------------------------------------------------------------

    @rpc
    def list_shipments(self, account_id: str | None, order_id: str | None = None,
                       status: str | None = None, limit: int | None = None,
                       cursor: str | None = None) -> dict[str, Any]:
        """Shipments newest first (``account_id`` None: every account's, for operators)."""
        size = pages.check_limit(limit)
        session = self.db.session
        rows = repository.shipments(session, account_id, order_id, status, size + 1,
                                    pages.decode_cursor(cursor))
        orders = repository.orders_by_id(session, {row.order_id for row in rows})
        items = [shipment_out(session, row, orders[row.order_id]).wire() for row in rows]
        return pages.page(items, size, "created_at")

    @rpc
    def get_shipment(self, account_id: str | None, shipment_id: str) -> dict[str, Any]:
        return shipment_out(self.db.session,
                            repository.shipment(self.db.session, account_id, shipment_id)).wire()

    # -- what the documents service's reports read -----------------------------------------------

    @rpc
    def sales(self, account_id: str, since: str, until: str) -> dict[str, Any]:
        """What the account bought in a period, by month and product: the units delivered of
        the orders placed in it (ordered, less failed, rejected and returned units) with their
        net, VAT and gross, in each currency it bought in."""
        start, end = pages.parse_day(since, "from"), pages.parse_day(until, "to", next_day=True)
        assert start is not None and end is not None
        totals: dict[tuple[str, str, str], dict[str, Any]] = {}
        for order in repository.sold_orders(self.db.session, account_id, start, end):
            month = order.created_at.strftime("%Y-%m")
            for line in order.lines:
                sold = delivered_units(line)
                if not sold:
                    continue
                row = totals.setdefault((month, line.sku, order.currency), {
                    "month": month, "sku": line.sku, "name": line.name, "currency": order.currency,
                    "quantity": 0, "net_minor": 0, "vat_minor": 0, "orders": 0})
                vat = (line.vat_minor * sold * 2 + line.quantity) // (2 * line.quantity)  # half up
                row["quantity"] += sold
                row["net_minor"] += line.unit_price_minor * sold
                row["vat_minor"] += vat
                row["orders"] += 1
        rows = [totals[key] for key in sorted(totals)]
        for row in rows:
            row["net"] = MoneyOut.minor(row.pop("net_minor"), row["currency"]).wire()
            row["vat"] = MoneyOut.minor(row.pop("vat_minor"), row["currency"]).wire()
        return {"from": since, "to": until, "rows": rows}

    @rpc
    def realizations(self, account_id: str, since: str, until: str, limit: int | None = None,
                     cursor: str | None = None) -> dict[str, Any]:
        """The account's shipments shipped in a period, oldest first, in pages."""
        size = pages.check_limit(limit)
        start, end = pages.parse_day(since, "from"), pages.parse_day(until, "to", next_day=True)
        assert start is not None and end is not None
        session = self.db.session
        rows = repository.shipped(session, account_id, start, end, size + 1,
                                  pages.decode_cursor(cursor))
        more = len(rows) > size
        rows = rows[:size]
        orders = repository.orders_by_id(session, {row.order_id for row in rows})
        items = [shipment_out(session, row, orders[row.order_id]).wire() for row in rows]
        last = rows[-1] if rows else None
        return {"items": items, "next_cursor": pages.encode_cursor(last.shipped_at, last.id)
                if more and last is not None and last.shipped_at else None}

    @rpc
    def packing(self, account_id: str, shipment_ids: list[str]) -> dict[str, Any]:
        """Shipments packed into boxes, with each product's characteristics, for packing
        lists: another account's shipment is as missing as a missing one; one not packed yet
        (``to_warehouse``) is refused."""
        session = self.db.session
        shipments = [repository.shipment(session, account_id, shipment_id)
                     for shipment_id in dict.fromkeys(shipment_ids)]
        unpacked = [row.number for row in shipments if row.status == "to_warehouse"]
        if unpacked:
            raise ShipmentNotPacked(details={"shipments": unpacked})
        out = [shipment_out(session, row) for row in shipments]
        skus = {line.sku for shipment in out for line in shipment.lines}
        products = repository.products_by_sku(session, skus)
        return {"shipments": [shipment.wire() for shipment in out],
                "characteristics": {sku: loaded(product.characteristics, {})
                                    for sku, product in products.items()}}

    @rpc
    def inventory(self, account_id: str, order_id: str) -> dict[str, Any]:
        """A shipped goods order's goods with their certificates (inventory and certificates)."""
        session = self.db.session
        order = repository.order(session, account_id, order_id)
        shipment = repository.shipment_of(session, order.id)
        if shipment is None or shipment.status != "shipped":
            raise OrderNotShipped(details={"order_id": order_id})
        out = shipment_out(session, shipment, order)
        products = repository.products_by_sku(session, {line.sku for line in out.lines})
        return {"order_id": order.id, "po_number": order.po_number, "shipment": out.wire(),
                "goods": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                           "characteristics": loaded(products[line.sku].characteristics, {})
                           if line.sku in products else {},
                           "certificates": loaded(products[line.sku].certificates, [])
                           if line.sku in products else []} for line in out.lines]}

    @rpc
    def set_shipment_status(self, shipment_id: str, status: str,
                            boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """An operator moves a shipment one step on: ``to_warehouse`` → ``assembled`` (packed
        into the boxes given, else by each product's units per box) → ``shipped`` (its order is
        shipped: a realization).  The same step again answers the same; each step is announced
        (``shipment_status_changed``)."""
        if status not in domain.SHIPMENT_STEPS[1:]:
            raise InvalidRequest("a shipment moves to assembled, then shipped", {"field": "status"})
        with self.db.transaction() as session:
            shipment = repository.shipment(session, None, shipment_id, lock=True)
            if shipment.status == status:
                return shipment_out(session, shipment).wire()
            step = domain.SHIPMENT_STEPS.index(status)
            if domain.SHIPMENT_STEPS.index(shipment.status) != step - 1:
                raise OrderNotEditable(f"a shipment that is {shipment.status} cannot be {status}",
                                       {"status": shipment.status})
            order = repository.order(session, None, shipment.order_id, lock=True)
            lines = shipped_lines(order)
            if status == "assembled":
                if boxes:
                    packed = [parse(Box, box).wire() for box in boxes]
                    domain.check_boxes(packed, lines)
                else:
                    sizes = {p.sku: p.units_per_box for p in
                             repository.products_named(session, {sku for sku, _ in lines})}
                    packed = domain.pack(lines, sizes)
                shipment.boxes = json.dumps(packed)
            elif boxes:
                raise InvalidRequest("boxes are given when the shipment is assembled",
                                     {"field": "boxes"})
            else:
                shipment.shipped_at = utcnow()
                order.status, order.updated_at = domain.SHIPPED, utcnow()
            shipment.status = status
            out = shipment_out(session, shipment)
            self.outbox.add(session, ShipmentStatusChanged(shipment=out))
            self._mail(session, order, "shipment_status", f"shipment:{status}",
                       {"shipment_number": shipment.number, "status": status})
            return out.wire()

    def _editable(self, session: Session, account_id: str, order_id: str) -> Order:
        order = repository.order(session, account_id, order_id, lock=True)
        domain.check_editable(order.status, order.is_goods)
        return order

    @staticmethod
    def _edited(order: Order) -> None:
        """An edit makes the order a draft again, to be sent for confirmation."""
        reprice(order)
        order.status, order.confirmed_by, order.confirmed_at = domain.DRAFT, None, None
        order.updated_at = utcnow()

    # -- mail: where it goes (billing's events) and what is sent ------------------------------------

    @handles(AccountRegistered)
    def on_account_registered(self, payload: dict[str, Any]) -> None:
        evt = parse(AccountRegistered, payload)
        with self.db.transaction() as session:
            if session.get(AccountContact, evt.account.account_id, with_for_update=True) is None:
                session.add(AccountContact(
                    account_id=evt.account.account_id, company_name=evt.account.company_name,
                    email=evt.account.email, language=evt.account.language,
                    notifications_enabled=True, profile_version=0))

    @handles(ProfileChanged)
    def on_profile_changed(self, payload: dict[str, Any]) -> None:
        """Mails go to the mailing information's e-mail when there is one; an older profile
        arriving late changes nothing."""
        evt = parse(ProfileChanged, payload)
        with self.db.transaction() as session:
            contact = session.get(AccountContact, evt.account_id, with_for_update=True)
            if contact is None:
                if evt.mailing_info is None:
                    return  # the registration (with the address) is still on its way
                contact = AccountContact(account_id=evt.account_id, profile_version=-1,
                                         email=evt.mailing_info.email)
                session.add(contact)
            if evt.profile_version <= contact.profile_version:
                return
            contact.company_name = evt.company.legal_name
            contact.country, contact.vat_number = evt.company.country, evt.company.vat_number
            if evt.mailing_info is not None:
                contact.email = evt.mailing_info.email
            contact.language, contact.notifications_enabled = evt.language, evt.notifications_enabled
            contact.profile_version = evt.profile_version

    def _mail(self, session: Session, order: Order, template: str, key: str,
              context: dict[str, str], status_mail: bool = True) -> None:
        """Ask the documents service for a mail about this order (once per ``key``).  A status
        mail respects the notifications switch; a delivery (licence keys) always goes."""
        contact = session.get(AccountContact, order.account_id)
        if contact is None:
            log.info("no contact for account %s yet: %s mail of order %s not sent",
                     order.account_id, template, order.id)
            return
        if status_mail and not contact.notifications_enabled:
            return
        link = f"{self.settings.console_url.rstrip('/')}/orders/{order.id}"
        self.outbox.add(session, OrderMailRequested(
            mail_id=f"order:{order.id}:{key}", to=contact.email, language=contact.language,  # type: ignore[arg-type]
            template=template, account_id=order.account_id,  # type: ignore[arg-type]
            context={"number": order_number(order), "company_name": contact.company_name,
                     "link": link, **context}))

    def _mail_placed(self, session: Session, order: Order) -> None:
        total = Money.from_minor(order.total_minor, order.currency)
        self._mail(session, order, "order_placed", "placed", {
            "po_number": order.po_number or "", "total": str(total.amount), "currency": total.currency,
            "goods": "yes" if order.is_goods else "",
            "lines": lines_text(order, self._language(session, order))})

    @staticmethod
    def _language(session: Session, order: Order) -> str:
        contact = session.get(AccountContact, order.account_id)
        return contact.language if contact is not None else "en"

    def _mail_changed(self, session: Session, order: Order) -> None:
        """The system changed a confirmed order: the customer is asked to confirm it again."""
        self._mail_step(session, order, "changed",
                        lines=lines_text(order, self._language(session, order)))

    def _mail_step(self, session: Session, order: Order, status: str, **context: str) -> None:
        """A step a goods order may take more than once (confirmed, changed): one mail each
        time it takes it."""
        history = json.loads(order.status_history) if order.status_history else []
        self._mail(session, order, "order_status", f"{status}:{len(history)}",
                   {"status": status, **context})

    # -- learning how a charge ended -----------------------------------------------------------

    @handles(OrderCharged)
    def on_order_charged(self, payload: dict[str, Any]) -> None:
        evt = parse(OrderCharged, payload)
        self._pay_and_implement(evt.entry.account_id, evt.order_id, voucher_part(evt.entry.wire()))

    @handles(PaymentReceived)
    def on_payment_received(self, payload: dict[str, Any]) -> None:
        """A wire-transfer order's payment invoice is paid in full: the order is paid (it was
        never charged: the invoice's money settled it) and implemented.  A partial payment
        changes nothing yet."""
        evt = parse(PaymentReceived, payload)
        if evt.payable is None or evt.payable.status != "paid":
            return
        order = repository.order_paid_by(self.db.session, evt.payable.payment_invoice_id)
        if order is None or order.status != domain.AWAITING_PAYMENT:
            return
        self.db.session.rollback()
        self._pay_and_implement(order.account_id, order.id, 0)

    @handles(OrderChargeRefused)
    def on_order_charge_refused(self, payload: dict[str, Any]) -> None:
        evt = parse(OrderChargeRefused, payload)
        self._refuse(evt.account_id, evt.order_id, evt.error)

    @every("reconcile_interval")
    def reconcile_payments(self) -> None:
        """Ask billing again about orders left awaiting payment (a timeout, or this service
        killed between creating the order and hearing billing's answer).  The charge is keyed
        by the order, so asking again never charges twice."""
        cutoff = utcnow() - timedelta(seconds=self.settings.service_rpc_timeout)
        for order in repository.awaiting_payment(self.db.session, cutoff, RECONCILE_BATCH):
            self.db.session.rollback()
            if order.payment_method in ("card", "wire_transfer"):
                continue  # settled by the card or the payment invoice, never from the balance
            self._collect_payment(order)
        for order in repository.stuck(self.db.session, cutoff, RECONCILE_BATCH):
            self.db.session.rollback()
            if order.status == domain.IMPLEMENTING:  # its implementer died: implement it now
                self._implement_now(order.account_id, order.id)
            else:  # a cancel whose refund was not confirmed: ask billing again, by the same id
                self._cancel_failed(order.account_id, order.id)
        for refund_id in repository.pending_refunds(self.db.session, cutoff, RECONCILE_BATCH):
            self.db.session.rollback()
            try:  # an operator's refund billing did not answer: ask again, by the same id
                self._refund(refund_id)
            except BusinessError as error:
                log.warning("refund %s is still not settled: %s", refund_id, error)

    # -- steps ----------------------------------------------------------------------------------

    def _create_or_resume(self, account_id: str, request: PlaceOrder, request_key: str,
                          user_id: str | None) -> Order:
        """The order this request key made, or a new one; ``from_cart`` takes the user's cart
        as its lines and empties the cart in the same transaction."""
        try:
            with self.db.transaction() as session:
                existing = repository.order_by_request(session, account_id, request_key)
                if existing is not None:
                    return existing
                if request.from_cart:
                    items = repository.cart(session, user_id or "")
                    if not items:
                        raise InvalidRequest("the cart is empty", {"field": "from_cart"})
                    request = request.model_copy(update={"lines": [
                        OrderLineIn(sku=item.sku, quantity=item.quantity) for item in items]})
                    repository.clear_cart(session, user_id or "")
                order = new_order(session, account_id, request, request_key,
                                  self.settings.seller_country)
                if request.payment_method == "wire_transfer" and not order.is_goods:
                    order.payment_invoice_id = str(uuid.uuid4())
                session.add(order)
                session.flush()
                placed = order_out(order)
                self.outbox.add(session, OrderPlaced(order=placed))
                if order.payment_invoice_id is not None:
                    self.outbox.add(session, PaymentInvoiceRequested(
                        payment_invoice_id=order.payment_invoice_id, order=placed))
                self._mail_placed(session, order)
                return order
        except IntegrityError:  # the same request arrived twice at once; resume the winner
            found = repository.order_by_request(self.db.session, account_id, request_key)
            assert found is not None
            return found

    def _start_card_payment(self, order: Order) -> Order:
        """Ask billing for the card payment that pays this order (keyed by the order, so a
        retried request gets the same one); billing's ``order_charged`` completes the order
        once the card succeeds, ``order_charge_refused`` cancels it if the card is declined.  A
        timeout leaves the order waiting, and the retry asks again."""
        if order.card_payment_id is not None:
            return order
        total = Money.from_minor(order.total_minor, order.currency)
        try:
            payment = self.billing.create_card_payment(
                order.account_id, str(total.amount), total.currency, f"order:{order.id}", None,
                order.id)
        except (ServiceTimeout, ServiceUnavailable) as unknown:
            log.warning("the card payment of order %s is not started yet: %s", order.id, unknown)
            return repository.order(self.db.session, order.account_id, order.id)
        with self.db.transaction() as session:
            found = repository.order(session, order.account_id, order.id, lock=True)
            found.card_payment_id = found.card_payment_id or payment["id"]
            return found

    def _collect_payment(self, order: Order) -> Order:
        total = Money.from_minor(order.total_minor, order.currency)
        try:
            charged = self.billing.charge_order(
                ChargeOrder(account_id=order.account_id, order_id=order.id, amount=total.amount,
                            currency=total.currency,
                            payment_method=order.payment_method).wire()  # type: ignore[arg-type]
            )
        except (ServiceTimeout, ServiceUnavailable) as unknown:
            log.warning("payment of order %s is pending: %s", order.id, unknown)
            return repository.order(self.db.session, order.account_id, order.id)
        except BusinessError as refusal:
            return self._refuse(order.account_id, order.id, ErrorOut(
                code=refusal.code, message=refusal.message, details=refusal.details))
        return self._pay_and_implement(order.account_id, order.id, voucher_part(charged))

    def _refuse(self, account_id: str, order_id: str, error: ErrorOut) -> Order:
        """Billing refused the payment, or it expired: the order is cancelled, kept with the
        reason, and announced (``order_cancelled``); the customer is told of an expiry."""
        with self.db.transaction() as session:
            won = repository.transition(session, order_id, domain.AWAITING_PAYMENT,
                                        domain.CANCELLED, payment_refusal=json.dumps(error.wire()))
            order = repository.order(session, account_id, order_id)
            if won:
                lapsed = expired(order)
                self.outbox.add(session, OrderCancelled(
                    order=order_out(order),
                    reason="payment_expired" if lapsed else "payment_refused"))
                if lapsed:
                    self._mail(session, order, "order_status", "expired", {"status": "expired"})
            return order

    def _pay_and_implement(self, account_id: str, order_id: str, voucher_minor: int) -> Order:
        """Mark the order paid (``voucher_minor`` of it by the voucher wallet, the rest cash,
        spread over the lines in order) and implement it, once: of any number of concurrent
        callers (the request, its retry, the event, the reconciler) exactly one wins the
        transition.  Provisioning that answers at once is done here; provisioning that takes
        time is handed to this service's ``order_paid`` handler (the order shows
        ``implementing``)."""
        with self.db.transaction() as session:
            won = repository.transition(session, order_id, domain.AWAITING_PAYMENT, domain.PAID,
                                        paid_cash_minor=Order.total_minor - voucher_minor,
                                        paid_voucher_minor=voucher_minor)
            order = repository.order(session, account_id, order_id)
            if not won:
                return order
            parts = domain.split_lines([line.gross_minor for line in order.lines], voucher_minor)
            for line, (cash, voucher) in zip(order.lines, parts, strict=True):
                line.paid_cash_minor, line.paid_voucher_minor = cash, voucher
            rules = repository.provisioning_rules(session, order)
            if provisioning.delay(rules) > 0:
                order.status, order.updated_at = domain.IMPLEMENTING, utcnow()
                self.outbox.add(session, OrderPaid(order=order_out(order)))
                return order
            self._implement(session, order, rules)
        return self._cancel_failed(account_id, order_id) if order.cancel_status == "pending" else order

    @handles(OrderPaid)
    def on_order_paid(self, payload: dict[str, Any]) -> None:
        """Implement an order whose provisioning takes time (the simulator's delay), then
        cancel and refund what failed."""
        evt = parse(OrderPaid, payload)
        account_id, order_id = evt.order.account_id, evt.order.id
        order = repository.order(self.db.session, account_id, order_id)
        if order.status != domain.IMPLEMENTING:
            return
        rules = repository.provisioning_rules(self.db.session, order)
        self.db.session.rollback()
        eventlet.sleep(provisioning.delay(rules))  # the platform taking its time
        self._implement_now(account_id, order_id)

    def _implement_now(self, account_id: str, order_id: str) -> Order:
        with self.db.transaction() as session:
            order = repository.order(session, account_id, order_id, lock=True)
            if order.status != domain.IMPLEMENTING:
                return order
            self._implement(session, order, repository.provisioning_rules(session, order))
        return self._cancel_failed(account_id, order_id) if order.cancel_status == "pending" else order

    def _implement(self, session: Session, order: Order, rules: dict[str, Any]) -> None:
        """Each line's outcome (its failed units; a licence gets its key), the order's
        status, and the event that says it: ``order_implemented`` when all went well,
        ``order_partially_failed`` / ``order_failed`` otherwise (the failed part is then
        cancelled, unless the simulator makes that fail: ``cancel_status: blocked``)."""
        for line in order.lines:
            failed = provisioning.failed_units(rules.get(line.sku), line.quantity)
            line.failed_quantity = failed
            line.implementation = domain.line_outcome(line.quantity, failed)
            if line.kind == "licence" and failed < line.quantity:
                line.licence_key = provisioning.licence_key()
        order.status = domain.implemented([(ln.quantity, ln.failed_quantity) for ln in order.lines])
        order.updated_at = utcnow()
        keys = [f"{ln.name}: {ln.licence_key}" for ln in order.lines if ln.licence_key]
        if keys:
            self._mail(session, order, "order_completed", "licence_keys",
                       {"licence_keys": "\n".join(keys)}, status_mail=False)
        if order.status == domain.COMPLETED:
            self.outbox.add(session, OrderImplemented(order=order_out(order)))
            return
        blocked = any(rules[ln.sku].cancel_fails for ln in order.lines
                      if ln.failed_quantity and ln.sku in rules)
        order.cancel_status = "blocked" if blocked else "pending"
        event = OrderFailed if order.status == domain.FAILED else OrderPartiallyFailed
        self.outbox.add(session, event(order=order_out(order)))

    @rpc
    def cancel_order(self, account_id: str | None, order_id: str) -> dict[str, Any]:
        """Cancel an order by hand (the customer's own; ``account_id`` None: an operator, any):
        a failed or partially failed order's failed part (also when the automatic cancel
        failed), its paid amount refunded to the wallets it came from; or a goods order not
        yet sent for shipment, its stock returned (``order_locked`` once it is)."""
        order = repository.order(self.db.session, account_id, order_id)
        owner, goods = order.account_id, order.is_goods
        self.db.session.rollback()
        if goods:
            return order_out(self._withdraw_goods(owner, order_id)).wire()
        return order_out(self._cancel_failed(owner, order_id, manual=True)).wire()

    def _withdraw_goods(self, account_id: str, order_id: str) -> Order:
        """A goods order the customer (or an operator) gives up before shipment: ``cancelled``,
        what it reserved returned, announced (``order_cancelled``, ``withdrawn``).  Again:
        the same answer."""
        with self.db.transaction() as session:
            order = repository.order(session, account_id, order_id, lock=True)
            if order.status == domain.CANCELLED:
                return order
            if order.status in domain.LOCKED:
                raise OrderLocked(details={"status": order.status})
            if order.status not in domain.EDITABLE:
                raise OrderNotCancellable(f"an order that is {order.status} cannot be cancelled",
                                          {"status": order.status})
            repository.lock_products(session, {line.sku for line in order.lines})
            for line in order.lines:
                release(session, line)
            reprice(order)
            order.status, order.updated_at = domain.CANCELLED, utcnow()
            self.outbox.add(session, OrderCancelled(order=order_out(order), reason="withdrawn"))
            return order

    def _cancel_failed(self, account_id: str, order_id: str, manual: bool = False) -> Order:
        """Refund the failed units (billing, idempotent by the order: a retry refunds once)
        and mark the order ``cancelled`` (all failed) or ``partially_cancelled``.  A timeout
        leaves the cancel pending for the reconciler; a blocked automatic cancel waits for a
        manual one."""
        order = repository.order(self.db.session, account_id, order_id)
        if order.status in (domain.CANCELLED, domain.PARTIALLY_CANCELLED) and order.cancel_status == "done":
            return order
        if order.status not in (domain.PARTIALLY_FAILED, domain.FAILED):
            raise OrderNotCancellable(details={"status": order.status})
        if order.cancel_status == "blocked" and not manual:
            return order
        parts = [domain.refund_of(ln.gross_minor, ln.paid_cash_minor, ln.paid_voucher_minor,
                                  ln.quantity, ln.failed_quantity) for ln in order.lines]
        cash, voucher = sum(p[0] for p in parts), sum(p[1] for p in parts)
        self.db.session.rollback()
        if cash + voucher:
            try:
                self.billing.refund(refund_request(f"order:{order_id}:cancel", account_id,
                                                   order_id, cash, voucher, order.currency))
            except (ServiceTimeout, ServiceUnavailable) as unknown:
                log.warning("the refund of order %s is pending: %s", order_id, unknown)
                with self.db.transaction() as session:
                    found = repository.order(session, account_id, order_id, lock=True)
                    found.cancel_status, found.updated_at = "pending", utcnow()
                    return found
        with self.db.transaction() as session:
            found = repository.order(session, account_id, order_id, lock=True)
            if found.cancel_status == "done":
                return found
            for line, (line_cash, line_voucher) in zip(found.lines, parts, strict=True):
                line.refunded_cash_minor, line.refunded_voucher_minor = line_cash, line_voucher
            found.status = (domain.CANCELLED if found.status == domain.FAILED
                            else domain.PARTIALLY_CANCELLED)
            found.cancel_status, found.updated_at = "done", utcnow()
            out = order_out(found)
            self.outbox.add(session, OrderCancelled(order=out))
            cash_back = MoneyOut.minor(cash, found.currency)
            voucher_back = MoneyOut.minor(voucher, found.currency)
            if cash + voucher:
                self.outbox.add(session, OrderRefunded(
                    order=out, refund_id=f"order:{order_id}:cancel", cash=cash_back,
                    voucher=voucher_back))
            self._mail(session, found, "order_status", "cancelled", {
                "status": found.status, "currency": found.currency,
                "refunded_cash": str(cash_back.amount),
                "refunded_voucher": str(voucher_back.amount) if voucher else ""})
            return found

    @rpc
    def refund_units(self, order_id: str, data: dict[str, Any], request_key: str) -> dict[str, Any]:
        """An operator refunds implemented units of a completed service or licence order (a
        later cancellation, a correction): each line's refunded total becomes what all its
        refunded units paid (``domain.refund_of`` over failed and returned units), cash to
        cash, voucher to voucher; announced as ``order_refunded`` (an invoiced order gets a
        credit note).  The refund is written down as pending first (one at a time per order),
        then asked of billing under its key; billing's answer completes it.  Billing not
        answering leaves it pending: a repeat of the request, or the reconciler, asks again by
        the same key, so the money moves once.  A repeat of a completed one answers the order."""
        request = parse(RefundUnits, data)
        refund_id = f"order:{order_id}:refund:{request_key}"[:100]
        with self.db.transaction() as session:
            order = repository.order(session, None, order_id, lock=True)
            known = session.get(OrderRefund, refund_id)
            if known is None:
                if repository.pending_refund(session, order_id) is not None:
                    raise Conflict("another refund of this order is under way; repeat it shortly",
                                   {"order_id": order_id})
                plan = refund_plan(order, request)
                known = OrderRefund(refund_id=refund_id, order_id=order_id, status="pending",
                                    lines_json=json.dumps(request.wire()["lines"]),
                                    plan_json=json.dumps(plan), reason=request.reason,
                                    created_at=utcnow())
                session.add(known)
            if known.status == "done":
                return order_out(order).wire()
            if known.status == "refused":
                raise Conflict("billing refused this refund", {"refund_id": refund_id})
        return order_out(self._refund(refund_id)).wire()

    def _refund(self, refund_id: str) -> Order:
        """Ask billing for a pending refund (by its key: a repeat moves no more money), then
        apply it to the order's lines and announce it."""
        with self.db.transaction() as session:
            pending = session.get(OrderRefund, refund_id)
            assert pending is not None
            order = repository.order(session, None, pending.order_id)
            plan = {int(line_no): part for line_no, part in json.loads(pending.plan_json).items()}
            owner, currency = order.account_id, order.currency
        cash = sum(part[1] for part in plan.values())
        voucher = sum(part[2] for part in plan.values())
        if cash + voucher:
            try:
                self.billing.refund(refund_request(refund_id, owner, pending.order_id, cash,
                                                   voucher, currency))
            except BusinessError as refused:
                if isinstance(refused, ServiceTimeout | ServiceUnavailable):
                    raise  # unknown: it stays pending, asked again later by the same key
                with self.db.transaction() as session:
                    found = session.get(OrderRefund, refund_id, with_for_update=True)
                    if found is not None and found.status == "pending":
                        found.status = "refused"
                raise
        with self.db.transaction() as session:
            found = repository.order(session, None, pending.order_id, lock=True)
            done = session.get(OrderRefund, refund_id, with_for_update=True)
            assert done is not None
            if done.status != "pending":
                return found
            for line in found.lines:
                if line.line_no in plan:
                    units, line_cash, line_voucher = plan[line.line_no]
                    line.returned_quantity += units
                    line.refunded_cash_minor += line_cash
                    line.refunded_voucher_minor += line_voucher
            found.updated_at = utcnow()
            done.status = "done"
            out = order_out(found)
            self.outbox.add(session, OrderRefunded(
                order=out, refund_id=refund_id, cash=MoneyOut.minor(cash, currency),
                voucher=MoneyOut.minor(voucher, currency), reason=done.reason))
            return found

    # -- the provisioning simulator ----------------------------------------------------------------

    @rpc
    def set_provisioning_rule(self, sku: str, data: dict[str, Any]) -> dict[str, Any]:
        """An operator tells the simulator how to treat a SKU."""
        with self.db.transaction() as session:
            repository.product(session, sku, addressed=True)
            rule = session.get(ProvisioningRule, sku) or ProvisioningRule(sku=sku)
            write_rule(rule, data)
            session.add(rule)
            return {"sku": sku, **rule_out(rule)}

    @rpc
    def set_order_provisioning_rule(self, order_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """An operator tells the simulator how to treat one order still awaiting payment: all
        its lines, or (``sku``) one of them; this wins over the SKU's own rule."""
        sku = data.get("sku") or provisioning.EVERY_LINE
        with self.db.transaction() as session:
            order = repository.order(session, None, order_id, lock=True)
            if order.status != domain.AWAITING_PAYMENT:
                raise OrderNotEditable("the simulator is told about an order before it is paid",
                                       {"status": order.status})
            if sku != provisioning.EVERY_LINE and all(ln.sku != sku for ln in order.lines):
                raise InvalidRequest("the order has no line of this SKU", {"field": "sku"})
            rule = (session.get(OrderProvisioningRule, (order_id, sku))
                    or OrderProvisioningRule(order_id=order_id, sku=sku))
            write_rule(rule, data)
            session.add(rule)
            return {"order_id": order_id, "sku": None if sku == provisioning.EVERY_LINE else sku,
                    **rule_out(rule)}


def write_rule(rule: ProvisioningRule | OrderProvisioningRule, data: dict[str, Any]) -> None:
    """The simulator's rule from an operator's ``{outcome, failed_units?, delay_seconds?,
    cancel_fails?}``, checked."""
    outcome = data.get("outcome")
    if outcome not in provisioning.OUTCOMES:
        raise InvalidRequest("the outcome is succeed, fail or fail_units", {"field": "outcome"})
    failed = data.get("failed_units") or 0
    delay_seconds = data.get("delay_seconds") or 0
    if outcome == "fail_units" and (not isinstance(failed, int) or failed < 1):
        raise InvalidRequest("fail_units needs failed_units of 1 or more", {"field": "failed_units"})
    if not isinstance(delay_seconds, int | float) or not 0 <= delay_seconds <= 600:
        raise InvalidRequest("delay_seconds is 0 to 600", {"field": "delay_seconds"})
    rule.outcome, rule.failed_units = outcome, failed if outcome == "fail_units" else 0
    rule.delay_seconds, rule.cancel_fails = float(delay_seconds), bool(data.get("cancel_fails"))


def rule_out(rule: ProvisioningRule | OrderProvisioningRule) -> dict[str, Any]:
    return {"outcome": rule.outcome, "failed_units": rule.failed_units,
            "delay_seconds": rule.delay_seconds, "cancel_fails": rule.cancel_fails}


def expired(order: Order) -> bool:
    """Whether the order was cancelled because it was not paid in time."""
    refusal = json.loads(order.payment_refusal) if order.payment_refusal else {}
    return bool(refusal.get("code") == PaymentExpired.code)


def refusal_of(order: Order) -> BusinessError:
    """The refusal a cancelled order was given, raised again for a repeated request."""
    assert order.payment_refusal is not None
    error = ErrorOut.model_validate_json(order.payment_refusal)
    cls = {InsufficientFunds.code: InsufficientFunds,
           CurrencyNotSupported.code: CurrencyNotSupported}.get(error.code, Conflict)
    return cls(error.message, error.details)


def new_order(session: Session, account_id: str, request: PlaceOrder, request_key: str,
              seller_country: str) -> Order:
    """A new order of sold products: services and licences to be paid, or goods checked
    against stock at once (each line approved, partly approved or rejected; what is approved
    is reserved, and the order is a ``draft``).  Goods are ordered apart from the others."""
    catalogue: dict[str, Product] = {}
    for line in request.lines:
        product = repository.product(session, line.sku)
        if not product.active:
            raise ProductInactive(details={"sku": product.sku})
        catalogue[product.sku] = product
    kinds = {p.kind == domain.GOODS for p in catalogue.values()}
    if len(kinds) > 1:
        raise InvalidRequest("goods are ordered apart from services and licences",
                             {"field": "lines"})
    currencies = {p.currency for p in catalogue.values()}
    if len(currencies) != 1:
        raise MixedCurrencies(details={"currencies": sorted(currencies)})
    goods = kinds == {True}
    now = utcnow()
    treatment = buyer_treatment(session, account_id, seller_country)
    vat = {sku: treatment(product) for sku, product in catalogue.items()}
    order = Order(
        id=str(uuid.uuid4()), account_id=account_id, request_key=request_key,
        status=domain.DRAFT if goods else domain.AWAITING_PAYMENT, currency=currencies.pop(),
        paid_cash_minor=0, paid_voucher_minor=0, payment_method=request.payment_method,
        po_number=request.po_number, created_at=now, updated_at=now,
        lines=[
            OrderLine(
                line_no=number, sku=line.sku, name=catalogue[line.sku].name,
                kind=catalogue[line.sku].kind, quantity=line.quantity,
                unit_price_minor=catalogue[line.sku].unit_price_minor,
                vat_category=vat[line.sku][0], vat_rate_bp=vat[line.sku][1],
                implementation="none" if goods else "pending",
                approved_quantity=0 if goods else None)
            for number, line in enumerate(request.lines, start=1)
        ],
    )
    if goods:  # a SKU given twice takes what is left of it line by line
        repository.lock_products(session, set(catalogue))
        for ordered in order.lines:
            regrant(session, ordered, ordered.quantity)
    reprice(order)
    return order


MAX_QUANTITY = 10_000


def take_back(product: Product, holding: list[Order]) -> list[Order]:
    """Stock on hand fell below what orders being edited reserve: take the difference back,
    first from drafts (nothing confirmed yet), newest first, then from the most recently
    confirmed orders (they become ``changed``, with lower approved quantities, to be
    confirmed again).  Locked orders keep theirs."""
    excess = product.reserved - (product.on_hand or 0)
    changed: list[Order] = []
    if excess <= 0:
        return changed
    newest_first = sorted(holding, key=lambda o: (o.confirmed_at is None,
                                                  o.confirmed_at or o.created_at), reverse=True)
    for order in newest_first:
        for line in order.lines:
            if excess <= 0:
                break
            if line.sku != product.sku or not line.approved_quantity:
                continue
            taken = min(excess, line.approved_quantity)
            line.approved_quantity -= taken
            line.rejection_reason = domain.PARTLY_IN_STOCK if line.approved_quantity else domain.OUT_OF_STOCK
            product.reserved -= taken
            excess -= taken
            if system_changed(order) and order not in changed:
                changed.append(order)
        if excess <= 0:
            break
    return changed


def system_changed(order: Order) -> bool:
    """The system altered a goods order (stock or a price): repriced; a confirmed one is
    ``changed`` and must be sent for confirmation again (True)."""
    reprice(order)
    order.updated_at = utcnow()
    if order.status in (domain.CONFIRMED, domain.AWAITING_CONFIRMATION):
        order.status = domain.CHANGED
        return True
    return False


def merged_order(account_id: str, request_key: str, originals: list[Order]) -> Order:
    """One draft of the originals' lines, the same product's summed (quantities asked and
    approved), in the order they first appear; the first PO number given is kept."""
    currencies = {order.currency for order in originals}
    if len(currencies) != 1:
        raise OrderNotMergeable("orders in different currencies are not merged",
                                {"currencies": sorted(currencies)})
    lines: dict[str, OrderLine] = {}
    for order in originals:
        for line in order.lines:
            into = lines.get(line.sku)
            if into is None:
                lines[line.sku] = OrderLine(
                    line_no=len(lines) + 1, sku=line.sku, name=line.name, kind=line.kind,
                    quantity=line.quantity, approved_quantity=line.approved_quantity or 0,
                    unit_price_minor=line.unit_price_minor, vat_category=line.vat_category,
                    vat_rate_bp=line.vat_rate_bp, net_minor=0, vat_minor=0, gross_minor=0,
                    implementation="none")
            else:
                into.quantity = min(into.quantity + line.quantity, MAX_QUANTITY)
                into.approved_quantity = (into.approved_quantity or 0) + (line.approved_quantity or 0)
    for line in lines.values():
        _, line.rejection_reason = domain.approve(line.quantity, line.approved_quantity or 0)
    now = utcnow()
    merged = Order(id=str(uuid.uuid4()), account_id=account_id, request_key=request_key,
                   status=domain.DRAFT, currency=originals[0].currency, net_minor=0, vat_minor=0,
                   total_minor=0, paid_cash_minor=0, paid_voucher_minor=0, payment_method="balance",
                   po_number=next((o.po_number for o in originals if o.po_number), None),
                   created_at=now, updated_at=now, lines=list(lines.values()))
    reprice(merged)
    return merged


LINE_WORDS = {
    "en": {"partly_in_stock": "{approved} of {quantity} approved", "out_of_stock": "not in stock",
           "approved": "approved"},
    "sv": {"partly_in_stock": "{approved} av {quantity} godkända", "out_of_stock": "finns inte i lager",
           "approved": "godkänd"},
    "ru": {"partly_in_stock": "одобрено {approved} из {quantity}", "out_of_stock": "нет на складе",
           "approved": "одобрено"},
}


def order_number(order: Order) -> str:
    """How mails name an order: the first part of its id, upper case."""
    return order.id.split("-", 1)[0].upper()


def lines_text(order: Order, language: str) -> str:
    """The order's lines for a mail, one a line; goods say what stock allowed."""
    words = LINE_WORDS.get(language, LINE_WORDS["en"])
    rows = []
    for line in order.lines:
        row = f"{line.name} ({line.sku}) × {line.quantity}"
        if line.kind == domain.GOODS:
            said = words[line.rejection_reason or "approved"].format(
                approved=line.approved_quantity or 0, quantity=line.quantity)
            row += f" — {said}"
        rows.append(row)
    return "\n".join(rows)


def shipped_lines(order: Order) -> list[tuple[str, int]]:
    """What a goods order's shipment carries: each line's approved quantity."""
    return [(line.sku, line.approved_quantity) for line in order.lines if line.approved_quantity]


def shipment_out(session: Session, shipment: Shipment, order: Order | None = None) -> ShipmentOut:
    """A shipment with its order's approved lines (``order``: already loaded)."""
    order = order or repository.order(session, None, shipment.order_id)
    currency = order.currency
    lines = [line for line in order.lines if line.approved_quantity]
    return ShipmentOut(
        id=shipment.id, number=shipment.number, order_id=order.id, account_id=order.account_id,
        status=shipment.status,  # type: ignore[arg-type]
        boxes=[Box.model_validate(box) for box in loaded(shipment.boxes, [])],
        lines=[ShipmentLineOut(
            sku=line.sku, name=line.name, quantity=line.approved_quantity or 0,
            unit_price=MoneyOut.minor(line.unit_price_minor, currency),
            vat_rate=percent(line.vat_rate_bp), net=MoneyOut.minor(line.net_minor, currency),
            vat=MoneyOut.minor(line.vat_minor, currency),
            gross=MoneyOut.minor(line.gross_minor, currency)) for line in lines],
        net=MoneyOut.minor(order.net_minor, currency), vat=MoneyOut.minor(order.vat_minor, currency),
        total=MoneyOut.minor(order.total_minor, currency), po_number=order.po_number,
        created_at=shipment.created_at, shipped_at=shipment.shipped_at)


def delivered_units(line: OrderLine) -> int:
    """Units of a line the customer has and keeps: goods approved by stock, services and
    licences implemented; less the units returned (refunded) afterwards."""
    had = (line.approved_quantity or 0) if line.kind == "goods" else line.quantity - line.failed_quantity
    return max(had - line.returned_quantity, 0)


def line_of(order: Order, line_no: Any) -> OrderLine:
    line = next((ln for ln in order.lines if str(ln.line_no) == str(line_no)), None)
    if line is None:
        raise NotFound("no such line in this order", {"line_id": line_no})
    return line


def regrant(session: Session, line: OrderLine, quantity: int) -> None:
    """Give a goods line ``quantity`` asked, as much of it approved as stock allows now (what
    the line held counts as free for it), under the product's row lock."""
    product = repository.product(session, line.sku, lock=True)
    held = line.approved_quantity or 0
    free = max((product.on_hand or 0) - product.reserved + held, 0)
    approved, reason = domain.approve(quantity, free)
    product.reserved += approved - held
    line.quantity, line.approved_quantity = quantity, approved
    line.rejection_reason = reason if quantity else None


def release(session: Session, line: OrderLine) -> None:
    """Return what a goods line reserved (it keeps the quantity asked, none of it approved)."""
    if line.approved_quantity:
        repository.product(session, line.sku, lock=True).reserved -= line.approved_quantity
    line.approved_quantity = 0


def reprice(order: Order) -> None:
    """The lines' amounts on their approved quantities, and the order's totals from them."""
    priced = []
    for line in order.lines:
        counted = line.approved_quantity if line.kind == domain.GOODS else line.quantity
        priced.append(domain.PricedLine(
            line_no=line.line_no, sku=line.sku, name=line.name, quantity=counted or 0,
            unit_price=Money.from_minor(line.unit_price_minor, order.currency),
            vat_rate_bp=line.vat_rate_bp))
        line.net_minor, line.vat_minor, line.gross_minor = (
            priced[-1].net.minor, priced[-1].vat.minor, priced[-1].gross.minor)
    sums = domain.totals(priced)
    order.net_minor, order.vat_minor, order.total_minor = sums.net.minor, sums.vat.minor, sums.total.minor


def check_quantity(quantity: Any) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidRequest(f"a quantity is a whole number from 1 to {MAX_QUANTITY}",
                             {"field": "quantity"})


def add_item(session: Session, account_id: str, user_id: str, sku: str, quantity: int) -> bool:
    """Add to a cart line (made if missing); False if that would pass the most of one product."""
    item = session.get(CartItem, (user_id, sku))
    if item is None:
        session.add(CartItem(user_id=user_id, sku=sku, account_id=account_id, quantity=quantity,
                             added_at=utcnow()))
        session.flush()
        return True
    if item.quantity + quantity > MAX_QUANTITY:
        return False
    item.quantity += quantity
    return True


def cart_out(session: Session, items: list[CartItem], seller_country: str) -> dict[str, Any]:
    """A cart at today's prices: each line, and the totals (when its prices share a currency)."""
    if not items:
        return {"items": [], "totals": None}
    catalogue = {p.sku: p for p in repository.products_named(session, {i.sku for i in items})}
    treatment = buyer_treatment(session, items[0].account_id, seller_country)
    priced, lines = [], []
    for number, item in enumerate(items, start=1):
        product = catalogue[item.sku]
        category, rate_bp = treatment(product)
        line = domain.PricedLine(
            line_no=number, sku=product.sku, name=product.name, quantity=item.quantity,
            unit_price=Money.from_minor(product.unit_price_minor, product.currency),
            vat_rate_bp=rate_bp)
        priced.append(line)
        lines.append({"sku": line.sku, "name": line.name, "kind": product.kind,
                      "vat_category": category,
                      "quantity": line.quantity, "active": product.active,
                      "unit_price": MoneyOut.of(line.unit_price).wire(),
                      "vat_rate": percent(line.vat_rate_bp), "net": MoneyOut.of(line.net).wire(),
                      "vat": MoneyOut.of(line.vat).wire(), "gross": MoneyOut.of(line.gross).wire()})
    sums = None
    if priced and len({line.unit_price.currency for line in priced}) == 1:
        totals = domain.totals(priced)
        sums = {"net": MoneyOut.of(totals.net).wire(), "vat": MoneyOut.of(totals.vat).wire(),
                "total": MoneyOut.of(totals.total).wire()}
    return {"items": lines, "totals": sums}


def refund_request(refund_id: str, account_id: str, order_id: str, cash_minor: int,
                   voucher_minor: int, currency: str) -> dict[str, Any]:
    """What billing is asked to give back of an order, each part to its wallet."""
    return RefundOrder(refund_id=refund_id, account_id=account_id, order_id=order_id,
                       cash=Money.from_minor(cash_minor, currency).amount,
                       voucher=Money.from_minor(voucher_minor, currency).amount,
                       currency=currency).wire()


def refund_plan(order: Order, request: RefundUnits) -> dict[int, tuple[int, int, int]]:
    """Per line refunded: (units, cash, voucher) minor units.  Only a completed or partially
    cancelled service or licence order refunds, and only units implemented and not refunded
    yet; all of a line's refunded units (failed and returned) give back their share of what it
    paid, so the last unit gives back exactly the rest."""
    if order.is_goods or order.status not in (domain.COMPLETED, domain.PARTIALLY_CANCELLED):
        raise OrderNotCancellable(f"an order that is {order.status} is not refunded by units",
                                  {"status": order.status})
    lines = {line.line_no: line for line in order.lines}
    asked: dict[int, int] = {}
    for wanted in request.lines:
        asked[wanted.line_no] = asked.get(wanted.line_no, 0) + wanted.quantity
    plan = {}
    for line_no, units in asked.items():
        line = lines.get(line_no)
        if line is None:
            raise NotFound("no such line in this order", {"line_no": line_no})
        left = line.quantity - line.failed_quantity - line.returned_quantity
        if units > left:
            raise InvalidRequest(f"line {line_no} has {left} implemented units left to refund",
                                 {"line_no": line_no, "refundable": left})
        cash, voucher = domain.refund_of(line.gross_minor, line.paid_cash_minor,
                                         line.paid_voucher_minor, line.quantity,
                                         line.failed_quantity + line.returned_quantity + units)
        plan[line_no] = (units, cash - line.refunded_cash_minor, voucher - line.refunded_voucher_minor)
    return plan


def buyer_treatment(session: Session, account_id: str,
                    seller_country: str) -> Callable[[Product], tuple[str, int]]:
    """How this account is charged VAT on a product (``domain.vat_treatment``): by the
    country and VAT number its profile gave, as billing announced them."""
    contact = session.get(AccountContact, account_id)
    country, vat_number = (contact.country, contact.vat_number) if contact else (None, None)
    return lambda product: domain.vat_treatment(product.vat_category, product.vat_rate_bp,
                                                seller_country, country, vat_number)


def voucher_part(entry: dict[str, Any]) -> int:
    """What the voucher wallet paid of a charge, in minor units, from billing's entry."""
    moved = entry.get("voucher")
    return -Money(Decimal(moved["amount"]), moved["currency"]).minor if moved else 0


def write_product(product: Product, wanted: ProductIn) -> None:
    product.name, product.kind, product.active = wanted.name, wanted.kind, wanted.active
    product.unit_price_minor = wanted.price.money().minor
    product.currency = wanted.price.currency
    product.vat_category = wanted.vat_category
    product.vat_rate_bp = int(wanted.vat_rate * 100)
    product.names = json.dumps(wanted.names, ensure_ascii=False)
    product.description = wanted.description
    product.descriptions = json.dumps(wanted.descriptions, ensure_ascii=False)
    product.units_per_box = wanted.units_per_box
    product.characteristics = json.dumps(wanted.characteristics, ensure_ascii=False)
    product.certificates = json.dumps([c.wire() for c in wanted.certificates], ensure_ascii=False)
    product.updated_at = utcnow()


def product_out(product: Product) -> ProductOut:
    goods = product.kind == domain.GOODS
    on_hand = product.on_hand or 0
    return ProductOut(
        sku=product.sku, name=product.name,
        price=MoneyOut.minor(product.unit_price_minor, product.currency),
        vat_rate=percent(product.vat_rate_bp), kind=product.kind,  # type: ignore[arg-type]
        vat_category=product.vat_category, active=product.active,  # type: ignore[arg-type]
        names=loaded(product.names, {}), description=product.description,
        descriptions=loaded(product.descriptions, {}),
        stock=StockOut(on_hand=on_hand, available=max(on_hand - product.reserved, 0))
        if goods else None,
        units_per_box=product.units_per_box,
        characteristics=loaded(product.characteristics, {}),
        certificates=loaded(product.certificates, []),
    )


def loaded(text: str | None, empty: Any) -> Any:
    return json.loads(text) if text else empty


def order_out(order: Order) -> OrderOut:
    return OrderOut.model_validate(order_view_of(order, order.lines))


def order_view(rows: list[Any]) -> list[dict[str, Any]]:
    """Orders as the API shows them, from joined order/line rows (several rows per order,
    grouped in the order they come): built directly, no model on the hot read path."""
    views: list[dict[str, Any]] = []
    current: Any = None
    lines: list[Any] = []
    for row in rows:
        if current is None or row.id != current.id:
            if current is not None:
                views.append(order_view_of(current, lines, line_net="line_net"))
            current, lines = row, []
        lines.append(row)
    if current is not None:
        views.append(order_view_of(current, lines, line_net="line_net"))
    return views


def order_view_of(order: Any, lines: Any, line_net: str = "net_minor") -> dict[str, Any]:
    """The one shape of an order (``OrderOut``'s wire form), from anything with its columns as
    attributes: an ORM ``Order`` and its lines, or joined rows (whose line amounts are
    labelled ``line_net`` / ``line_vat``)."""
    currency = order.currency
    rows = line_net == "line_net"
    line_vat = "line_vat" if rows else "vat_minor"
    line_cash = "line_paid_cash" if rows else "paid_cash_minor"
    line_voucher = "line_paid_voucher" if rows else "paid_voucher_minor"
    return {
        "id": order.id,
        "account_id": order.account_id,
        "status": order.status,
        "net": money_wire(order.net_minor, currency),
        "vat": money_wire(order.vat_minor, currency),
        "total": money_wire(order.total_minor, currency),
        "paid_cash": money_wire(order.paid_cash_minor, currency),
        "paid_voucher": money_wire(order.paid_voucher_minor, currency),
        "payment_method": order.payment_method,
        "confirmed_by": order.confirmed_by,
        "cancel_status": order.cancel_status,
        "status_history": json.loads(order.status_history) if order.status_history else [],
        "delete_at": wire_time(order.delete_at) if order.delete_at else None,
        "merged_into": order.merged_into,
        "card_payment_id": order.card_payment_id,
        "payment_invoice_id": order.payment_invoice_id,
        "po_number": order.po_number,
        "payment_refusal": json.loads(order.payment_refusal) if order.payment_refusal else None,
        "lines": [
            {
                "id": str(line.line_no),
                "line_no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": money_wire(line.unit_price_minor, currency),
                "vat_rate": percent(line.vat_rate_bp),
                "vat_category": line.vat_category,
                "net": money_wire(getattr(line, line_net), currency),
                "vat": money_wire(getattr(line, line_vat), currency),
                "gross": money_wire(line.gross_minor, currency),
                "paid_cash": money_wire(getattr(line, line_cash), currency),
                "paid_voucher": money_wire(getattr(line, line_voucher), currency),
                "failed_quantity": line.failed_quantity,
                "returned_quantity": line.returned_quantity,
                "licence_key": line.licence_key,
                "refunded_cash": money_wire(line.refunded_cash_minor, currency),
                "refunded_voucher": money_wire(line.refunded_voucher_minor, currency),
                "implementation": line.implementation,
                "kind": line.kind,
                "approved_quantity": line.approved_quantity,
                "rejection_reason": line.rejection_reason,
            }
            for line in lines
        ],
        "created_at": wire_time(order.created_at),
        "updated_at": wire_time(order.updated_at),
    }


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
