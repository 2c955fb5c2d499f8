"""The billing service: accounts, credentials and the ledger, over RPC."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from eventlet import tpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import domain, repository
from services.billing.models import Account, JournalEntry, OutboxMessage, User
from services.common.config import Settings
from services.common.contracts import (
    AccountOut,
    BalanceCredited,
    ChargeOrder,
    CreditBalance,
    Event,
    LedgerEntryOut,
    MoneyOut,
    OrderCharged,
    PrincipalOut,
    RegisterAccount,
    parse,
)
from services.common.db import Database, make_engine
from services.common.errors import (
    CurrencyNotSupported,
    EmailAlreadyRegistered,
    InvalidCredentials,
    PaymentConflict,
)
from services.common.messaging import Outbox, rpc
from services.common.money import CURRENCIES, Money
from services.common.service import Pingable

log = logging.getLogger(__name__)


class BillingService(Pingable):
    name = "billing"

    db = Database("billing")
    outbox = Outbox("billing", OutboxMessage)

    @rpc
    def register_account(self, data: dict[str, Any]) -> dict[str, Any]:
        request = parse(RegisterAccount, data)
        email = domain.normalise_email(request.email)
        domain.check_new_password(request.password)
        if request.currency not in CURRENCIES:
            raise CurrencyNotSupported(f"{request.currency} is not supported")
        password_hash = tpool.execute(domain.hash_password, request.password)
        try:
            with self.db.transaction() as session:
                if repository.user_by_email(session, email) is not None:
                    raise EmailAlreadyRegistered()
                account = Account(
                    id=str(uuid.uuid4()),
                    company_name=request.company_name.strip(),
                    email=email,
                    organisation_number=request.organisation_number,
                    billing_address=request.billing_address,
                    currency=request.currency,
                )
                user = User(
                    id=str(uuid.uuid4()),
                    account_id=account.id,
                    email=email,
                    password_hash=password_hash,
                    role="customer",
                )
                session.add_all([account, user])
        except IntegrityError:  # a concurrent registration of the same address won
            raise EmailAlreadyRegistered() from None
        return {
            "account": self._account_out(account).wire(),
            "principal": self._principal(user).wire(),
        }

    @rpc
    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        user = repository.user_by_email(self.db.session, email.strip().lower())
        stored = user.password_hash if user else domain.hash_password("timing-equaliser")
        if not tpool.execute(domain.password_matches, password, stored) or user is None:
            raise InvalidCredentials()
        return self._principal(user).wire()

    @rpc
    def get_account(self, account_id: str) -> dict[str, Any]:
        return self._account_out(repository.account(self.db.session, account_id)).wire()

    @rpc
    def credit_balance(self, data: dict[str, Any]) -> dict[str, Any]:
        """An operator credits money received into the customer's cash balance."""
        request = parse(CreditBalance, data)
        return self._move_money(
            request.account_id,
            Money(request.amount, request.currency),
            kind="top_up",
            key=f"top-up:{request.idempotency_key}",
            reference=request.reference,
            legs=lambda session, account, amount: domain.top_up(account.id, amount),
            announce=lambda entry: BalanceCredited(entry=entry),
        )

    @rpc
    def charge_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pay an order from the cash balance; charging the same order again returns the
        first charge."""
        request = parse(ChargeOrder, data)
        return self._move_money(
            request.account_id,
            Money(request.amount, request.currency),
            kind="order_charge",
            key=f"order:{request.order_id}:charge",
            reference=f"order {request.order_id}",
            legs=lambda session, account, amount: domain.pay_from_cash(
                account.id, amount, repository.cash_balance(session, account.id, account.currency)
            ),
            announce=lambda entry: OrderCharged(entry=entry, order_id=request.order_id),
        )

    def _move_money(
        self,
        account_id: str,
        amount: Money,
        *,
        kind: str,
        key: str,
        reference: str,
        legs: Callable[[Session, Account, Money], list[domain.Leg]],
        announce: Callable[[LedgerEntryOut], Event],
    ) -> dict[str, Any]:
        """Record one journal entry, at most once per ``key``.  The account row is locked first,
        so concurrent movements of one account queue: a balance check cannot be raced."""
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            existing = repository.entry_by_key(session, key)
            if existing is not None:
                return self._replay(session, existing, account_id, amount, kind)
            if amount.currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            entry = repository.record_entry(
                session,
                account_id=account.id,
                kind=kind,
                reference=reference,
                idempotency_key=key,
                amount=amount,
                legs=legs(session, account, amount),
            )
            out = self._entry_out(session, entry)
            self.outbox.add(session, announce(out))
        return out.wire()

    # -- helpers ---------------------------------------------------------------------------

    def _replay(
        self, session: Session, entry: JournalEntry, account_id: str, amount: Money, kind: str
    ) -> dict[str, Any]:
        if (
            entry.account_id != account_id
            or entry.kind != kind
            or Money.from_minor(entry.amount_minor, entry.currency) != amount
        ):
            raise PaymentConflict()
        return self._entry_out(session, entry).wire()

    def _entry_out(self, session: Session, entry: JournalEntry) -> LedgerEntryOut:
        return LedgerEntryOut(
            entry_id=entry.id,
            account_id=entry.account_id,
            kind=entry.kind,
            amount=MoneyOut.of(Money.from_minor(entry.amount_minor, entry.currency)),
            reference=entry.reference,
            balance=MoneyOut.of(repository.cash_balance(session, entry.account_id, entry.currency)),
            created_at=entry.created_at,
        )

    def _account_out(self, account: Account) -> AccountOut:
        balance = repository.cash_balance(self.db.session, account.id, account.currency)
        return AccountOut(
            id=account.id,
            company_name=account.company_name,
            email=account.email,
            organisation_number=account.organisation_number,
            billing_address=account.billing_address,
            currency=account.currency,
            cash_balance=MoneyOut.of(balance),
            created_at=account.created_at,
        )

    @staticmethod
    def _principal(user: User) -> PrincipalOut:
        return PrincipalOut(
            user_id=user.id, account_id=user.account_id, email=user.email, role=user.role
        )


def on_start(settings: Settings) -> None:
    """Create the bootstrap operator named in the settings, once."""
    if not (settings.bootstrap_operator_email and settings.bootstrap_operator_password):
        return
    email = domain.normalise_email(settings.bootstrap_operator_email)
    engine = make_engine(settings.database_url("billing"))
    try:
        with Session(engine) as session:
            if repository.user_by_email(session, email) is None:
                session.add(
                    User(
                        id=str(uuid.uuid4()),
                        account_id=None,
                        email=email,
                        password_hash=domain.hash_password(settings.bootstrap_operator_password),
                        role="operator",
                    )
                )
                session.commit()
                log.info("created operator %s", email)
    except IntegrityError:  # another replica created it at the same moment
        pass
    finally:
        engine.dispose()


SERVICE = BillingService
