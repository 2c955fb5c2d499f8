"""The two wallets through billing's entrypoints: vouchers are redeemed once per account into
the voucher wallet; an order is paid by balance, voucher or both (the voucher wallet first);
a refund returns each part to the wallet it came from and never more than was paid; the ledger
lists every wallet movement with the balance after it."""

import uuid
from datetime import date, timedelta

import pytest
from service_fakes import Service

from services.billing.service import BillingService
from services.common.errors import (
    InsufficientFunds,
    RefundExceedsPayment,
    VoucherCodeTaken,
    VoucherExpired,
    VoucherInvalid,
    VoucherUsed,
)

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture
def billing(service_database, outbox, settings) -> Service:
    return Service(BillingService, service_database("billing"), outbox=outbox, settings=settings)


def account(billing, email: str | None = None) -> str:
    return billing.register_account({
        "email": email or f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-password",
        "company_name": "Wallet AB", "country": "SE"})["account_id"]


def top_up(billing, account_id: str, amount: str) -> None:
    billing.credit_balance({"account_id": account_id, "amount": amount, "currency": "EUR",
                            "reference": "wire", "idempotency_key": uuid.uuid4().hex})


def voucher(billing, amount: str = "30.00", **extra) -> str:
    return billing.create_voucher({"amount": amount, "currency": "EUR", "expires_on": TOMORROW,
                                   "created_by": "u-op", **extra})["code"]


def charge(billing, account_id: str, amount: str, method: str, order_id: str | None = None) -> dict:
    return billing.charge_order({"account_id": account_id, "order_id": order_id or str(uuid.uuid4()),
                                 "amount": amount, "currency": "EUR", "payment_method": method})


def wallets(billing, account_id: str) -> tuple[str, str]:
    shown = billing.get_account(account_id)
    return shown["cash_balance"]["amount"], shown["voucher_balance"]["amount"]


# -- vouchers -------------------------------------------------------------------------------------


def test_a_redeemed_voucher_fills_the_voucher_wallet_not_the_cash_one(billing, outbox):
    account_id = account(billing)
    code = voucher(billing, "30.00")

    entry = billing.redeem_voucher(account_id, code.lower())

    assert wallets(billing, account_id) == ("0.00", "30.00")
    assert (entry["kind"], entry["voucher"]["amount"], entry["cash"]["amount"]) == (
        "voucher_redeemed", "30.00", "0.00")
    assert outbox.of_type("voucher_redeemed")[0].code == code


def test_a_voucher_is_redeemed_once_per_account(billing):
    account_id = account(billing)
    code = voucher(billing, uses=5)
    billing.redeem_voucher(account_id, code)
    with pytest.raises(VoucherUsed):
        billing.redeem_voucher(account_id, code)
    assert wallets(billing, account_id) == ("0.00", "30.00")


def test_a_voucher_is_used_up_after_its_uses(billing):
    code = voucher(billing, uses=2)
    billing.redeem_voucher(account(billing), code)
    billing.redeem_voucher(account(billing), code)
    with pytest.raises(VoucherUsed):
        billing.redeem_voucher(account(billing), code)


def test_an_expired_voucher_is_refused(billing, service_database):
    code = voucher(billing, expires_on=date.today().isoformat())
    from sqlalchemy import update

    from services.billing.models import Voucher
    with service_database("billing").session() as session:
        session.execute(update(Voucher).values(expires_on=date.today() - timedelta(days=1)))
        session.commit()
    with pytest.raises(VoucherExpired):
        billing.redeem_voucher(account(billing), code)


def test_another_accounts_voucher_is_invalid_like_an_unknown_code(billing):
    owner, other = account(billing), account(billing)
    code = voucher(billing, account_id=owner)
    with pytest.raises(VoucherInvalid) as theirs:
        billing.redeem_voucher(other, code)
    with pytest.raises(VoucherInvalid) as unknown:
        billing.redeem_voucher(other, "NO-SUCH-CODE")
    assert theirs.value.message == unknown.value.message
    billing.redeem_voucher(owner, code)


