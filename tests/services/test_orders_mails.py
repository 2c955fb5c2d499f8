"""Order mails through the orders service: they go where billing's events say (the mailing
information's e-mail once given; a late, older profile changes nothing), in the account's
language, once per order and kind; the notifications switch silences status mails only."""

import uuid

from service_fakes import charged

from services.common.contracts import (
    AccountRegistered,
    AccountSnapshot,
    Address,
    Company,
    MailingInfo,
    ProfileChanged,
)

ACCOUNT = str(uuid.uuid4())


def registered(email: str = "owner@example.com", language: str = "en") -> dict:
    return AccountRegistered(account=AccountSnapshot(
        account_id=ACCOUNT, company_name="Mail AB", email=email, country="SE",
        organisation_number=None, language=language), user_id="u1").wire()


def profile(version: int, email: str, language: str = "sv", notifications: bool = True) -> dict:
    return ProfileChanged(
        account_id=ACCOUNT, company=Company(legal_name="Mail AB", country="SE"), billing_info=None,
        mailing_info=MailingInfo(recipient="Ekonomi", phone="+46 8 123 456", email=email,
                                 address=Address(street="Gatan 1", postal_code="111 57",
                                                 city="Stockholm", country="SE")),
        delivery_channel="email_pdf", einvoice_capable=False, notifications_enabled=notifications,
        language=language, profile_version=version).wire()


def mails(outbox) -> list:
    return outbox.of_type("mail_requested")


def test_a_placed_order_is_mailed_once_to_the_mailing_address_in_the_accounts_language(
    orders, billing, outbox
):
    billing.always("charge_order", charged)
    orders.on_account_registered(registered())
    orders.on_profile_changed(profile(3, "ekonomi@example.com"))
    orders.on_profile_changed(profile(2, "old@example.com", language="ru"))  # late and older

    key = uuid.uuid4().hex
    for _ in range(2):
        orders.place_order(ACCOUNT, {"lines": [{"sku": "VM-S-1M", "quantity": 2}]}, key)

    (placed,) = mails(outbox)
    assert (placed.to, placed.language, placed.template) == ("ekonomi@example.com", "sv", "order_placed")
    assert "VM-S-1M" in placed.context["lines"] and placed.context["total"] == "50.00"


def test_notifications_off_silences_status_mails_but_not_licence_keys(orders, billing, outbox):
    billing.always("charge_order", charged)
    orders.on_account_registered(registered())
    orders.on_profile_changed(profile(1, "ekonomi@example.com", language="en", notifications=False))

    order = orders.place_order(ACCOUNT, {"lines": [{"sku": "LIC-SCHED-1Y", "quantity": 1}]},
                               uuid.uuid4().hex)

    (keys,) = mails(outbox)
    assert keys.template == "order_completed"
    assert order["lines"][0]["licence_key"] in keys.context["licence_keys"]


def test_an_account_the_orders_service_has_not_heard_of_gets_no_mail_and_no_error(orders, billing, outbox):
    billing.always("charge_order", charged)
    orders.place_order(str(uuid.uuid4()), {"lines": [{"sku": "VM-S-1M", "quantity": 1}]}, "k")
    assert mails(outbox) == []
