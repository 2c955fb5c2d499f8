"""Invoice applications under the cloud-console rules (seed 002), through the invoicing
service: the account must have its billing and mailing information and be out of arrears — as
billing's events say, the newest version of each winning — checked when it applies and again
when it confirms; the preview shows who and where the invoice goes; a confirmed application is
submitted and issued, or reviewed by an operator (approved, or rejected with a reason); the
customer may withdraw it until it is issued; a withdrawn or rejected one frees its orders."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from service_fakes import Service, complete_profile, invoicing_account, standing

from services.common.config import Settings
from services.common.contracts import ArrearsChanged, MoneyOut, OrderImplemented, OrderLineOut, OrderOut
from services.common.errors import (
    AccountInArrears,
    ApplicationNotPending,
    BillingInfoMissing,
    MailingInfoMissing,
    OrderAlreadyInvoiced,
)
from services.invoicing.service import InvoicingService

ACCOUNT = str(uuid.uuid4())


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", rpc_timeout=4.0, inner_rpc_timeout=2.0,
                    invoicing_review="above:40")


@pytest.fixture
def invoicing(service_database, billing, outbox, settings) -> Service:
    billing.always("account_for_invoicing", invoicing_account)
    return Service(InvoicingService, service_database("invoicing"), billing=billing,
                   outbox=outbox, settings=settings)


def order(invoicing, gross: str = "25.00") -> str:
    money = MoneyOut(amount=gross, currency="EUR")
    net = MoneyOut(amount=Decimal(gross) / Decimal("1.25"), currency="EUR")
    vat = MoneyOut(amount=Decimal(gross) - net.amount, currency="EUR")
    now = datetime.now(UTC)
    line = OrderLineOut(line_no=1, sku="VM-S-1M", name="Cloud VM", quantity=1, unit_price=net,
                        vat_rate="25.00", net=net, vat=vat, gross=money, paid_cash=money,
                        implementation="succeeded")
    evt = OrderImplemented(order=OrderOut(
        id=str(uuid.uuid4()), account_id=ACCOUNT, status="completed", net=net, vat=vat,
        total=money, paid_cash=money, po_number="PO-7", lines=[line], created_at=now,
        updated_at=now))
    invoicing.on_order_implemented(evt.wire())
    return evt.order.id


def test_an_account_without_billing_or_mailing_information_cannot_apply(invoicing, billing):
    billing.always("account_for_invoicing", lambda account_id: invoicing_account(
        account_id, billing_info=False))
    with pytest.raises(BillingInfoMissing):
        invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing)]})

    invoicing.on_profile_changed(complete_profile(ACCOUNT, 2, mailing_info=False).wire())
    with pytest.raises(MailingInfoMissing):
        invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing)]})

    invoicing.on_profile_changed(complete_profile(ACCOUNT, 4).wire())
    invoicing.on_profile_changed(complete_profile(ACCOUNT, 3, billing_info=False).wire())  # late
    assert invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing)]})["status"] == (
        "awaiting_confirmation")
    # billing was asked while the account would be refused (its events might lag), not after
    assert len(billing.calls_of("account_for_invoicing")) == 2


def test_arrears_block_applying_and_confirming_until_billing_says_they_are_paid(invoicing):
    orders = [order(invoicing), order(invoicing)]
    application = invoicing.apply(ACCOUNT, {"order_ids": orders[:1]})

    invoicing.on_arrears_changed(ArrearsChanged(standing=standing(ACCOUNT, 5, True)).wire())
    with pytest.raises(AccountInArrears):
        invoicing.apply(ACCOUNT, {"order_ids": orders[1:]})
    with pytest.raises(AccountInArrears):
        invoicing.confirm(ACCOUNT, application["id"])
    assert invoicing.get_application(ACCOUNT, application["id"])["status"] == "awaiting_confirmation"

    invoicing.on_arrears_changed(ArrearsChanged(standing=standing(ACCOUNT, 6, False)).wire())
    invoicing.on_arrears_changed(ArrearsChanged(standing=standing(ACCOUNT, 5, True)).wire())  # late
    assert invoicing.confirm(ACCOUNT, application["id"])["status"] == "issued"
    assert invoicing.apply(ACCOUNT, {"order_ids": orders[1:]})["status"] == "awaiting_confirmation"


def test_the_preview_shows_who_the_invoice_is_for_where_it_goes_and_its_lines(invoicing):
    default = invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing)]})
    assert (default["billing_info"]["legal_name"], default["mailing_info"]["email"]) == (
        "Buyer AB", "ekonomi@buyer.example")
    assert default["channel"] == "email_pdf"
    assert [(line["description"], line["gross"]["amount"]) for line in default["lines"]] == [
        ("Cloud VM", "25.00")]

    by_letter = invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing)], "channel": "letter"})
    assert by_letter["channel"] == "letter"
    assert invoicing.get_application(ACCOUNT, by_letter["id"])["lines"] == by_letter["lines"]


def test_an_application_above_the_review_threshold_waits_for_an_operator(invoicing, outbox):
    small = invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing, "25.00")]})
    large = invoicing.apply(ACCOUNT, {"order_ids": [order(invoicing, "50.00")]})

    assert invoicing.confirm(ACCOUNT, small["id"])["status"] == "issued"
    submitted = invoicing.confirm(ACCOUNT, large["id"])
    assert (submitted["status"], submitted["invoice_id"]) == ("submitted", None)
    assert invoicing.confirm(ACCOUNT, large["id"]) == submitted  # again: the same
    queue = invoicing.list_all_applications("submitted")["items"]
    assert [a["id"] for a in queue] == [large["id"]]

    approved = invoicing.approve(large["id"])
    assert approved["status"] == "issued" and approved["invoice_id"] is not None
    assert invoicing.approve(large["id"]) == approved
    assert len(outbox.of_type("invoice_issued")) == 2


def test_a_rejected_application_says_why_and_frees_its_orders(invoicing):
    order_id = order(invoicing, "60.00")
    application = invoicing.apply(ACCOUNT, {"order_ids": [order_id]})
    invoicing.confirm(ACCOUNT, application["id"])

    rejected = invoicing.reject(application["id"], "the PO number is not ours")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "the PO number is not ours")
    with pytest.raises(ApplicationNotPending):
        invoicing.approve(application["id"])
    (row,) = [r for r in invoicing.invoiceable(ACCOUNT)["items"] if r["order_id"] == order_id]
    assert row["invoiceable"] is True
    assert invoicing.apply(ACCOUNT, {"order_ids": [order_id]})["status"] == "awaiting_confirmation"


def test_the_customer_withdraws_an_application_until_it_is_issued(invoicing):
    order_id = order(invoicing, "60.00")
    first = invoicing.apply(ACCOUNT, {"order_ids": [order_id]})
    with pytest.raises(OrderAlreadyInvoiced):
        invoicing.apply(ACCOUNT, {"order_ids": [order_id]})

    withdrawn = invoicing.withdraw(ACCOUNT, first["id"])
    assert withdrawn["status"] == "withdrawn"
    assert invoicing.withdraw(ACCOUNT, first["id"]) == withdrawn
    with pytest.raises(ApplicationNotPending):
        invoicing.confirm(ACCOUNT, first["id"])

    second = invoicing.apply(ACCOUNT, {"order_ids": [order_id]})
    invoicing.confirm(ACCOUNT, second["id"])  # submitted, for review
    assert invoicing.withdraw(ACCOUNT, second["id"])["status"] == "withdrawn"
    third = invoicing.apply(ACCOUNT, {"order_ids": [order_id]})
    invoicing.confirm(ACCOUNT, third["id"])
    invoicing.approve(third["id"])
    with pytest.raises(ApplicationNotPending):
        invoicing.withdraw(ACCOUNT, third["id"])
