"""An order's payment expiring, as billing decides it (``expire_order_payment``, asked by the
orders service when an order stayed unpaid too long): an order already charged or paid by its
payment invoice is not expired; otherwise nothing is ever charged for it afterwards — a retried
charge is refused with ``payment_expired``, its card payment is cancelled (and a card the
processor took anyway lands in the cash wallet), its payment invoice is voided (what was paid
on it becomes cash) or opened void if it arrives later.  Asking again answers the same."""

import uuid
from datetime import date, timedelta

import pytest
from service_fakes import Service
from test_billing_payables import account, cash, opened, statement, whole

from services.billing.service import BillingService
from services.common.contracts import MoneyOut, PaymentInvoiceOpened
from services.common.errors import PaymentExpired


@pytest.fixture
def database(service_database):
    return service_database("billing")


@pytest.fixture
def billing(database, outbox, settings) -> Service:
    return Service(BillingService, database, outbox=outbox, settings=settings)


def charge(billing, account_id: str, order_id: str, amount: str = "25.00") -> dict:
    return billing.charge_order({"account_id": account_id, "order_id": order_id, "amount": amount,
                                 "currency": "EUR", "payment_method": "balance"})


def card_for_order(billing, account_id: str, order_id: str, amount: str = "25.00") -> dict:
    return billing.create_card_payment(account_id, amount, "EUR", f"order:{order_id}", None,
                                       order_id)


def invoice_opened(billing, account_id: str, payment_invoice_id: str, total: str) -> None:
    billing.on_payment_invoice_opened(PaymentInvoiceOpened(
        payment_invoice_id=payment_invoice_id, account_id=account_id,
        number=f"PI-2026-{uuid.uuid4().int % 10**6:06d}", wire_reference="RF18539007547034",
        total=MoneyOut(amount=total, currency="EUR"), due_on=date.today() + timedelta(days=14),
        order_id=None).wire())


def test_an_expired_order_is_never_charged_afterwards(billing):
    account_id, order_id = account(billing), str(uuid.uuid4())
    billing.credit_balance({"account_id": account_id, "amount": "100.00", "currency": "EUR",
                            "reference": "wire", "idempotency_key": uuid.uuid4().hex})

    said = billing.expire_order_payment(account_id, order_id)
    assert (said["outcome"], said["error"]["code"]) == ("expired", "payment_expired")
    assert billing.expire_order_payment(account_id, order_id)["outcome"] == "expired"

    with pytest.raises(PaymentExpired):  # the orders service's reconciler retrying, too late
        charge(billing, account_id, order_id)
    assert cash(billing, account_id) == "100.00"


def test_an_order_charged_before_its_expiry_is_answered_as_charged(billing):
    account_id, order_id = account(billing), str(uuid.uuid4())
    billing.credit_balance({"account_id": account_id, "amount": "100.00", "currency": "EUR",
                            "reference": "wire", "idempotency_key": uuid.uuid4().hex})
    entry = charge(billing, account_id, order_id)

    said = billing.expire_order_payment(account_id, order_id)

    assert (said["outcome"], said["entry"]["entry_id"]) == ("charged", entry["entry_id"])
    assert cash(billing, account_id) == "75.00"


def test_an_orders_card_payment_is_cancelled_and_a_late_success_lands_in_cash(billing, outbox):
    account_id, order_id = account(billing), str(uuid.uuid4())
    payment = card_for_order(billing, account_id, order_id)

    assert billing.expire_order_payment(account_id, order_id)["outcome"] == "expired"
    assert billing.get_card_payment(account_id, payment["id"])["status"] == "cancelled"
    assert billing.settle_card_payment(payment["id"], "declined")["status"] == "cancelled"

    late = billing.settle_card_payment(payment["id"], "succeeded", None, "sim_late")
    assert late["status"] == "succeeded"
    assert billing.settle_card_payment(payment["id"], "succeeded")["status"] == "succeeded"
    assert outbox.of_type("order_charged") == []  # the card's money did not pay the order
    assert cash(billing, account_id) == "25.00"  # it is the customer's
    assert [evt.entry.amount.amount for evt in outbox.of_type("balance_credited")] == [25]


