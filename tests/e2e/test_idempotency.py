"""POST requests that create things or move money accept an Idempotency-Key: a retry has the
effect of one request."""

import threading
import uuid


def test_a_retried_order_with_the_same_key_charges_once(customer, operator):
    account = customer.get("/account").json()
    operator.top_up(account["id"], "100.00")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"lines": [{"sku": "VM-S-1M", "quantity": 1}]}
    first = customer.post("/orders", body, headers=key)
    second = customer.post("/orders", body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(customer.items("/orders")) == 1
    assert customer.get("/account").json()["cash_balance"]["amount"] == "75.00"


def test_the_same_key_with_a_different_body_is_a_422(customer, operator):
    operator.top_up(customer.get("/account").json()["id"], "100.00")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    customer.post("/orders", {"lines": [{"sku": "VM-S-1M", "quantity": 1}]}, headers=key)
    other = customer.post("/orders", {"lines": [{"sku": "VM-S-1M", "quantity": 2}]}, headers=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_retried_top_up_credits_once(customer, operator):
    account_id = customer.get("/account").json()["id"]
    key = {"Idempotency-Key": "bank-statement-line-42"}
    body = {"amount": {"amount": "12.34", "currency": "EUR"}}
    answers = [operator.post(f"/admin/accounts/{account_id}/top-ups", body, headers=key)
               for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert customer.get("/account").json()["cash_balance"]["amount"] == "12.34"


def test_concurrent_retries_with_one_key_have_the_effect_of_one(customer, operator):
    account_id = customer.get("/account").json()["id"]
    operator.top_up(account_id, "100.00")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"lines": [{"sku": "BACKUP-100G-1M", "quantity": 1}]}
    statuses = []

    def send():
        statuses.append(customer.post("/orders", body, headers=key).status_code)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert len(customer.items("/orders")) == 1
    assert customer.get("/account").json()["cash_balance"]["amount"] == "93.75"


def test_a_refused_request_is_replayed_as_refused(customer):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"lines": [{"sku": "LIC-SCHED-1Y", "quantity": 1}]}
    first = customer.post("/orders", body, headers=key)
    second = customer.post("/orders", body, headers=key)
    assert first.status_code == second.status_code == 402
    assert first.json() == second.json()


def test_confirming_twice_issues_one_invoice(customer, operator):
    customer.complete_profile()
    operator.top_up(customer.get("/account").json()["id"], "25.00")
    order = customer.order()
    customer.wait_invoiceable(order["id"])
    application = customer.post("/invoice-applications", {"order_ids": [order["id"]]}).json()
    first = customer.post(f"/invoice-applications/{application['id']}/confirm")
    second = customer.post(f"/invoice-applications/{application['id']}/confirm")
    assert first.json()["invoice_id"] == second.json()["invoice_id"]
    assert len(customer.items("/invoices")) == 1
