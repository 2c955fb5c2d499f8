"""Wire transfers through a camt.053 import (the samples in tests/data, with real payment
references put in): credits quoting an account's reference are credited to its cash wallet,
the others wait unmatched for an operator, who matches them by hand; a statement imported twice
credits nothing more; a statement of another account is refused."""

import uuid
from pathlib import Path
from string import Template

from tests.e2e.conftest import Api

DATA = Path(__file__).resolve().parent.parent / "data"
SELLER_IBAN = "SE4550000000058398257466"


def statement(name: str, **values: str) -> bytes:
    return Template((DATA / name).read_text()).substitute(values).encode()


def upload(operator: Api, content: bytes):
    return operator.http.post("/admin/bank-statements", headers=operator.headers(),
                              files={"file": ("statement.xml", content, "application/xml")})


def cash(customer: Api) -> str:
    return customer.get("/account").json()["cash_balance"]["amount"]


def test_a_statement_credits_what_quotes_a_reference_once_and_leaves_the_rest_for_an_operator(
    product, operator
):
    ada, babbage = Api(product.url, product.mail), Api(product.url, product.mail)
    ada.register("Ada AB")
    babbage.register("Babbage Ltd")
    instructions = ada.get("/account/wire-instructions").json()
    assert instructions["iban"] == SELLER_IBAN
    ada_ref = instructions["payment_reference"]
    babbage_ref = babbage.get("/account").json()["payment_reference"]
    statement_id = uuid.uuid4().hex[:10]
    content = statement("camt053_v02_sample.xml", STATEMENT=statement_id, IBAN=SELLER_IBAN,
                        FREE_TEXT_REFERENCE=ada_ref, STRUCTURED_REFERENCE=babbage_ref)

    first = upload(operator, content)
    again = upload(operator, content)

    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("matched", "unmatched", "duplicates")} == {
        "matched": 3, "unmatched": 2, "duplicates": 0}
    assert {k: again.json()[k] for k in ("matched", "unmatched", "duplicates")} == {
        "matched": 0, "unmatched": 0, "duplicates": 5}
    assert cash(ada) == "130.00"  # 120.00 in free text + 10.00 of the batch
    assert cash(babbage) == "35.50"  # the structured creditor reference
    assert [line["kind"] for line in ada.items("/account/ledger")] == ["wire_payment"] * 2

    mine = [t for t in operator.items("/admin/bank-transactions?status=unmatched")
            if t["bank_reference"].startswith(statement_id)]
    assert sorted(t["amount"]["amount"] for t in mine) == ["20.00", "99.00"]
    target = next(t for t in mine if t["amount"]["amount"] == "99.00")
    account_id = ada.get("/account").json()["id"]
    matched = operator.post(f"/admin/bank-transactions/{target['id']}/match", {"account_id": account_id})
    assert matched.status_code == 200, matched.text
    assert matched.json()["status"] == "matched"
    assert cash(ada) == "229.00"
    repeat = operator.post(f"/admin/bank-transactions/{target['id']}/match", {"account_id": account_id})
    assert repeat.status_code == 200 and cash(ada) == "229.00"
    other = operator.post(f"/admin/bank-transactions/{target['id']}/match",
                          {"account_id": babbage.get("/account").json()["id"]})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "bank_transaction_matched")


def test_a_v08_statement_is_read_too(product, operator, customer):
    reference = customer.get("/account").json()["payment_reference"]
    answer = upload(operator, statement("camt053_v08_sample.xml", STATEMENT=uuid.uuid4().hex[:10],
                                        IBAN=SELLER_IBAN, STRUCTURED_REFERENCE=reference))
    assert answer.json()["matched"] == 1
    assert cash(customer) == "42.00"


def test_a_statement_of_another_account_or_not_a_statement_is_422(product, operator):
    other = statement("camt053_v08_sample.xml", STATEMENT="X", IBAN="DE89370400440532013000",
                      STRUCTURED_REFERENCE="RF18539007547034")
    refused = upload(operator, other)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "statement_account_mismatch")
    garbage = upload(operator, b"%PDF-1.4 not a statement")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (422, "statement_unreadable")


def test_a_customer_cannot_import_statements(customer):
    answer = upload(customer, b"<x/>")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
