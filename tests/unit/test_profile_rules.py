"""Profile rules: when billing and mailing information are complete, which participant id an
organisation number gives on the e-invoice network, and the account's RF payment reference."""

import pytest

from services.billing.profile import (
    billing_info_complete,
    mailing_info_complete,
    missing_billing_info,
    missing_mailing_info,
    one_line,
    participant_id,
    rf_reference,
    rf_valid,
)

ADDRESS = {"street": "Storgatan 1", "postal_code": "111 22", "city": "Stockholm", "country": "SE"}
BILLING = {"legal_name": "Ada AB", "tax_id": "SE556677889901", "address": ADDRESS}
MAILING = {"recipient": "Ada Lovelace", "phone": "+46 8 123 456", "address": ADDRESS,
           "email": "invoices@ada.example"}


def test_billing_information_with_name_tax_id_and_full_address_is_complete():
    assert billing_info_complete(BILLING)
    assert missing_billing_info(BILLING) == []


@pytest.mark.parametrize("gap, missing", [
    ({"legal_name": " "}, ["legal_name"]),
    ({"tax_id": ""}, ["tax_id"]),
    ({"address": {**ADDRESS, "city": ""}}, ["address"]),
    ({"address": None}, ["address"]),
])
def test_billing_information_with_a_gap_is_incomplete_and_says_where(gap, missing):
    info = {**BILLING, **gap}
    assert not billing_info_complete(info)
    assert missing_billing_info(info) == missing


def test_no_billing_information_misses_everything():
    assert not billing_info_complete(None)
    assert missing_billing_info(None) == ["legal_name", "tax_id", "address"]


def test_mailing_information_needs_recipient_phone_address_and_email():
    assert mailing_info_complete(MAILING)
    assert not mailing_info_complete({**MAILING, "phone": ""})
    assert missing_mailing_info({**MAILING, "email": None}) == ["email"]


@pytest.mark.parametrize("country, number, expected", [
    ("SE", "556677-8899", "0007:5566778899"),
    ("NO", "923 609 016", "0192:923609016"),
    ("DK", "12345678", "0184:12345678"),
    ("FI", "1234567-8", "0216:12345678"),
    ("DE", "4012345678901", "0088:4012345678901"),
])
def test_an_organisation_number_gives_its_countrys_participant_id(country, number, expected):
    assert participant_id(country, number) == expected


@pytest.mark.parametrize("country, number", [
    ("SE", "55667788"), ("SE", "556677-88AB"), ("DE", "12345"), ("SE", None), (None, "5566778899"),
])
def test_a_number_of_the_wrong_shape_has_no_participant_id(country, number):
    assert participant_id(country, number) is None


def test_the_rf_reference_carries_valid_check_digits():
    reference = rf_reference(100_042)
    assert reference.startswith("RF") and reference.endswith("100042")
    assert rf_valid(reference)
    assert rf_valid("RF18 5390 0754 7034")  # ISO 11649's own example


@pytest.mark.parametrize("typo", [
    "RF18539007547035", "RF81539007547034", "RF1853900754703", "XX18539007547034",
])
def test_a_mistyped_rf_reference_is_detected(typo):
    assert not rf_valid(typo)


def test_an_address_prints_on_one_line():
    assert one_line(ADDRESS) == "Storgatan 1, 111 22 Stockholm, SE"