def test_a_card_that_succeeded_before_the_expiry_paid_the_order(billing):
    account_id, order_id = account(billing), str(uuid.uuid4())
    payment = card_for_order(billing, account_id, order_id)
    billing.settle_card_payment(payment["id"], "succeeded")

    assert billing.expire_order_payment(account_id, order_id)["outcome"] == "charged"
    assert cash(billing, account_id) == "0.00"


def test_a_declined_card_is_answered_as_refused(billing):
    account_id, order_id = account(billing), str(uuid.uuid4())
    payment = card_for_order(billing, account_id, order_id)
    billing.settle_card_payment(payment["id"], "declined", "card_declined")

    said = billing.expire_order_payment(account_id, order_id)
    assert (said["outcome"], said["error"]["code"]) == ("refused", "card_declined")


def test_an_expired_wire_orders_invoice_is_voided_and_what_was_paid_becomes_cash(billing, database):
    account_id = account(billing)
    paid, part_paid = opened(billing, account_id, "25.00"), opened(billing, account_id, "300.00")
    card = billing.create_card_payment(account_id, None, None, None, paid.payment_invoice_id)
    billing.settle_card_payment(card["id"], "succeeded")  # paid in full before the expiry
    billing.import_bank_statement(statement(  # 100.00 of the 300.00
        FULL_NUMBER="x", PARTIAL_REFERENCE=part_paid.wire_reference, OVER_NUMBER="x",
        ADVANCE_NUMBER="x"), "op")

    assert billing.expire_order_payment(account_id, str(uuid.uuid4()),
                                        paid.payment_invoice_id)["outcome"] == "paid"
    said = billing.expire_order_payment(account_id, str(uuid.uuid4()), part_paid.payment_invoice_id)

    assert said["outcome"] == "expired"
    assert billing.get_payable(part_paid.payment_invoice_id)["status"] == "void"
    assert billing.get_account(account_id)["open_invoices"]["amount"] == "0.00"
    assert cash(billing, account_id) == "100.00"
    assert whole(database) == []


def test_a_payment_invoice_announced_after_its_order_expired_opens_void(billing, database):
    account_id, order_id, invoice_id = account(billing), str(uuid.uuid4()), str(uuid.uuid4())
    assert billing.expire_order_payment(account_id, order_id, invoice_id)["outcome"] == "expired"

    invoice_opened(billing, account_id, invoice_id, "25.00")

    shown = billing.get_payable(invoice_id)
    assert (shown["status"], shown["remaining"]["amount"]) == ("void", "0.00")
    assert billing.get_account(account_id)["open_invoices"]["amount"] == "0.00"
    assert whole(database) == []


def test_a_wire_paid_orders_failed_part_is_refunded_to_cash_never_more_than_its_invoice_took(
        billing, database):
    from services.common.errors import RefundExceedsPayment

    account_id, order_id, invoice_id = account(billing), str(uuid.uuid4()), str(uuid.uuid4())
    billing.on_payment_invoice_opened(PaymentInvoiceOpened(
        payment_invoice_id=invoice_id, account_id=account_id, number="PI-2026-777001",
        wire_reference="RF5592026777001", total=MoneyOut(amount="50.00", currency="EUR"),
        due_on=date.today() + timedelta(days=14), order_id=order_id).wire())
    card = billing.create_card_payment(account_id, None, None, None, invoice_id)
    billing.settle_card_payment(card["id"], "succeeded")

    def refund(cash_amount: str, key: str) -> dict:
        return billing.refund({"refund_id": key, "account_id": account_id, "order_id": order_id,
                               "cash": cash_amount, "voucher": "0.00", "currency": "EUR"})

    refund("25.00", "order:x:cancel")
    assert cash(billing, account_id) == "25.00"
    with pytest.raises(RefundExceedsPayment):
        refund("25.01", "operator:more")
    assert whole(database) == []
