"""The billing service: accounts, credentials and the ledger, over RPC."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from eventlet import tpool
from sqlalchemy.exc import IntegrityError

from services.billing import domain, repository
from services.billing.models import Account, JournalEntry, OutboxMessage, User
from services.common.config import Settings
from services.common.contracts import (
    AccountOut,
    BalanceCredited,
    ChargeOrder,
    CreditBalance,
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
        amount = Money(request.amount, request.currency)
        with self.db.transaction() as session:
            account = repository.account(session, request.account_id, lock=True)
            key = f"top-up:{request.idempotency_key}"
            existing = repository.entry_by_key(session, key)
            if existing is not None:
                return self._replay(session, existing, request.account_id, amount, "top_up")
            if amount.currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            entry = repository.record_entry(
                session,
                account_id=account.id,
                kind="top_up",
                reference=request.reference,
                idempotency_key=key,
                amount=amount,
                legs=domain.top_up(account.id, amount),
            )
            out = self._entry_out(session, entry)
            self.outbox.add(session, BalanceCredited(entry=out))
        return out.wire()

    @rpc
    def charge_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pay an order from the cash balance; charging the same order again returns the
        first charge."""
        request = parse(ChargeOrder, data)
        amount = Money(request.amount, request.currency)
        with self.db.transaction() as session:
            account = repository.account(session, request.account_id, lock=True)
            key = f"order:{request.order_id}:charge"
            existing = repository.entry_by_key(session, key)
            if existing is not None:
                return self._replay(session, existing, request.account_id, amount, "order_charge")
            if amount.currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            balance = repository.cash_balance(session, account.id, account.currency)
            entry = repository.record_entry(
                session,
                account_id=account.id,
                kind="order_charge",
                reference=f"order {request.order_id}",
                idempotency_key=key,
                amount=amount,
                legs=domain.pay_from_cash(account.id, amount, balance),
            )
            out = self._entry_out(session, entry)
            self.outbox.add(session, OrderCharged(entry=out, order_id=request.order_id))
        return out.wire()

    # -- helpers ---------------------------------------------------------------------------

    def _replay(
        self, session: Any, entry: JournalEntry, account_id: str, amount: Money, kind: str
    ) -> dict[str, Any]:
        if (
            entry.account_id != account_id
            or entry.kind != kind
            or Money.from_minor(entry.amount_minor, entry.currency) != amount
        ):
            raise PaymentConflict()
        return self._entry_out(session, entry).wire()

    def _entry_out(self, session: Any, entry: JournalEntry) -> LedgerEntryOut:
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
    from sqlalchemy.orm import Session

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
