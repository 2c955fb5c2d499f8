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
from services.billing.models import Account, Command, JournalEntry, OutboxMessage, User
from services.common import commands
from services.common.config import Settings
from services.common.contracts import (
    AccountOut,
    BalanceCredited,
    ChargeOrder,
    CreditBalance,
    ErrorOut,
    Event,
    LedgerEntryOut,
    MoneyOut,
    OrderCharged,
    OrderChargeRefused,
    PrincipalOut,
    RegisterAccount,
    parse,
)
from services.common.db import Database, make_engine
from services.common.errors import (
    BusinessError,
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
    def register_account(self, data: dict[str, Any], request_key: str | None = None) -> dict[str, Any]:
        """Open a customer account with its first user.  A repeated ``request_key`` answers
        with the first result (a client retrying after a timeout gets its account)."""
        request = parse(RegisterAccount, data)
        email = domain.normalise_email(request.email)
        domain.check_new_password(request.password)
        if request.currency not in CURRENCIES:
            raise CurrencyNotSupported(f"{request.currency} is not supported")
        key = f"register:{request_key}" if request_key else None
        if key and (prior := commands.replay(self.db.session, Command, "register", key)):
            return prior
        self.db.session.rollback()
        password_hash = tpool.execute(domain.hash_password, request.password)
        try:
            with self.db.transaction() as session:
                if key and (prior := commands.replay(session, Command, "register", key)):
                    return prior
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
                session.flush()
                result = {
                    "account": self._account_out(account).wire(),
                    "principal": self._principal(user).wire(),
                }
                if key:
                    commands.remember(session, Command, "register", key, result)
        except IntegrityError:  # a concurrent registration of the same address (or key) won
            if key and (prior := commands.replay(self.db.session, Command, "register", key)):
                return prior
            raise EmailAlreadyRegistered() from None
        return result

    @rpc
    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        """Check a password.  An unknown address costs one hash like a known one (in a thread,
        never on the hub), so neither the hub nor the timing tells whether it exists."""
        user = repository.user_by_email(self.db.session, email.strip().lower())
        self.db.session.rollback()
        stored = user.password_hash if user else domain.UNMATCHABLE_HASH
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
        """Pay an order from the cash balance.  The order id is the request key: charging the
        same order again answers with the first outcome, a refusal included, and a refusal is
        announced (``order_charge_refused``) as a charge is (``order_charged``)."""
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
            announce_refusal=lambda error: OrderChargeRefused(
                order_id=request.order_id, account_id=request.account_id,
                error=ErrorOut(code=error.code, message=error.message, details=error.details),
            ),
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
        announce_refusal: Callable[[BusinessError], Event] | None = None,
    ) -> dict[str, Any]:
        """Record one journal entry, at most once per ``key``; a repeat answers with the first
        outcome.  The account row is locked first, so concurrent movements of one account
        queue: a balance check cannot be raced, and neither can a repeat."""
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            prior = commands.replay(session, Command, kind, key)
            if prior is not None:
                return self._check_same(prior, account_id, amount)
            try:
                if amount.currency != account.currency:
                    raise CurrencyNotSupported(
                        f"the account keeps its balance in {account.currency}"
                    )
                entry_legs = legs(session, account, amount)
            except BusinessError as refusal:
                commands.remember_refusal(session, Command, kind, key, refusal)
                if announce_refusal is not None:
                    self.outbox.add(session, announce_refusal(refusal))
                session.commit()
                raise
            entry = repository.record_entry(
                session,
                account_id=account.id,
                kind=kind,
                reference=reference,
                idempotency_key=key,
                amount=amount,
                legs=entry_legs,
            )
            out = self._entry_out(session, entry).wire()
            commands.remember(session, Command, kind, key, out)
            self.outbox.add(session, announce(LedgerEntryOut.model_validate(out)))
        return out

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _check_same(first: dict[str, Any], account_id: str, amount: Money) -> dict[str, Any]:
        """A repeated key must name the same movement; anything else is a client's mistake."""
        if first["account_id"] != account_id or first["amount"] != MoneyOut.of(amount).wire():
            raise PaymentConflict()
        return first

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