def test_a_voucher_code_is_unique_and_generated_codes_differ(billing):
    voucher(billing, code="SPRING-2026")
    with pytest.raises(VoucherCodeTaken):
        voucher(billing, code="SPRING-2026")
    assert voucher(billing) != voucher(billing)


# -- paying by wallet -------------------------------------------------------------------------------


def test_balance_plus_voucher_spends_the_voucher_wallet_first(billing):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))

    paid = charge(billing, account_id, "50.00", "balance+voucher")

    assert (paid["voucher"]["amount"], paid["cash"]["amount"]) == ("-30.00", "-20.00")
    assert wallets(billing, account_id) == ("80.00", "0.00")


def test_a_voucher_payment_needs_the_whole_amount_in_the_voucher_wallet(billing):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))

    with pytest.raises(InsufficientFunds) as refused:
        charge(billing, account_id, "50.00", "voucher")

    assert refused.value.details["wallet"] == "voucher"
    assert wallets(billing, account_id) == ("100.00", "30.00")
    assert charge(billing, account_id, "30.00", "voucher")["voucher"]["amount"] == "-30.00"


def test_a_balance_payment_never_touches_the_voucher_wallet(billing):
    account_id = account(billing)
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))
    with pytest.raises(InsufficientFunds) as refused:
        charge(billing, account_id, "10.00", "balance")
    assert refused.value.details["wallet"] == "cash"


# -- refunds ------------------------------------------------------------------------------------


def test_a_refund_returns_each_part_to_the_wallet_it_came_from(billing, outbox):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))
    order_id = str(uuid.uuid4())
    charge(billing, account_id, "50.00", "balance+voucher", order_id)

    refund = {"refund_id": "r-1", "account_id": account_id, "order_id": order_id,
              "cash": "20.00", "voucher": "30.00", "currency": "EUR"}
    first = billing.refund(refund)
    again = billing.refund(refund)

    assert again == first
    assert wallets(billing, account_id) == ("100.00", "30.00")
    assert (first["kind"], first["reference"]) == ("refund", order_id)
    assert len(outbox.of_type("refund_issued")) == 1


def test_voucher_money_is_never_refunded_as_cash(billing):
    account_id = account(billing)
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))
    order_id = str(uuid.uuid4())
    charge(billing, account_id, "30.00", "voucher", order_id)

    with pytest.raises(RefundExceedsPayment) as refused:
        billing.refund({"refund_id": "r-1", "account_id": account_id, "order_id": order_id,
                        "cash": "30.00", "voucher": "0.00", "currency": "EUR"})

    assert refused.value.details == {"wallet": "cash", "refundable": "0.00", "requested": "30.00",
                                     "currency": "EUR"}
    assert wallets(billing, account_id) == ("0.00", "0.00")


def test_refunds_of_an_order_never_exceed_what_it_paid(billing):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    order_id = str(uuid.uuid4())
    charge(billing, account_id, "40.00", "balance", order_id)
    base = {"account_id": account_id, "order_id": order_id, "voucher": "0.00", "currency": "EUR"}

    billing.refund({**base, "refund_id": "r-1", "cash": "25.00"})
    with pytest.raises(RefundExceedsPayment):
        billing.refund({**base, "refund_id": "r-2", "cash": "15.01"})
    billing.refund({**base, "refund_id": "r-3", "cash": "15.00"})

    assert wallets(billing, account_id) == ("100.00", "0.00")


# -- the ledger ---------------------------------------------------------------------------------


