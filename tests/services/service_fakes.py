"""Fakes of the providers the service tests replace: the outbox and the billing RPC proxy, and
billing's answers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nameko.testing.services import worker_factory
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.common.contracts import (
    AccountOut,
    Address,
    BillingInfo,
    ChargeOrder,
    Company,
    Event,
    LedgerEntryOut,
    MailingInfo,
    MoneyOut,
    ProfileChanged,
    Standing,
    utcnow,
)

# -- fakes of the providers -------------------------------------------------------------------


class FakeOutbox:
    """``OutboxWriter`` without the table: ``events`` holds what committed sessions staged."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._staged: dict[Session, list[Event]] = defaultdict(list)
        self._hooked: set[int] = set()

    def add(self, session: Session, evt: Event) -> None:
        if id(session) not in self._hooked:
            self._hooked.add(id(session))
            event.listen(session, "after_commit", self._committed)
            event.listen(session, "after_rollback", self._rolled_back)
        self._staged[session].append(evt)

    def _committed(self, session: Session) -> None:
        self.events.extend(self._staged.pop(session, []))

    def _rolled_back(self, session: Session) -> None:
        self._staged.pop(session, None)

    def of_type(self, event_type: str) -> list[Event]:
        return [evt for evt in self.events if evt.type == event_type]

    def types(self) -> list[str]:
        return [evt.type for evt in self.events]


Answer = Any  # a value, a callable of the call's arguments, or an exception instance


class FakeBilling:
    """What ``self.billing`` is to orders and invoicing: each call takes the next queued answer
    of its method (or the method's standing answer); an unexpected call fails the test."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._queued: dict[str, list[Answer]] = defaultdict(list)
        self._standing: dict[str, Answer] = {}

    def will(self, method: str, *answers: Answer) -> FakeBilling:
        self._queued[method].extend(answers)
        return self

    def always(self, method: str, answer: Answer) -> FakeBilling:
        self._standing[method] = answer
        return self

    def calls_of(self, method: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == method]

    def _answer(self, method: str, *args: Any) -> Any:
        self.calls.append((method, args))
        if self._queued[method]:
            answer = self._queued[method].pop(0)
        elif method in self._standing:
            answer = self._standing[method]
        else:
            raise AssertionError(f"billing.{method}{args!r} was not expected by the test")
        if isinstance(answer, BaseException):
            raise answer
        return answer(*args) if callable(answer) else answer

    def charge_order(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._answer("charge_order", data)

    def get_account(self, account_id: str) -> dict[str, Any]:
        return self._answer("get_account", account_id)

    def refund(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._answer("refund", data)

    def create_card_payment(self, *args: Any) -> dict[str, Any]:
        return self._answer("create_card_payment", *args)

    def expire_order_payment(self, *args: Any) -> dict[str, Any]:
        return self._answer("expire_order_payment", *args)

    def account_for_invoicing(self, account_id: str) -> dict[str, Any]:
        return self._answer("account_for_invoicing", account_id)


def charged(data: dict[str, Any]) -> dict[str, Any]:
    """Billing's answer to a charge it made: the ledger entry."""
    request = ChargeOrder.model_validate(data)
    return LedgerEntryOut(
        entry_id=str(uuid.uuid4()),
        account_id=request.account_id,
        kind="order_charge",
        amount=MoneyOut(amount=request.amount, currency=request.currency),
        reference=f"order {request.order_id}",
        balance=MoneyOut(amount="100.00", currency=request.currency),
        created_at=utcnow(),
    ).wire()


def complete_profile(account_id: str, version: int = 1, *, billing_info: bool = True,
                     mailing_info: bool = True) -> ProfileChanged:
    """Billing's word on an account whose profile is complete (or lacks a part)."""
    address = Address(street="Kungsgatan 2", postal_code="111 43", city="Stockholm", country="SE")
    return ProfileChanged(
        account_id=account_id,
        company=Company(legal_name="Buyer AB", organisation_number="556000-0001", country="SE",
                        vat_number="SE556000000101", address=address),
        billing_info=BillingInfo(legal_name="Buyer AB", tax_id="SE556000000101",
                                 address=address) if billing_info else None,
        mailing_info=MailingInfo(recipient="Ekonomi", phone="+46 8 123 456", address=address,
                                 email="ekonomi@buyer.example") if mailing_info else None,
        delivery_channel="email_pdf", einvoice_capable=False, notifications_enabled=True,
        language="sv", profile_version=version)


def standing(account_id: str, version: int = 1, in_arrears: bool = False) -> Standing:
    zero = MoneyOut(amount="0.00", currency="EUR")
    owed = MoneyOut(amount="10.00" if in_arrears else "0.00", currency="EUR")
    return Standing(account_id=account_id, cash_balance=zero, voucher_balance=zero,
                    credit_limit=zero, overdue_invoices=owed, in_arrears=in_arrears,
                    arrears_amount=owed, version=version)


def invoicing_account(account_id: str, **parts: bool) -> dict[str, Any]:
    """Billing's answer to ``account_for_invoicing``: a complete profile, not in arrears."""
    return {"profile": complete_profile(account_id, **parts).wire(),
            "standing": standing(account_id).wire()}


def account_answer(account_id: str) -> dict[str, Any]:
    """Billing's answer to ``get_account``."""
    return AccountOut(
        id=account_id,
        company_name="Buyer AB",
        email="buyer@example.com",
        organisation_number="556000-0001",
        billing_address="Kungsgatan 2, Stockholm",
        currency="EUR",
        cash_balance=MoneyOut(amount="0.00", currency="EUR"),
        created_at=utcnow(),
    ).wire()


# -- calling a service ------------------------------------------------------------------------


class Service:
    """Calls a service's methods as nameko would: a fresh worker per call, from
    ``worker_factory``, whose database is closed when the call ends."""

    def __init__(self, service_cls: type, database: Any, **dependencies: Any) -> None:
        self.service_cls = service_cls
        self.database = database
        self.dependencies = dependencies

    def worker(self) -> Any:
        return worker_factory(self.service_cls, db=self.database.worker(), **self.dependencies)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            worker = self.worker()
            try:
                return getattr(worker, method)(*args, **kwargs)
            finally:
                worker.db.close()

        return call
