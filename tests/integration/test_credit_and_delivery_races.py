"""Credit notes and deliveries on PostgreSQL with two invoicing replicas: concurrent full
credits of one invoice make exactly one credit note; concurrent retries of a failed e-invoice
transmit it once; an operator's concurrent 'posted' clicks post a letter once."""

import json
import uuid

import eventlet
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.service import BillingService
from services.common import testing
from services.common.contracts import DocumentOut, DocumentReady
from services.common.db import make_engine
from services.invoicing.models import Delivery, Invoice, Transmission
from services.invoicing.service import InvoicingService
from tests.integration.test_invoicing import applying_account


def issued(rpc, config, channel: str | None = None) -> tuple[str, str]:
    """An account's one order invoiced (by ``channel``): the account's id and the invoice's."""
    # a valid Swedish organisation number: its e-invoice address is 0007:5560000001
    account_id, (order_id,) = applying_account(rpc, config, 1, organisation_number="5560000001")
    asked = {"order_ids": [order_id], **({"channel": channel} if channel else {})}
    application = rpc.invoicing.apply(account_id, asked)
    return account_id, rpc.invoicing.confirm(account_id, application["id"])["invoice_id"]


def count(url: str, query) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.scalar(query)
    engine.dispose()
    return int(found or 0)


def test_concurrent_full_credits_of_an_invoice_make_exactly_one_credit_note(
        run_services, rpc, rpc_factory, config, database_urls):
    run_services(BillingService, InvoicingService, InvoicingService)
    account_id, invoice_id = issued(rpc, config)

    notes = list(eventlet.GreenPool(20).imap(
        lambda _: rpc_factory().invoicing.credit_invoice(invoice_id, "wrong buyer")["id"], range(20)))

    assert len(set(notes)) == 1
    assert count(database_urls["invoicing"], select(func.count()).select_from(Invoice).where(
        Invoice.credited_invoice_id == invoice_id)) == 1
    assert rpc.invoicing.get_invoice(account_id, invoice_id)["status"] == "credited"


def test_concurrent_retries_of_a_failed_einvoice_transmit_it_once(
        run_services, rpc, rpc_factory, config, database_urls):
    run_services(BillingService, InvoicingService, InvoicingService)
    rpc.invoicing.set_access_point_simulator("reject")
    try:
        _, invoice_id = issued(rpc, config, channel="einvoice")

        def failed() -> dict | None:
            rows = rpc.invoicing.list_deliveries(invoice_id)["items"]
            return rows[0] if rows and rows[0]["status"] in ("failed", "held") else None

        delivery = testing.wait_for(failed, 30, 0.3, "the refused e-invoice never failed")
        # refused by the access point, not by the rules
        assert delivery["status"] == "failed", (delivery["rule_ids"], delivery["last_error"])
        rpc.invoicing.set_access_point_simulator("accept")
        answers = list(eventlet.GreenPool(20).imap(
            lambda _: rpc_factory().invoicing.retry_delivery(delivery["id"])["status"], range(20)))
    finally:
        rpc.invoicing.set_access_point_simulator("accept")

    assert set(answers) <= {"transmitted", "pending"}  # pending: under way in another worker
    testing.wait_for(lambda: rpc.invoicing.get_delivery(delivery["id"])["status"] == "transmitted",
                     30, 0.3, "the retried e-invoice was never transmitted")
    eventlet.sleep(3)  # past a sweep of each replica: nothing is sent again
    sent = count(database_urls["invoicing"], select(func.count()).select_from(Transmission).where(
        Transmission.delivery_id == delivery["id"]))
    assert sent == 1
    assert rpc.invoicing.get_delivery(delivery["id"])["status"] == "transmitted"


def test_concurrent_posted_clicks_post_a_letter_once(run_services, rpc, rpc_factory, config,
                                                     database_urls):
    run_services(BillingService, InvoicingService, InvoicingService)
    account_id, invoice_id = issued(rpc, config, channel="letter")
    event_dispatcher(config)("documents", "document_ready", DocumentReady(
        account_id=account_id, document=DocumentOut(
            id=str(uuid.uuid4()), kind="invoice", reference=invoice_id, status="ready",
            content_type="application/pdf", filename="x.pdf", size=1, sha256=None)).wire())
    letter = testing.wait_for(lambda: next(iter(rpc.invoicing.list_deliveries(
        invoice_id, "queued_for_print")["items"]), None), 30, 0.3, "the letter was never queued")

    answers = list(eventlet.GreenPool(20).imap(
        lambda _: rpc_factory().invoicing.mark_posted(letter["id"])["status"], range(20)))

    assert set(answers) == {"posted"}
    engine = make_engine(database_urls["invoicing"])
    with Session(engine) as session:
        history = json.loads(session.get(Delivery, letter["id"]).attempts_json)
    engine.dispose()
    assert [step["outcome"] for step in history].count("posted") == 1


def test_concurrent_refunds_of_an_order_never_give_back_more_than_it_paid(
        run_services, rpc, rpc_factory, database_urls):
    """Twenty operators' refunds of one unit each, at once, on two orders replicas, against
    billing: at most the order's three units are refunded, billing moved exactly what the
    order's lines say, and each refund that went through was announced once."""
    from services.common.errors import BusinessError
    from services.orders.models import OutboxMessage
    from services.orders.service import OrdersService

    run_services(OrdersService, OrdersService, BillingService)
    account = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw",
        "country": "SE", "company_name": "Refunds AB"})["account_id"]
    rpc.billing.credit_balance({"account_id": account, "amount": "100.00", "currency": "EUR",
                                "reference": "bank line", "idempotency_key": uuid.uuid4().hex})
    sku = f"REFUND-{uuid.uuid4().hex[:8].upper()}"
    rpc.orders.create_product({"sku": sku, "name": "Refund VM", "kind": "service",
                               "price": {"amount": "8.00", "currency": "EUR"}, "vat_rate": "25"})
    order = rpc.orders.place_order(account, {"lines": [{"sku": sku, "quantity": 3}]},
                                   uuid.uuid4().hex)
    assert order["status"] == "completed" and order["total"]["amount"] == "30.00"

    def refund(_: int) -> str:
        try:
            rpc_factory().orders.refund_units(order["id"], {"lines": [{"line_no": 1, "quantity": 1}],
                                                            "reason": "race"}, uuid.uuid4().hex)
            return "refunded"
        except BusinessError as refused:
            return refused.code

    outcomes = list(eventlet.GreenPool(20).imap(refund, range(20)))

    shown = rpc.orders.get_order(account, order["id"])["lines"][0]
    assert 1 <= outcomes.count("refunded") == shown["returned_quantity"] <= 3
    assert set(outcomes) <= {"refunded", "conflict", "invalid_request"}
    cash = rpc.billing.get_account(account)["cash_balance"]["amount"]
    assert cash == f"{70 + 10 * shown['returned_quantity']:.2f}" == (
        f"{70 + float(shown['refunded_cash']['amount']):.2f}")
    announced = count(database_urls["orders"], select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.event_type == "order_refunded"))
    assert announced == shown["returned_quantity"]
