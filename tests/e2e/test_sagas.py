"""Commands that cross services, with the callee paused (SIGSTOP) past the timeout or a process
killed (SIGKILL) between steps: money moves exactly once, nothing is stranded, and a retry with
the same Idempotency-Key answers what was made.

These run on a product of their own with short timeouts (RPC_TIMEOUT 4 s, so services wait
2 s for each other), a reconciler every second, and eventlet's hub-blocking detection off:
its real-time itimer keeps counting while a process is stopped and would fire on SIGCONT.
"""

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common import testing
from tests.e2e.conftest import Api

RPC_TIMEOUT = 4.0
LEASE_SECONDS = 2 * RPC_TIMEOUT + 5  # gateway/app.py: a lease outlives one RPC call


@pytest.fixture(scope="module")
def outages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    tmp: Path = tmp_path_factory.mktemp("outages")
    try:
        with testing.running_product(tmp, RPC_TIMEOUT=str(RPC_TIMEOUT), RECONCILE_INTERVAL="1",
                                     HUB_BLOCKING_DETECTION="0") as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def paused(outages: testing.Product) -> Iterator[list[str]]:
    """Names appended here are paused by the test; whatever is still paused at the end is
    resumed, so one test's outage never leaks into the next."""
    names: list[str] = []
    yield names
    for name in names:
        process = outages.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
    outages.wait_healthy(timeout=60)


def pause(product: testing.Product, paused: list[str], name: str) -> None:
    product.kill(name, signal.SIGSTOP)
    paused.append(name)


def resume(product: testing.Product, name: str) -> None:
    product.kill(name, signal.SIGCONT)


def funded_customer(product: testing.Product, amount: str = "100.00") -> Api:
    customer, operator = Api(product.url, product.mail), Api(product.url)
    customer.register()
    operator.login("operator@example.com", "operator-password")
    operator.top_up(customer.get("/account").json()["id"], amount)
    return customer


def balance(customer: Api) -> str:
    return str(customer.get("/account").json()["cash_balance"]["amount"])


def wait_status(customer: Api, order_id: str, status: str, timeout: float = 30) -> dict:
    def reached() -> dict | None:
        order = customer.get(f"/orders/{order_id}").json()
        return order if order.get("status") == status else None

    return testing.wait_for(reached, timeout, 0.3, f"order {order_id} never became {status}")


ORDER = {"lines": [{"sku": "VM-S-1M", "quantity": 1}]}


def test_billing_paused_past_the_timeout_charges_once_and_the_retry_answers_that_order(
    outages, paused
):
    customer = funded_customer(outages)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    pause(outages, paused, "billing")

    first = customer.post("/orders", ORDER, headers=key)
    assert first.status_code == 202, first.text  # placed; its payment is not settled yet
    assert first.json()["status"] == "awaiting_payment"
    again = customer.post("/orders", ORDER, headers=key)
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]

    resume(outages, "billing")
    wait_status(customer, first.json()["id"], "completed")
    settled = customer.post("/orders", ORDER, headers=key)
    assert settled.status_code == 201, settled.text
    assert settled.json()["id"] == first.json()["id"]
    assert settled.json()["status"] == "completed"
    assert [o["id"] for o in customer.items("/orders")] == [first.json()["id"]]
    assert balance(customer) == "75.00"  # one charge, however many times it was asked for


