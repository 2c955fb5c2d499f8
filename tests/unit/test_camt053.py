"""Reading camt.053 statements (the samples in tests/data): booked credits only, each batch
transaction on its own, the bank's reference as the key, both remittance forms; a file that is
not a statement is refused with the reason; and finding payment references in remittance
text."""

from pathlib import Path
from string import Template

import pytest

from services.billing import camt
from services.billing.wires import references_in

DATA = Path(__file__).resolve().parent.parent / "data"
IBAN = "SE4550000000058398257466"


def sample(name: str, **values: str) -> bytes:
    defaults = {"STATEMENT": "S1", "IBAN": IBAN, "FREE_TEXT_REFERENCE": "RF18539007547034",
                "STRUCTURED_REFERENCE": "RF71254"}
    return Template((DATA / name).read_text()).substitute({**defaults, **values}).encode()


def test_a_v02_statement_gives_its_booked_credits_and_nothing_else():
    statement = camt.parse(sample("camt053_v02_sample.xml"))
    assert (statement.version, statement.account_iban, statement.message_id) == ("001.02", IBAN, "STMT-S1")
    assert [(c.dedupe_key, str(c.amount)) for c in statement.credits] == [
        ("S1-A1", "120.00"), ("S1-A2", "35.50"), ("S1-A3", "99.00"), ("S1-A6-1", "10.00"),
        ("S1-A6-2", "20.00")]
    first = statement.credits[0]
    assert (first.currency, first.debtor_name, first.debtor_iban) == (
        "EUR", "Ada AB", "SE3550000000054910000003")
    assert first.remittance == "Top-up RF18539007547034 thank you"
    assert statement.credits[1].creditor_reference == "RF71254"


def test_a_v08_statement_reads_the_status_code_and_the_party_name():
    (credit,) = camt.parse(sample("camt053_v08_sample.xml")).credits
    assert (credit.dedupe_key, str(credit.amount), credit.debtor_name) == ("S1-B1", "42.00", "Ada AB")


@pytest.mark.parametrize("content, reason", [
    (b"not xml", "well-formed"),
    (b"<Document xmlns='urn:other'/>", "camt.053"),
    (b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
     b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'>&e;</Document>", ""),
])
def test_what_is_not_a_statement_is_refused(content, reason):
    with pytest.raises(camt.StatementUnreadable) as refused:
        camt.parse(content)
    assert reason in str(refused.value)


def test_an_amount_that_is_not_cents_is_refused():
    broken = sample("camt053_v08_sample.xml").replace(b">42.00<", b">42.001<")
    with pytest.raises(camt.StatementUnreadable):
        camt.parse(broken)


@pytest.mark.parametrize("structured, text, expected", [
    (None, "Top-up RF18539007547034 thank you", "RF18539007547034"),
    (None, "pay rf18 5390 0754 7034, invoice 12", "RF18539007547034"),
    ("RF18539007547034", "", "RF18539007547034"),
])
def test_a_payment_reference_is_found_however_it_is_written(structured, text, expected):
    assert expected in references_in(structured, text)


def test_a_mistyped_reference_is_no_reference():
    assert references_in(None, "RF18539007547035") == []
