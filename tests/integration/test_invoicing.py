"""Invoicing on PostgreSQL and RabbitMQ: gap-free numbers under concurrent issuing, idempotent
consumption of order events, the outbox surviving a crash between commit and publish, and
dead-lettering of messages that cannot be applied."""

import json
import uuid
from datetime import UTC, datetime

import eventlet
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.service import BillingService
from services.common import testing
from services.common.contracts import MoneyOut, OrderImplemented, OrderLineOut, OrderOut
from services.common.db import make_engine
from services.common.profile_testing import BILLING, MAILING
from services.invoicing import chain, repository
from services.invoicing.models import InvoiceableOrder, InvoiceCounter, ProcessedEvent
from services.invoicing.service import InvoicingService
from services.orders.models import OutboxMessage
from services.orders.service import OrdersService

ORDER_QUEUE = "evt-orders-order_implemented--invoicing.on_order_implemented"


def implemented_order(account_id: str, amount: str = "12.50") -> OrderImplemented:
    money, zero = MoneyOut(amount=amount, currency="EUR"), MoneyOut(amount="0", currency="EUR")
    line = OrderLineOut(line_no=1, sku="VM-S-1M", name="Cloud VM", quantity=1, unit_price=money,
                        vat_rate="0.00", vat_category="Z", net=money, vat=zero, gross=money,
                        paid_cash=money, implementation="succeeded")
    now = datetime.now(UTC)
    order = OrderOut(id=str(uuid.uuid4()), account_id=account_id, status="completed",
                     net=money, vat=zero, total=money, paid_cash=money,
                     po_number=None, lines=[line], created_at=now, updated_at=now)
    return OrderImplemented(order=order)


def invoiceable_count(url: str, account_id: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(InvoiceableOrder)
                               .where(InvoiceableOrder.account_id == account_id))
    engine.dispose()
    return int(count or 0)


def applying_account(rpc, config, orders: int, **company: str) -> tuple[str, list[str]]:
    """An account that may apply for invoices, with ``orders`` implemented orders invoicing
    has learnt of; its id and the orders'."""
    account_id = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw",
        "country": "SE", "company_name": "Numbers AB", **company})["account_id"]
    rpc.billing.set_billing_info(account_id, BILLING)
    rpc.billing.set_mailing_info(account_id, MAILING)
    dispatch = event_dispatcher(config)
    events = [implemented_order(account_id) for _ in range(orders)]
    for evt in events:
        dispatch("orders", "order_implemented", evt.wire())
    testing.wait_for(lambda: len(rpc.invoicing.invoiceable(account_id, 100)["items"]) == orders, 30)
    return account_id, [evt.order.id for evt in events]


def test_fifty_concurrent_confirmations_get_consecutive_numbers_without_gaps(
    run_services, rpc, rpc_factory, config, monkeypatch, database_urls
):
    series = f"T{uuid.uuid4().hex[:6].upper()}"
    monkeypatch.setenv("INVOICE_SERIES", series)
    run_services(BillingService, InvoicingService, InvoicingService)
    account_id, order_ids = applying_account(rpc, config, 50)
    applications = [rpc.invoicing.apply(account_id, {"order_ids": [order_id]})["id"]
                    for order_id in order_ids]

    def confirm(app_id: str) -> str:
        proxy = rpc_factory()
        invoice_id = proxy.invoicing.confirm(account_id, app_id)["invoice_id"]
        return str(proxy.invoicing.get_invoice(account_id, invoice_id)["number"])

    numbers = list(eventlet.GreenPool(50).imap(confirm, applications))

    year = datetime.now(UTC).year
    assert sorted(numbers) == [f"{series}-{year}-{n:06d}" for n in range(1, 51)]
    engine = make_engine(database_urls["invoicing"])  # each sealed after the one before it
    with Session(engine) as session:
        assert [link for link in chain.verify(session) if link.number.startswith(series)] == []
    engine.dispose()


def test_fifty_concurrent_identical_applications_make_exactly_one(run_services, rpc, rpc_factory,
                                                                  config):
    from services.common.errors import OrderAlreadyInvoiced

    run_services(BillingService, InvoicingService, InvoicingService)
    account_id, order_ids = applying_account(rpc, config, 3)

    def attempt(_: int) -> str:
        try:
            return str(rpc_factory().invoicing.apply(account_id, {"order_ids": order_ids},
                                                     uuid.uuid4().hex)["id"])
        except OrderAlreadyInvoiced:
            return "refused"

    outcomes = list(eventlet.GreenPool(50).imap(attempt, range(50)))

    made = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(made) == 1 and outcomes.count("refused") == 49
    assert [a["id"] for a in rpc.invoicing.list_applications(account_id)["items"]] == made


def test_a_rolled_back_issue_gives_its_number_back(database_urls):
    engine = make_engine(database_urls["invoicing"])
    series = f"R{uuid.uuid4().hex[:6].upper()}"
    with Session(engine) as session:
        assert repository.next_invoice_sequence(session, series, 2026) == 1
        session.rollback()
    with Session(engine) as session:
        assert repository.next_invoice_sequence(session, series, 2026) == 1
        session.commit()
    with Session(engine) as session:
        assert repository.next_invoice_sequence(session, series, 2026) == 2
        counter = session.get(InvoiceCounter, (series, 2026))
        assert counter is not None and counter.last_number == 2
        session.commit()
    engine.dispose()


def test_a_redelivered_order_event_has_no_second_effect(run_services, config, database_urls):
    run_services(InvoicingService)
    account_id = str(uuid.uuid4())
    evt = implemented_order(account_id)
    dispatch = event_dispatcher(config)
    for _ in range(3):
        dispatch("orders", "order_implemented", evt.wire())
    testing.wait_for(lambda: invoiceable_count(database_urls["invoicing"], account_id) == 1, 20)
    eventlet.sleep(1)
    assert invoiceable_count(database_urls["invoicing"], account_id) == 1
    engine = make_engine(database_urls["invoicing"])
    with Session(engine) as session:
        assert session.get(ProcessedEvent, ("order_implemented", evt.event_id)) is not None
    engine.dispose()


def test_an_event_committed_but_never_published_is_relayed_when_the_service_runs(
    run_services, database_urls
):
    # A crash right after commit leaves the event in the outbox, unpublished.
    account_id = str(uuid.uuid4())
    evt = implemented_order(account_id)
    engine = make_engine(database_urls["orders"])
    with Session(engine) as session:
        session.add(OutboxMessage(event_id=evt.event_id, source=evt.source, event_type=evt.type,
                                  payload=json.dumps(evt.wire()), created_at=datetime.now(UTC)))
        session.commit()

    run_services(InvoicingService)  # the consumer's queue exists before the relay runs
    run_services(OrdersService)
    testing.wait_for(lambda: invoiceable_count(database_urls["invoicing"], account_id) == 1, 20,
                     message="the outbox relay never published the committed event")
    with Session(engine) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.event_id == evt.event_id)).one()
        assert row.published_at is not None
    engine.dispose()


def test_an_event_that_cannot_be_applied_is_dead_lettered_not_dropped(run_services, config, amqp_uri):
    run_services(InvoicingService)
    event_dispatcher(config)("orders", "order_implemented", {"not": "an order event"})
    vhost = amqp_uri.rsplit("/", 1)[1]
    testing.wait_for(
        lambda: testing.queue_stats(vhost, f"{ORDER_QUEUE}.dead").get("messages") == 1, 20,
        message="the bad message never reached the dead-letter queue")
    assert testing.queue_stats(vhost, ORDER_QUEUE).get("messages") == 0