def test_orders_killed_between_the_charge_and_paid_completes_the_order_after_restart(
    outages, paused
):
    customer = funded_customer(outages)
    pause(outages, paused, "billing")
    placed = customer.post("/orders", ORDER, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["id"]

    outages.kill("orders", signal.SIGKILL)  # it never hears how the charge ended
    resume(outages, "billing")  # billing charges the queued request and announces it
    testing.wait_for(lambda: balance(customer) == "75.00", 30, 0.3, "billing never charged")
    outages.start("orders")
    outages.wait_healthy("orders")

    order = wait_status(customer, order_id, "completed")
    assert order["paid_cash"]["amount"] == "25.00"
    assert balance(customer) == "75.00"
    customer.wait_invoiceable(order_id)


def test_a_refused_payment_is_final_even_after_a_top_up(outages, paused):
    customer = funded_customer(outages, "10.00")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    refused = customer.post("/orders", ORDER, headers=key)
    assert refused.status_code == 402
    operator = Api(outages.url)
    operator.login("operator@example.com", "operator-password")
    operator.top_up(customer.get("/account").json()["id"], "100.00")
    time.sleep(2.5)  # the reconciler passes; a cancelled order is not asked about again
    [order] = customer.items("/orders")
    assert order["status"] == "cancelled"
    assert balance(customer) == "110.00"
    assert customer.post("/orders", ORDER, headers=key).status_code == 402


def test_an_application_sent_while_invoicing_is_paused_is_answered_on_retry(outages, paused):
    customer = funded_customer(outages)
    customer.complete_profile()
    order = customer.order()
    customer.wait_invoiceable(order["id"])
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"order_ids": [order["id"]]}
    pause(outages, paused, "invoicing")

    timed_out = customer.post("/invoice-applications", body, headers=key)
    assert timed_out.status_code == 504, timed_out.text
    resume(outages, "invoicing")  # the queued application is made now

    retried = customer.post("/invoice-applications", body, headers=key)
    assert retried.status_code == 201, retried.text
    [application] = customer.items("/invoice-applications")
    assert retried.json()["id"] == application["id"]
    assert application["order_ids"] == [order["id"]]
    confirmed = customer.post(f"/invoice-applications/{application['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["invoice_id"]


def test_a_key_left_in_progress_by_a_killed_gateway_is_taken_over_after_its_lease(
    outages, paused
):
    customer = funded_customer(outages)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    pause(outages, paused, "orders")
    sent = threading.Thread(target=lambda: _post_ignoring_failure(customer, key), daemon=True)
    sent.start()
    time.sleep(1.0)  # the request holds the key and waits for orders
    outages.kill("gateway", signal.SIGKILL)
    sent.join(10)
    outages.start("gateway")
    testing.wait_for(lambda: _answers(outages.url), 30, 0.3, "the gateway did not come back")
    resume(outages, "orders")

    leased = customer.post("/orders", ORDER, headers=key)
    assert leased.status_code == 409, leased.text
    assert leased.json()["error"]["code"] == "idempotency_request_in_progress"
    time.sleep(LEASE_SECONDS)
    taken_over = customer.post("/orders", ORDER, headers=key)
    assert taken_over.status_code == 201, taken_over.text
    assert [o["id"] for o in customer.items("/orders")] == [taken_over.json()["id"]]
    assert balance(customer) == "75.00"
    replayed = customer.post("/orders", ORDER, headers=key)
    assert replayed.headers.get("Idempotent-Replayed") == "true"


def _post_ignoring_failure(customer: Api, key: dict) -> None:
    try:
        customer.post("/orders", ORDER, headers=key)
    except httpx.HTTPError:
        pass  # the gateway was killed under it


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/openapi.json", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_expiry_billing_does_not_answer_leaves_the_order_waiting_until_it_does(outages, paused):
    from datetime import timedelta

    from services.common.contracts import utcnow

    customer = Api(outages.url, outages.mail)
    customer.register()
    placed = customer.post("/orders", {**ORDER, "payment_method": "card"},
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.text
    later = (utcnow() + timedelta(days=15)).isoformat()
    pause(outages, paused, "billing")

    outages.rpc("orders", "run_timers_at", later)  # billing's answer never comes in time
    assert customer.get(f"/orders/{placed.json()['id']}").json()["status"] == "awaiting_payment"

    resume(outages, "billing")  # it takes the expiry it was sent; the next pass hears the answer
    outages.wait_healthy("billing", timeout=30)
    outages.rpc("orders", "run_timers_at", later)
    expired = wait_status(customer, placed.json()["id"], "cancelled")
    assert expired["payment_refusal"]["code"] == "payment_expired"
    refused = httpx.post(placed.json()["pay_url"], json={"card_number": "4242424242424242",
                                                         "expiry": "12/30", "cvc": "123"})
    assert refused.status_code == 409
    assert balance(customer) == "0.00"