def test_the_ledger_lists_each_wallet_movement_newest_first_with_the_balance_after(billing):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))
    charge(billing, account_id, "50.00", "balance+voucher")

    lines = billing.ledger(account_id)["items"]

    assert [(line["kind"], line["wallet"], line["amount"]["amount"], line["balance_after"]["amount"])
            for line in lines] == [
        ("order_charge", "voucher", "-30.00", "0.00"),
        ("order_charge", "cash", "-20.00", "80.00"),
        ("voucher_redeemed", "voucher", "30.00", "30.00"),
        ("top_up", "cash", "100.00", "100.00"),
    ]


def test_the_ledger_filters_by_kind_and_wallet_and_pages(billing):
    account_id = account(billing)
    for _ in range(5):
        top_up(billing, account_id, "10.00")
    billing.redeem_voucher(account_id, voucher(billing, "30.00"))

    assert [line["kind"] for line in billing.ledger(account_id, kinds=["voucher_redeemed"])["items"]] == [
        "voucher_redeemed"]
    assert len(billing.ledger(account_id, wallet="cash")["items"]) == 5
    first = billing.ledger(account_id, 4)
    rest = billing.ledger(account_id, 4, first["next_cursor"])
    assert len(first["items"]) == 4 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert {line["id"] for line in first["items"]}.isdisjoint(line["id"] for line in rest["items"])


# -- card payments --------------------------------------------------------------------------------


def test_a_card_payment_is_credited_once_whatever_callbacks_follow(billing, outbox):
    account_id = account(billing)
    payment = billing.create_card_payment(account_id, "12.00", "EUR", "key-1")
    assert billing.create_card_payment(account_id, "12.00", "EUR", "key-1") == payment

    for status in ("succeeded", "succeeded", "pending", "declined"):
        shown = billing.settle_card_payment(payment["id"], status, "card_declined", "sim_1")

    assert shown["status"] == "succeeded"
    assert wallets(billing, account_id) == ("12.00", "0.00")
    assert len(outbox.of_type("payment_received")) == 1


def test_a_declined_card_payment_credits_nothing_and_a_later_success_is_ignored(billing):
    account_id = account(billing)
    payment = billing.create_card_payment(account_id, "12.00", "EUR")
    billing.settle_card_payment(payment["id"], "declined", "card_declined")
    assert billing.settle_card_payment(payment["id"], "succeeded")["status"] == "declined"
    assert wallets(billing, account_id) == ("0.00", "0.00")


def test_another_accounts_card_payment_is_not_found(billing):
    from services.common.errors import NotFound

    payment = billing.create_card_payment(account(billing), "12.00", "EUR")
    with pytest.raises(NotFound):
        billing.get_card_payment(account(billing), payment["id"])


def test_a_card_paying_an_order_charges_it_once_from_what_it_brought(billing, outbox):
    account_id = account(billing)
    order_id = str(uuid.uuid4())
    payment = billing.create_card_payment(account_id, "25.00", "EUR", f"order:{order_id}", None,
                                          order_id)
    for status in ("succeeded", "succeeded", "declined"):
        billing.settle_card_payment(payment["id"], status)

    (charged_event,) = outbox.of_type("order_charged")
    assert (charged_event.order_id, str(charged_event.entry.amount.amount)) == (order_id, "25.00")
    assert wallets(billing, account_id) == ("0.00", "0.00")
    again = charge(billing, account_id, "25.00", "balance", order_id)  # the same order's charge
    assert again["entry_id"] == charged_event.entry.entry_id


def test_a_declined_card_refuses_its_orders_charge(billing, outbox):
    from services.common.errors import CardDeclined

    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    order_id = str(uuid.uuid4())
    payment = billing.create_card_payment(account_id, "25.00", "EUR", None, None, order_id)
    billing.settle_card_payment(payment["id"], "declined", "card_declined")

    (refused,) = outbox.of_type("order_charge_refused")
    assert (refused.order_id, refused.error.code) == (order_id, "card_declined")
    with pytest.raises(CardDeclined):  # the order is never charged from the balance after it
        charge(billing, account_id, "25.00", "balance", order_id)
    assert wallets(billing, account_id) == ("100.00", "0.00")
