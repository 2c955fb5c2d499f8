"""At-least-once delivery on the real broker and PostgreSQL: every event type delivered twice at
once has its effect once and leaves the dead-letter queues empty; one order handled by several
deliveries at once completes once; transient failures are retried a bounded number of times
with the reason kept, and permanent ones are dead-lettered at once."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.service import BillingService
from services.common import testing
from services.common.contracts import (
    DocumentOut,
    DocumentReady,
    ErrorOut,
    Event,
    InvoiceIssued,
    LedgerEntryOut,
    MailRequested,
    MoneyOut,
    OrderCharged,
    OrderChargeRefused,
    PartySnapshot,
    PaymentInvoiceOverdue,
)
from services.common.db import make_engine
from services.common.errors import ServiceUnavailable
from services.common.messaging import handles
from services.documents import models as documents
from services.documents.service import DocumentsService
from services.invoicing import models as invoicing
from services.invoicing.service import InvoicingService
from services.orders import models as orders
from services.orders.service import OrdersService
from tests.integration.test_invoicing import implemented_order

HANDLER_QUEUES = [
    "evt-orders-order_implemented--invoicing.on_order_implemented",
    "evt-documents-document_ready--invoicing.on_document_ready",
    "evt-invoicing-invoice_issued--documents.on_invoice_issued",
    "evt-billing-order_charged--orders.on_order_charged",
    "evt-billing-order_charge_refused--orders.on_order_charge_refused",
    "evt-billing-mail_requested--documents.on_mail_requested",
    "evt-invoicing-payment_invoice_overdue--billing.on_payment_invoice_overdue",
]


def deliver_concurrently(config: dict[str, Any], *events: Event) -> None:
    dispatch = event_dispatcher(config)
    pool = eventlet.GreenPool(len(events))
    for evt in events:
        pool.spawn(dispatch, evt.source, evt.type, evt.wire())
    pool.waitall()


def count(url: str, query: Any) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def pending_order(url: str, account_id: str) -> str:
    """An order awaiting payment, as orders leaves it when it does not hear from billing."""
    order_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(orders.Order(
            id=order_id, account_id=account_id, request_key=order_id, status="awaiting_payment",
            currency="EUR", net_minor=2000, vat_minor=500, total_minor=2500, paid_cash_minor=0,
            po_number=None, created_at=now, updated_at=now,
            lines=[orders.OrderLine(line_no=1, sku="VM-S-1M", name="VM", quantity=1,
                                    unit_price_minor=2000, vat_rate_bp=2500, net_minor=2000,
                                    vat_minor=500, gross_minor=2500, implementation="pending")],
        ))
        session.commit()
    engine.dispose()
    return order_id


def charged(account_id: str, order_id: str) -> OrderCharged:
    money = MoneyOut(amount="25.00", currency="EUR")
    return OrderCharged(order_id=order_id, entry=LedgerEntryOut(
        entry_id=str(uuid.uuid4()), account_id=account_id, kind="order_charge", amount=money,
        reference=f"order {order_id}", balance=money, created_at=datetime.now(UTC)))


def issued_invoice(account_id: str) -> InvoiceIssued:
    money = MoneyOut(amount="25.00", currency="EUR")
    from services.common.contracts import InvoiceOut

    return InvoiceIssued(invoice=InvoiceOut(
        id=str(uuid.uuid4()), number=f"DUP-{uuid.uuid4().hex[:8]}", account_id=account_id,
        status="issued", net=money, vat=MoneyOut(amount="0", currency="EUR"), total=money,
        po_numbers=[], seller=PartySnapshot(name="Seller AB", address=None),
        buyer=PartySnapshot(name="Buyer AB", address=None), lines=[],
        issue_date=datetime.now(UTC).date().isoformat(), pdf_status="pending",
        issued_at=datetime.now(UTC)))


def queues_settled(vhost: str, queues: list[str] = HANDLER_QUEUES) -> bool:
    return all(testing.queue_stats(vhost, q).get("messages", 1) == 0 for q in queues)


def assert_nothing_dead_lettered(vhost: str) -> None:
    for queue in HANDLER_QUEUES:
        assert testing.queue_stats(vhost, f"{queue}.dead").get("messages") == 0, queue
        assert testing.queue_stats(vhost, f"{queue}.retry").get("messages") == 0, queue


def test_every_event_type_delivered_twice_at_once_has_its_effect_once(
    run_services, config, database_urls, amqp_uri, rpc
):
    run_services(OrdersService, InvoicingService, DocumentsService, BillingService)
    account_id = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw",
        "country": "SE", "company_name": "Twice AB"})["account_id"]
    paid, refused = (pending_order(database_urls["orders"], account_id) for _ in range(2))
    implemented = implemented_order(account_id)
    invoice = issued_invoice(account_id)
    ready = DocumentReady(account_id=account_id, document=DocumentOut(
        id=str(uuid.uuid4()), kind="invoice", reference=invoice.invoice.id, status="ready",
        content_type="application/pdf", filename="x.pdf", size=1, sha256=None))
    refusal = OrderChargeRefused(order_id=refused, account_id=account_id, error=ErrorOut(
        code="insufficient_funds", message="the cash balance does not cover it"))
    mail = MailRequested(mail_id=f"verify:{uuid.uuid4()}", to="dup@example.com",
                         template="verify_email",
                         context={"company_name": "Dup AB", "valid_hours": "24", "link": "http://x/v"})
    late = PaymentInvoiceOverdue(payment_invoice_id=str(uuid.uuid4()), account_id=account_id,
                                 amount_due=MoneyOut(amount="12.00", currency="EUR"))
    events: list[Event] = [implemented, invoice, ready, charged(account_id, paid), refusal, mail, late]

    deliver_concurrently(config, *events, *events)

    vhost = amqp_uri.rsplit("/", 1)[1]
    url = database_urls
    testing.wait_for(lambda: count(url["documents"], select(func.count()).select_from(
        documents.Document).where(documents.Document.reference == invoice.invoice.id)) == 1,
        60, 0.3, "the invoice was never rendered")
    testing.wait_for(lambda: queues_settled(vhost), 30, 0.3, "deliveries never settled")
    eventlet.sleep(1)
    assert count(url["invoicing"], select(func.count()).select_from(invoicing.InvoiceableOrder)
                 .where(invoicing.InvoiceableOrder.order_id == implemented.order.id)) == 1
    assert count(url["documents"], select(func.count()).select_from(documents.Document)
                 .where(documents.Document.reference == invoice.invoice.id)) == 1
    assert count(url["invoicing"], select(func.count()).select_from(invoicing.ProcessedEvent)
                 .where(invoicing.ProcessedEvent.event_id == ready.event_id)) == 1
    statuses = dict(_order_statuses(url["orders"], [paid, refused]))
    assert statuses == {paid: "completed", refused: "cancelled"}
    assert _implemented_events(url["orders"], paid) == 1
    assert count(url["documents"], select(func.count()).select_from(documents.Mail)
                 .where(documents.Mail.id == mail.mail_id)) == 1
    assert rpc.billing.get_standing(account_id)["arrears_amount"]["amount"] == "12.00"
    assert_nothing_dead_lettered(vhost)


def test_one_order_charged_by_several_deliveries_at_once_is_completed_once(
    run_services, config, database_urls, amqp_uri
):
    """A 504'd request, its retry, the reconciler and billing's event can all try to complete
    one order at the same moment; distinct events (not redeliveries) stand in for them."""
    run_services(OrdersService)
    account_id = str(uuid.uuid4())
    order_id = pending_order(database_urls["orders"], account_id)

    deliver_concurrently(config, *(charged(account_id, order_id) for _ in range(6)))

    vhost = amqp_uri.rsplit("/", 1)[1]
    testing.wait_for(lambda: dict(_order_statuses(database_urls["orders"], [order_id]))
                     .get(order_id) == "completed", 30, 0.3, "the order never completed")
    testing.wait_for(lambda: queues_settled(vhost, HANDLER_QUEUES[3:4]), 30, 0.3,
                     "deliveries never settled")
    assert _implemented_events(database_urls["orders"], order_id) == 1
    assert testing.queue_stats(vhost, f"{HANDLER_QUEUES[3]}.dead").get("messages") == 0


class Flaky:
    """A consumer whose failures the test chooses."""

    name = "flaky"

    @handles(OrderChargeRefused)
    def always_unavailable(self, payload: dict[str, Any]) -> None:
        raise ServiceUnavailable("billing is away")

    @handles(OrderCharged)
    def always_broken(self, payload: dict[str, Any]) -> None:
        raise ValueError("a bug, not an outage")


def dead_letters(vhost: str, queue: str) -> list[dict[str, Any]]:
    with testing._rabbit() as api:
        answer = api.post(f"/queues/{vhost}/{queue}.dead/get", json={
            "count": 10, "ackmode": "ack_requeue_true", "encoding": "auto"})
        answer.raise_for_status()
        return list(answer.json())


def test_a_transient_failure_is_retried_with_backoff_then_dead_lettered_with_the_reason(
    run_services, config, amqp_uri, monkeypatch
):
    monkeypatch.setenv("EVENT_RETRY_LIMIT", "3")
    monkeypatch.setenv("EVENT_RETRY_BACKOFF", "0.2")
    run_services(Flaky)
    queue = "evt-billing-order_charge_refused--flaky.always_unavailable"
    vhost = amqp_uri.rsplit("/", 1)[1]
    started = datetime.now(UTC)
    deliver_concurrently(config, OrderChargeRefused(
        order_id="o", account_id="a", error=ErrorOut(code="x", message="y")))

    testing.wait_for(lambda: testing.queue_stats(vhost, f"{queue}.dead").get("messages") == 1,
                     30, 0.2, "the message was never dead-lettered")
    waited = datetime.now(UTC) - started
    assert waited >= timedelta(seconds=0.2 + 0.4 + 0.8)  # three retries, doubling pauses
    [letter] = dead_letters(vhost, queue)
    headers = letter["properties"]["headers"]
    assert headers["x-retries"] == 3
    assert "retried too often" in headers["x-error"] and "billing is away" in headers["x-error"]
    assert json.loads(letter["payload"])["order_id"] == "o"
    assert testing.queue_stats(vhost, queue).get("messages") == 0


def test_a_permanent_failure_is_dead_lettered_at_once_without_retries(run_services, config, amqp_uri):
    run_services(Flaky)
    queue = "evt-billing-order_charged--flaky.always_broken"
    vhost = amqp_uri.rsplit("/", 1)[1]
    deliver_concurrently(config, charged("a", "o"))
    testing.wait_for(lambda: testing.queue_stats(vhost, f"{queue}.dead").get("messages") == 1,
                     20, 0.2, "the message was never dead-lettered")
    [letter] = dead_letters(vhost, queue)
    assert letter["properties"]["headers"]["x-retries"] == 0
    assert "a bug, not an outage" in letter["properties"]["headers"]["x-error"]


def _order_statuses(url: str, ids: list[str]) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(orders.Order.id, orders.Order.status)
                                   .where(orders.Order.id.in_(ids)))
            return [(row.id, row.status) for row in rows]
    finally:
        engine.dispose()


def _implemented_events(url: str, order_id: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            payloads = session.scalars(select(orders.OutboxMessage.payload)
                                       .where(orders.OutboxMessage.event_type == "order_implemented"))
            return sum(1 for p in payloads if json.loads(p)["order"]["id"] == order_id)
    finally:
        engine.dispose()
