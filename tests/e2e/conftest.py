"""End-to-end tier: the four services and the gateway run as separate processes (as
``make run`` starts them) against the real RabbitMQ (a vhost of their own) and PostgreSQL
(databases of their own), and the tests speak HTTP to the gateway only.  Each service runs with
eventlet's hub-blocking detection on."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common import testing


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    tmp: Path = tmp_path_factory.mktemp("product")
    try:
        with testing.running_product(tmp, RPC_TIMEOUT="5") as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


PASSWORD = "correct-horse-battery"


class Api:
    """A thin HTTP client for the tests: JSON in, (status, JSON or bytes) out."""

    def __init__(self, base: str, mail: testing.MailSink | None = None) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=30)
        self.mail = mail
        self.token: str | None = None
        self.email: str | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def register(self, company: str = "Ada Cloud AB", language: str = "en") -> dict[str, Any]:
        """Sign up, open the verification link from the mail, and sign in."""
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        answer = self.post("/auth/register", {
            "email": email, "password": PASSWORD, "company_name": company, "country": "SE",
            "language": language, "billing_address": "Sveavägen 1, 111 57 Stockholm",
        })
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert self.mail is not None, "registering needs the product's mail sink"
        (mail,) = self.mail.wait_for_mail(email)
        verified = self.post("/auth/verify", {"token": testing.link_token(mail)})
        assert verified.status_code == 200, verified.text
        self.login(email, PASSWORD)
        self.email = email
        return {**body, "email": email}

    def complete_profile(self) -> None:
        """Give the billing and mailing information an invoice application needs."""
        from services.common.profile_testing import BILLING, MAILING

        for path, body in (("/account/billing-info", BILLING), ("/account/mailing-info", MAILING)):
            answer = self.http.put(path, json=body, headers=self.headers())
            assert answer.status_code == 200, answer.text

    def top_up(self, account_id: str, amount: str) -> dict[str, Any]:
        answer = self.post(f"/admin/accounts/{account_id}/top-ups",
                           {"amount": {"amount": amount, "currency": "EUR"}})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def items(self, path: str) -> list[dict[str, Any]]:
        answer = self.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def order(self, sku: str = "VM-S-1M", quantity: int = 1, **extra: Any) -> dict[str, Any]:
        answer = self.post("/orders", {"lines": [{"sku": sku, "quantity": quantity}], **extra})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def wait_invoiceable(self, order_id: str, timeout: float = 30) -> dict[str, Any]:
        def listed() -> dict[str, Any] | None:
            rows = self.items("/invoiceable-orders")
            return next((row for row in rows if row["order_id"] == order_id), None)

        return testing.wait_for(listed, timeout, message=f"order {order_id} never became invoiceable")

    def login(self, email: str, password: str) -> None:
        answer = self.post("/auth/login", {"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["token"]


@pytest.fixture
def customer(product: testing.Product) -> Api:
    api = Api(product.url, product.mail)
    api.register()
    return api


@pytest.fixture
def operator(product: testing.Product) -> Api:
    api = Api(product.url)
    api.login("operator@example.com", "operator-password")
    return api

