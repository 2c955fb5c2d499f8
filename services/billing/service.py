"""The billing service: accounts, credentials and the ledger, over RPC."""

from __future__ import annotations

import base64
import binascii
import csv
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from eventlet import tpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import (
    camt,
    credentials,
    domain,
    payment_orders,
    profile,
    repository,
    vouchers,
    wires,
)
from services.billing.models import (
    Account,
    BankStatement,
    BankTransaction,
    CardPayment,
    Command,
    EinvoiceParticipant,
    JournalEntry,
    OutboxMessage,
    OverdueInvoice,
    Payable,
    PaymentOrder,
    ProcessedEvent,
    Revocation,
    User,
    UserToken,
    Voucher,
    VoucherRedemption,
)
from services.common import commands, pages
from services.common.config import Settings
from services.common.contracts import (
    AccountOut,
    AccountRegistered,
    AccountSnapshot,
    Address,
    ArrearsChanged,
    BalanceCredited,
    BillingInfo,
    CardPaymentOut,
    ChargeOrder,
    Company,
    CreateVoucher,
    CreditBalance,
    EmailVerified,
    ErrorOut,
    Event,
    LedgerEntryOut,
    MailingInfo,
    MailRequested,
    MoneyOut,
    OrderCharged,
    OrderChargeRefused,
    PayableOut,
    PaymentInvoiceOpened,
    PaymentInvoiceOverdue,
    PaymentInvoiceSettled,
    PaymentInvoiceVoided,
    PaymentOrderUploaded,
    PaymentReceived,
    PrincipalOut,
    ProfileChanged,
    RefundIssued,
    RefundOrder,
    RegisterAccount,
    Registered,
    Revocations,
    Revoked,
    Standing,
    VoucherRedeemed,
    money_wire,
    parse,
    utcnow,
    wire_time,
)
from services.common.contracts import PaymentOrderDecided as PaymentOrderDecidedEvent
from services.common.db import Database, make_engine
from services.common.errors import (
    BankTransactionMatched,
    BusinessError,
    CardDeclined,
    CurrencyNotSupported,
    EinvoiceNotAvailable,
    EmailAlreadyRegistered,
    EmailNotVerified,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
    OwnerOnly,
    PaymentConflict,
    PaymentExpired,
    PaymentInvoiceNotOpen,
    PaymentOrderDecided,
    RefundExceedsPayment,
    StatementAccountMismatch,
    StatementUnreadable,
    TokenInvalid,
    TooManyAttempts,
    VoucherCodeTaken,
)
from services.common.messaging import Outbox, every, first_delivery, handles, rpc
from services.common.money import CURRENCIES, Money
from services.common.service import Pingable

log = logging.getLogger(__name__)

VERIFY = "verify_email"
RESET = "reset_password"
INVITE = "invite_member"
INVITE_TTL = timedelta(days=7)
MAILS_PER_HOUR = 5  # links of one kind mailed to one user: a form cannot be used to spam
REVOCATION_OVERLAP = timedelta(seconds=10)


class BillingService(Pingable):
    name = "billing"

    db = Database("billing")
    outbox = Outbox("billing", OutboxMessage)

    # -- identity -------------------------------------------------------------------------

    @rpc
    def register_account(self, data: dict[str, Any], request_key: str | None = None) -> dict[str, Any]:
        """Open a customer account with its owner, unverified, and mail the owner a link to
        verify the address.  A repeated ``request_key`` answers with the first result (a
        client retrying after a timeout gets its account, and no second mail)."""
        request = parse(RegisterAccount, data)
        email = domain.normalise_email(request.email)
        credentials.check_new_password(request.password, email)
        if request.currency not in CURRENCIES:
            raise CurrencyNotSupported(f"{request.currency} is not supported")
        key = f"register:{request_key}" if request_key else None
        if key and (prior := commands.replay(self.db.session, Command, "register", key)):
            return prior
        self.db.session.rollback()
        password_hash = tpool.execute(credentials.hash_password, request.password)
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
                    country=request.country,
                    language=request.language,
                    participant_id=profile.participant_id(request.country,
                                                          request.organisation_number),
                    payment_reference=profile.rf_reference(repository.next_reference(session)),
                )
                owner = User(id=str(uuid.uuid4()), account_id=account.id, email=email,
                             password_hash=password_hash, role="customer", account_role="owner")
                session.add_all([account, owner])
                session.flush()
                self._mail_verification_link(session, owner, account)
                self.outbox.add(session, AccountRegistered(
                    account=account_snapshot(account), user_id=owner.id))
                result = Registered(account_id=account.id, user_id=owner.id).wire()
                if key:
                    commands.remember(session, Command, "register", key, result)
        except IntegrityError:  # a concurrent registration of the same address (or key) won
            if key and (prior := commands.replay(self.db.session, Command, "register", key)):
                return prior
            raise EmailAlreadyRegistered() from None
        return result

    @rpc
    def verify_email(self, token: str) -> dict[str, Any]:
        """Use a verification link: the address is confirmed, and the link never works again."""
        with self.db.transaction() as session:
            found = repository.live_token(session, credentials.token_hash(token), VERIFY, lock=True)
            if found is None:
                raise TokenInvalid()
            found.used_at = utcnow()
            user = repository.user(session, found.user_id)
            if user.email_verified_at is None:
                user.email_verified_at = utcnow()
                self.outbox.add(session, EmailVerified(
                    account_id=user.account_id, user_id=user.id, email=user.email))
            return self._principal(user).wire()

    @rpc
    def send_verification_mail(self, email: str) -> None:
        """Mail a new verification link to an unverified address.  Answers the same whether
        or not the address exists, and sends at most ``MAILS_PER_HOUR`` links an hour."""
        with self.db.transaction() as session:
            user = repository.user_by_email(session, email.strip().lower())
            if user is None or user.email_verified_at is not None or user.account_id is None:
                return
            if self._mailed_too_often(session, user, VERIFY):
                return
            repository.retire_tokens(session, user.id, VERIFY)
            self._mail_verification_link(session, user, repository.account(session, user.account_id))

    @rpc
    def request_password_reset(self, email: str) -> None:
        """Mail a password-reset link.  Answers the same whether or not the address exists."""
        with self.db.transaction() as session:
            user = repository.user_by_email(session, email.strip().lower())
            if user is None or user.disabled_at is not None or \
                    self._mailed_too_often(session, user, RESET):
                return
            repository.retire_tokens(session, user.id, RESET)
            account = repository.account(session, user.account_id) if user.account_id else None
            ttl = self.settings.password_reset_ttl_seconds
            token = self._new_mail_token(session, user, RESET, ttl)
            self.outbox.add(session, MailRequested(
                mail_id=f"{RESET}:{credentials.token_hash(token)}", to=user.email,
                language=account.language if account else "en", template="reset_password",
                account_id=user.account_id, sensitive=True,
                context={"email": user.email, "valid_minutes": str(max(ttl // 60, 1)),
                         "link": self._link("reset-password", token)},
            ))

    @rpc
    def reset_password(self, token: str, password: str) -> dict[str, Any]:
        """Set a new password through a reset link.  Every token issued to the user until now
        stops working (a revocation the gateway applies), and the address counts as verified:
        the link reached its mailbox."""
        def revoke_earlier_tokens(session: Session, user: User, now: datetime) -> None:
            user.credentials_changed_at = now
            session.add(Revocation(subject=f"user:{user.id}", not_before=now, created_at=now,
                                   expires_at=now + timedelta(seconds=self.settings.token_ttl_seconds)))

        return self._set_password_by_link(token, password, RESET, revoke_earlier_tokens)

    def _set_password_by_link(self, token: str, password: str, purpose: str,
                              then: Callable[[Session, User, datetime], None]) -> dict[str, Any]:
        """Set a password through a one-time mailed link of ``purpose``: the token checked, the
        password checked and hashed (in a thread, holding no lock), then the token used once
        under its lock, the address verified (the link reached its mailbox), and ``then``."""
        digest = credentials.token_hash(token)
        found = repository.live_token(self.db.session, digest, purpose)
        if found is None:
            raise TokenInvalid()
        user = repository.user(self.db.session, found.user_id)
        credentials.check_new_password(password, user.email)
        self.db.session.rollback()
        password_hash = tpool.execute(credentials.hash_password, password)
        with self.db.transaction() as session:
            found = repository.live_token(session, digest, purpose, lock=True)
            if found is None:  # used by a concurrent request in the meantime
                raise TokenInvalid()
            now = utcnow()
            found.used_at = now
            user = repository.user(session, found.user_id)
            if user.disabled_at is not None:  # a removed member's link works no more
                raise TokenInvalid()
            user.password_hash = password_hash
            user.email_verified_at = user.email_verified_at or now
            then(session, user, now)
            return self._principal(user).wire()

    @rpc
    def authenticate(self, email: str, password: str, client: str | None = None) -> dict[str, Any]:
        """Check a password.  An unknown address costs one hash like a known one (in a thread,
        never on the hub), so neither the hub nor the timing tells whether it exists.  Failures
        are counted per user and per client address: ``LOGIN_FAILURE_LIMIT`` of them within
        ``LOGIN_FAILURE_WINDOW_SECONDS`` make further attempts answer ``too_many_attempts``
        until the oldest of them leaves the window (never longer: the owner is not locked out
        beyond it).  Only the right password learns that the address is not verified yet."""
        settings = self.settings
        user = repository.user_by_email(self.db.session, email.strip().lower())
        subjects = [f"client:{client or 'unknown'}"] + ([f"user:{user.id}"] if user else [])
        window = timedelta(seconds=settings.login_failure_window_seconds)
        wait = repository.throttled_for(self.db.session, subjects, settings.login_failure_limit, window)
        self.db.session.rollback()
        if wait:
            raise TooManyAttempts(details={"retry_after": wait})
        stored = user.password_hash if user else credentials.DUMMY_HASH
        matches, stale = tpool.execute(credentials.verify_password, password, stored)
        if not matches or user is None or user.disabled_at is not None:
            with self.db.transaction() as session:
                repository.record_failures(session, subjects)
            raise InvalidCredentials()
        if stale:  # made with older parameters or scheme: replace it while we know the password
            fresh = tpool.execute(credentials.hash_password, password)
            with self.db.transaction() as session:
                repository.user(session, user.id).password_hash = fresh
        if user.role == "customer" and user.email_verified_at is None:
            raise EmailNotVerified()
        return self._principal(user).wire()

    # -- members ----------------------------------------------------------------------------

    @rpc
    def list_members(self, account_id: str) -> dict[str, Any]:
        rows = repository.members(self.db.session, account_id)
        return {"items": [member_out(u) for u in rows], "next_cursor": None}

    @rpc
    def invite_member(self, account_id: str, acting_user_id: str, email: str) -> dict[str, Any]:
        """The owner invites someone by e-mail: a member who chooses a password through the
        mailed link (one use, ``INVITE_TTL``)."""
        address = domain.normalise_email(email)
        unusable = tpool.execute(credentials.hash_password, secrets.token_urlsafe(32))
        try:
            with self.db.transaction() as session:
                owner = self._owner_of(session, account_id, acting_user_id)
                if repository.user_by_email(session, address) is not None:
                    raise EmailAlreadyRegistered()
                account = repository.account(session, account_id)
                member = User(id=str(uuid.uuid4()), account_id=account.id, email=address,
                              password_hash=unusable, role="customer", account_role="member",
                              invited_by=owner.id)
                session.add(member)
                session.flush()
                ttl = int(INVITE_TTL.total_seconds())
                token = self._new_mail_token(session, member, INVITE, ttl)
                self.outbox.add(session, MailRequested(
                    mail_id=f"{INVITE}:{credentials.token_hash(token)}", to=address,
                    language=account.language, template="invite_member", account_id=account.id,
                    sensitive=True, context={
                        "inviter": owner.email, "company_name": account.company_name,
                        "valid_days": str(INVITE_TTL.days),
                        "link": self._link("accept-invite", token)}))
                return member_out(member)
        except IntegrityError:
            raise EmailAlreadyRegistered() from None

    @rpc
    def accept_invite(self, token: str, password: str) -> dict[str, Any]:
        """The invited member sets a password through the link; the address is then verified."""
        return self._set_password_by_link(token, password, INVITE, lambda *_: None)

    @rpc
    def remove_member(self, account_id: str, acting_user_id: str, user_id: str) -> None:
        """The owner removes a member: kept, unable to sign in, its tokens revoked."""
        with self.db.transaction() as session:
            self._owner_of(session, account_id, acting_user_id)
            member = session.get(User, user_id, with_for_update=True)
            if member is None or member.account_id != account_id:
                raise NotFound("no such member", {"user_id": user_id})
            if member.account_role == "owner":
                raise InvalidRequest("the owner cannot be removed", {"field": "user_id"})
            if member.disabled_at is None:
                now = utcnow()
                member.disabled_at = now
                session.add(Revocation(subject=f"user:{member.id}", not_before=now, created_at=now,
                                       expires_at=now + timedelta(seconds=self.settings.token_ttl_seconds)))

    @staticmethod
    def _owner_of(session: Session, account_id: str, user_id: str) -> User:
        user = session.get(User, user_id)
        if user is None or user.account_id != account_id or user.account_role != "owner":
            raise OwnerOnly()
        return user

    @rpc
    def get_me(self, user_id: str) -> dict[str, Any]:
        """The signed-in user: who, which role in which account, and the account in short."""
        user = repository.user(self.db.session, user_id)
        account = repository.account(self.db.session, user.account_id) if user.account_id else None
        return {
            "user_id": user.id, "email": user.email, "role": user.role,
            "account_role": user.account_role,
            "email_verified": user.email_verified_at is not None,
            "account": None if account is None else {
                "id": account.id, "company_name": account.company_name,
                "language": account.language, "currency": account.currency,
                "payment_reference": account.payment_reference},
        }

    @rpc
    def revoke_token(self, token_id: str, expires_at: int) -> None:
        """Sign out: the token stops working (the gateway applies revocations at once)."""
        now = utcnow()
        with self.db.transaction() as session:
            session.add(Revocation(subject=f"token:{token_id}", not_before=now, created_at=now,
                                   expires_at=datetime.fromtimestamp(expires_at, UTC)))

    @rpc
    def revocations(self, cursor: int = 0) -> dict[str, Any]:
        """Revocations after ``cursor`` (0: every unexpired one) for the gateway's cache."""
        rows = repository.revocations_since(self.db.session, cursor, REVOCATION_OVERLAP)
        return Revocations(
            items=[Revoked(subject=r.subject, not_before=r.not_before, expires_at=r.expires_at)
                   for r in rows],
            cursor=max([cursor, *(r.id for r in rows)]),
        ).wire()

    @every("housekeeping_interval")
    def purge_expired(self) -> None:
        window = timedelta(seconds=self.settings.login_failure_window_seconds)
        with self.db.transaction() as session:
            repository.purge_expired(session, utcnow() - window)

    def _mail_verification_link(self, session: Session, user: User, account: Account) -> None:
        ttl = self.settings.email_verification_ttl_seconds
        token = self._new_mail_token(session, user, VERIFY, ttl)
        self.outbox.add(session, MailRequested(
            mail_id=f"{VERIFY}:{credentials.token_hash(token)}", to=user.email,
            language=account.language, template="verify_email", account_id=account.id,
            sensitive=True,
            context={"company_name": account.company_name, "valid_hours": str(max(ttl // 3600, 1)),
                     "link": self._link("verify", token)},
        ))

    @staticmethod
    def _new_mail_token(session: Session, user: User, purpose: str, ttl: int) -> str:
        token, digest = credentials.new_mail_token()
        now = utcnow()
        session.add(UserToken(token_hash=digest, user_id=user.id, purpose=purpose, created_at=now,
                              expires_at=now + timedelta(seconds=ttl)))
        return token

    @staticmethod
    def _mailed_too_often(session: Session, user: User, purpose: str) -> bool:
        hour_ago = utcnow() - timedelta(hours=1)
        return repository.tokens_made_since(session, user.id, purpose, hour_ago) >= MAILS_PER_HOUR

    def _link(self, page: str, token: str) -> str:
        return f"{self.settings.console_url.rstrip('/')}/{page}?token={token}"

    # -- the profile --------------------------------------------------------------------------

    @rpc
    def get_profile(self, account_id: str) -> dict[str, Any]:
        """Every part of the profile: company, billing information, mailing information."""
        account = repository.account(self.db.session, account_id)
        return {"company": company_of(account).wire(), "billing_info": loaded(account.billing_info),
                "mailing_info": loaded(account.mailing_info)}

    @rpc
    def set_company(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the company details.  A new organisation number or country may end the
        account's e-invoice capability: an e-invoice channel then falls back to PDF by e-mail,
        and the customer is told by mail."""
        company = parse(Company, data)
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            account.company_name = company.legal_name
            account.organisation_number = company.organisation_number
            account.vat_number = company.vat_number
            account.country = company.country
            account.company_address = company.address.model_dump_json() if company.address else None
            account.participant_id = profile.participant_id(company.country,
                                                            company.organisation_number)
            self._keep_channel_possible(session, account)
            self._profile_changed(session, account)
            return company_of(account).wire()

    @rpc
    def set_billing_info(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        info = parse(BillingInfo, data)
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            account.billing_info = info.model_dump_json()
            self._profile_changed(session, account)
        return info.wire()

    @rpc
    def set_mailing_info(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        info = parse(MailingInfo, data)
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            account.mailing_info = info.model_dump_json()
            self._profile_changed(session, account)
        return info.wire()

    @rpc
    def set_delivery_channel(self, account_id: str, channel: str) -> dict[str, Any]:
        """How issued documents reach the customer.  ``einvoice`` only for an organisation
        found in the e-invoice directory (else ``einvoice_not_available``)."""
        if channel not in profile.CHANNELS:
            raise InvalidRequest(f"the channel is one of {', '.join(profile.CHANNELS)}",
                                 {"field": "channel"})

        def choose(session: Session, account: Account) -> None:
            if channel == "einvoice" and not repository.einvoice_capable(session, account):
                raise EinvoiceNotAvailable(details={
                    "participant_id": account.participant_id,
                    "organisation_number": account.organisation_number, "country": account.country})
            account.delivery_channel = channel  # type: ignore[assignment]

        return self._change_account(account_id, choose)

    @rpc
    def set_notifications(self, account_id: str, enabled: bool) -> dict[str, Any]:
        def switch(_: Session, account: Account) -> None:
            account.notifications_enabled = bool(enabled)

        return self._change_account(account_id, switch)

    @rpc
    def set_language(self, account_id: str, language: str) -> dict[str, Any]:
        if language not in ("en", "sv", "ru"):
            raise InvalidRequest("the language is en, sv or ru", {"field": "language"})

        def speak(_: Session, account: Account) -> None:
            account.language = language  # type: ignore[assignment]

        return self._change_account(account_id, speak)

    def _change_account(self, account_id: str,
                        change: Callable[[Session, Account], None]) -> dict[str, Any]:
        """One profile change: the account locked, changed, announced; answers the account."""
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            change(session, account)
            self._profile_changed(session, account)
            return self._account_out(account, session).wire()

    # -- the e-invoice directory (operators) --------------------------------------------------

    @rpc
    def list_einvoice_participants(self, limit: int | None = None,
                                   cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        after = pages.decode_key_cursor(cursor)
        rows = repository.participants(self.db.session, size + 1, after)
        items = [{"participant_id": r.participant_id, "name": r.name,
                  "updated_at": wire_time(r.updated_at)} for r in rows]
        return pages.key_page(items, size, "participant_id")

    @rpc
    def put_einvoice_participant(self, participant_id: str, name: str) -> dict[str, Any]:
        if not profile.PARTICIPANT_ID.fullmatch(participant_id):
            raise InvalidRequest("a participant id is scheme:number, digits only (0007:5560000000)",
                                 {"field": "participant_id"})
        with self.db.transaction() as session:
            found = session.get(EinvoiceParticipant, participant_id, with_for_update=True)
            if found is None:
                found = EinvoiceParticipant(participant_id=participant_id, name=name)
                session.add(found)
            found.name, found.updated_at = name, utcnow()
            for account in repository.accounts_with_participant(session, participant_id):
                self._profile_changed(session, account)  # einvoice_capable became true
            return {"participant_id": participant_id, "name": name,
                    "updated_at": wire_time(found.updated_at)}

    @rpc
    def delete_einvoice_participant(self, participant_id: str) -> None:
        """Remove an organisation from the directory: accounts delivering to it by e-invoice
        fall back to PDF by e-mail and are told by mail."""
        with self.db.transaction() as session:
            found = session.get(EinvoiceParticipant, participant_id, with_for_update=True)
            if found is None:
                raise NotFound("no such participant", {"participant_id": participant_id})
            session.delete(found)
            session.flush()
            for account in repository.accounts_with_participant(session, participant_id):
                self._keep_channel_possible(session, account)
                self._profile_changed(session, account)

    def _keep_channel_possible(self, session: Session, account: Account) -> None:
        if account.delivery_channel != "einvoice" or repository.einvoice_capable(session, account):
            return
        account.delivery_channel = "email_pdf"
        owner_mail = repository.contact_address(session, account)
        self.outbox.add(session, MailRequested(
            mail_id=f"einvoice_unavailable:{account.id}:{account.profile_version + 1}",
            to=owner_mail, language=account.language, template="einvoice_unavailable",
            account_id=account.id,
            context={"company_name": account.company_name,
                     "organisation_number": account.organisation_number or "-",
                     "link": f"{self.settings.console_url.rstrip('/')}/profile"},
        ))

    def _profile_changed(self, session: Session, account: Account) -> None:
        account.profile_version += 1
        session.flush()
        self.outbox.add(session, profile_of(session, account))

    @rpc
    def may_apply_for_invoices(self, account_id: str) -> dict[str, bool]:
        """What the gateway checks before forwarding an invoice application: whether the
        billing and mailing information are complete and the account is in arrears (a
        negative cash balance, or a payment invoice overdue)."""
        session = self.db.session
        account = repository.account(session, account_id)
        owed = repository.arrears(repository.cash_balance(session, account.id, account.currency),
                                  repository.overdue_total(session, account.id, account.currency))
        return {
            "billing_info_complete": profile.billing_info_complete(loaded(account.billing_info)),
            "mailing_info_complete": profile.mailing_info_complete(loaded(account.mailing_info)),
            "in_arrears": owed.amount > 0,
        }

    @rpc
    def account_for_invoicing(self, account_id: str) -> dict[str, Any]:
        """What the invoicing service keeps of an account it has not heard of yet: the profile
        as ``profile_changed`` says it, and the standing as ``arrears_changed`` does, each with
        its version (so an event still on its way replaces it only if newer)."""
        session = self.db.session
        account = repository.account(session, account_id)
        return {"profile": profile_of(session, account).wire(),
                "standing": repository.standing_of(session, account).wire()}

    # -- standing ------------------------------------------------------------------------------

    @rpc
    def get_standing(self, account_id: str) -> dict[str, Any]:
        """Balances, credit limit, and whether (and by how much) the account is in arrears."""
        return repository.standing_of(self.db.session,
                                      repository.account(self.db.session, account_id)).wire()

    @rpc
    def set_credit_limit(self, account_id: str, amount: str, currency: str) -> dict[str, Any]:
        """An operator makes the account postpaid: orders may take its cash balance down to
        minus this.  Zero makes it prepaid again (a negative balance stays arrears)."""
        limit = Money(Decimal(amount), currency)
        if limit.amount < 0:
            raise InvalidRequest("a credit limit is zero or more", {"field": "amount"})
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            if currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            account.credit_limit_minor = limit.minor
            return self._account_out(account, session).wire()

    @handles(PaymentInvoiceOverdue)
    def on_payment_invoice_overdue(self, payload: dict[str, Any]) -> None:
        evt = parse(PaymentInvoiceOverdue, payload)
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "payment_invoice_overdue", evt.event_id):
                return
            account = repository.account(session, evt.account_id, lock=True)
            before = repository.standing_of(session, account)
            due = evt.amount_due.money()
            found = session.get(OverdueInvoice, evt.payment_invoice_id)
            if found is None:
                session.add(OverdueInvoice(payment_invoice_id=evt.payment_invoice_id,
                                           account_id=account.id, amount_due_minor=due.minor,
                                           currency=due.currency, since=evt.occurred_at))
            else:
                found.amount_due_minor = due.minor
            self._announce_standing(session, account, before)

    @handles(PaymentInvoiceSettled)
    def on_payment_invoice_settled(self, payload: dict[str, Any]) -> None:
        evt = parse(PaymentInvoiceSettled, payload)
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "payment_invoice_settled", evt.event_id):
                return
            account = repository.account(session, evt.account_id, lock=True)
            before = repository.standing_of(session, account)
            found = session.get(OverdueInvoice, evt.payment_invoice_id)
            if found is not None:
                session.delete(found)
            self._announce_standing(session, account, before)

    # -- payment invoices (payables) ------------------------------------------------------------

    @handles(PaymentInvoiceOpened)
    def on_payment_invoice_opened(self, payload: dict[str, Any]) -> None:
        """Take payments for a payment invoice from now on; a claim is owed from now on."""
        evt = parse(PaymentInvoiceOpened, payload)
        total = evt.total.money()
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "payment_invoice_opened", evt.event_id):
                return
            account = repository.account(session, evt.account_id, lock=True)
            if session.get(Payable, evt.payment_invoice_id) is not None:
                return
            if total.amount <= 0 or total.currency != account.currency:
                log.error("payment invoice %s ignored: its total %s cannot be owed by an "
                             "account keeping %s", evt.payment_invoice_id, total, account.currency)
                return
            withdrawn = commands.replay(session, Command, "payable_withdrawn",
                                        f"payable:{evt.payment_invoice_id}:withdrawn")
            payable = Payable(payment_invoice_id=evt.payment_invoice_id, account_id=account.id,
                              number=evt.number.strip().upper(),
                              wire_reference=evt.wire_reference.replace(" ", "").upper(),
                              total_minor=total.minor, paid_minor=0, currency=total.currency,
                              due_on=evt.due_on, claim=evt.claim,
                              status="open" if withdrawn is None else "void",
                              order_id=evt.order_id, opened_at=evt.occurred_at)
            session.add(payable)
            if withdrawn is not None:
                log.info("payment invoice %s opened void: its order %s expired unpaid",
                         evt.payment_invoice_id, withdrawn["order_id"])
            elif evt.claim:
                repository.record_entry(
                    session, account_id=account.id, kind="payment_invoice",
                    reference=f"payment invoice {payable.number}",
                    idempotency_key=f"payable:{payable.payment_invoice_id}:open", amount=total,
                    legs=domain.open_claim(account.id, total))

    @handles(PaymentInvoiceVoided)
    def on_payment_invoice_voided(self, payload: dict[str, Any]) -> None:
        """Nothing more is owed on it; what was already paid for it goes to the cash wallet."""
        evt = parse(PaymentInvoiceVoided, payload)
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "payment_invoice_voided", evt.event_id):
                return
            account = repository.account(session, evt.account_id, lock=True)
            payable = session.get(Payable, evt.payment_invoice_id, with_for_update=True)
            if payable is not None and payable.account_id == account.id:
                self._void_payable(session, account, payable)

    def _void_payable(self, session: Session, account: Account, payable: Payable) -> None:
        """Close a payment invoice (the account row locked): a claim owes nothing more, and
        what was paid on it goes to the cash wallet.  Voiding it again changes nothing."""
        if payable.status == "void":
            return
        before = repository.standing_of(session, account)
        if payable.claim:
            paid = Money.from_minor(payable.paid_minor, payable.currency)
            entry = repository.record_entry(
                session, account_id=account.id, kind="payment_invoice_void",
                reference=f"payment invoice {payable.number}",
                idempotency_key=f"payable:{payable.payment_invoice_id}:void",
                amount=Money.from_minor(payable.total_minor, payable.currency),
                legs=domain.void_claim(account.id, remaining_of(payable), paid))
            if paid.amount:
                self.outbox.add(session, BalanceCredited(entry=self._entry_out(session, entry)))
        payable.status = "void"
        found = session.get(OverdueInvoice, payable.payment_invoice_id)
        if found is not None:
            session.delete(found)
        self._announce_standing(session, account, before)

    @rpc
    def expire_order_payment(self, account_id: str, order_id: str,
                             payment_invoice_id: str | None = None) -> dict[str, Any]:
        """The orders service stops waiting for an order's payment.  Decided at once under the
        account's lock, so nothing can slip between: an order already paid answers how
        (``charged`` with the charge's entry, or ``paid`` by its payment invoice), one refused
        answers ``refused`` with the refusal; otherwise it is ``expired``: its charge is
        refused from now on (``payment_expired``: a late retry charges nothing), its pending
        card payment is cancelled (a card the processor took anyway brings its money to the
        cash wallet), and its payment invoice is voided, or refused when it is opened later
        (what was paid on it goes to the cash wallet).  Asking again answers the same."""
        key = f"order:{order_id}:charge"
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            try:
                charged = commands.replay(session, Command, "order_charge", key)
            except BusinessError as refusal:
                error = ErrorOut(code=refusal.code, message=refusal.message,
                                 details=refusal.details).wire()
                outcome = "expired" if refusal.code == PaymentExpired.code else "refused"
                return {"outcome": outcome, "error": error}
            if charged is not None:
                return {"outcome": "charged", "entry": charged}
            if payment_invoice_id is not None:
                payable = session.get(Payable, payment_invoice_id, with_for_update=True)
                if payable is not None and payable.account_id == account.id:
                    if payable.status == "paid":
                        return {"outcome": "paid", "payable": payable_out(payable).wire()}
                    self._void_payable(session, account, payable)
                commands.remember(session, Command, "payable_withdrawn",
                                  f"payable:{payment_invoice_id}:withdrawn", {"order_id": order_id})
            card = repository.card_payment_by_key(session, account.id, f"order:{order_id}")
            if card is not None and card.status == "pending":
                card.status = "cancelled"
            expired = PaymentExpired(details={"order_id": order_id})
            commands.remember_refusal(session, Command, "order_charge", key, expired)
            return {"outcome": "expired", "error": ErrorOut(
                code=expired.code, message=expired.message, details=expired.details).wire()}

    @rpc
    def get_payable(self, payment_invoice_id: str, account_id: str | None = None) -> dict[str, Any]:
        """A payment invoice's payments as billing took them (``account_id``: only if it is
        that account's)."""
        payable = self.db.session.get(Payable, payment_invoice_id)
        if payable is None or account_id not in (None, payable.account_id):
            raise NotFound("no such payment invoice", {"payment_invoice_id": payment_invoice_id})
        return payable_out(payable).wire()

    def _pay_payable(self, session: Session, account: Account, payable: Payable, received: Money,
                     *, source: str, method: Literal["card", "wire"], payment_id: str, key: str,
                     actor: str = "system") -> JournalEntry:
        """Money received for a payment invoice: up to what remains on it settles it (paid in
        full, it is no longer overdue), the rest goes to the cash wallet."""
        before = repository.standing_of(session, account)
        remaining = remaining_of(payable)
        applied = received if received < remaining else remaining
        entry = repository.record_entry(
            session, account_id=account.id, kind=f"{method}_payment",
            reference=f"payment invoice {payable.number}", idempotency_key=key, amount=received,
            legs=domain.pay_invoice(account.id, received, applied, source, payable.claim),
            actor=actor)
        payable.paid_minor += applied.minor
        if payable.status == "open" and payable.paid_minor >= payable.total_minor:
            payable.status = "paid"
            found = session.get(OverdueInvoice, payable.payment_invoice_id)
            if found is not None:
                session.delete(found)
        out = self._entry_out(session, entry)
        self.outbox.add(session, PaymentReceived(entry=out, method=method, payment_id=payment_id,
                                                 payable=payable_out(payable),
                                                 applied=MoneyOut.of(applied)))
        if out.cash is not None and out.cash.amount > 0:
            self.outbox.add(session, BalanceCredited(entry=out))
        self._announce_standing(session, account, before)
        return entry

    @rpc
    def statement(self, account_id: str, since: str | None = None, until: str | None = None,
                  limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """The cash wallet over a period: the balance before it, its movements (oldest first,
        in pages), and the balance at its end (see ``repository.statement``)."""
        size = pages.check_limit(limit)
        account = repository.account(self.db.session, account_id)
        start, end = pages.parse_day(since, "from"), pages.parse_day(until, "to", next_day=True)
        page = repository.statement(self.db.session, account, start, end, size, cursor)
        return {"currency": account.currency, "from": since, "to": until,
                "opening_balance": MoneyOut.of(page.opening).wire(),
                "closing_balance": MoneyOut.of(page.closing).wire(),
                "items": [ledger_line(row) for row in page.rows], "next_cursor": page.next_cursor}

    @rpc
    def receivables(self, account_id: str | None = None, today: str | None = None,
                    limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """What each account owes and is owed today (``account_id`` None: every account, in
        pages by id, for operators): the cash and voucher balances, each open payment invoice
        with its days overdue, and what is owed in the ageing buckets current, 1–30, 31–60,
        61–90 and over 90 days past due (a negative cash balance is due at once: current)."""
        as_of = date.fromisoformat(today) if today else utcnow().date()
        session = self.db.session
        if account_id is not None:
            accounts, next_cursor = [repository.account(session, account_id)], None
        else:
            size = pages.check_limit(limit)
            rows = repository.search_accounts(session, None, size + 1, pages.decode_key_cursor(cursor))
            accounts = rows[:size]
            next_cursor = pages.encode_key_cursor(accounts[-1].id) if len(rows) > size else None
        payables: dict[str, list[Payable]] = {}
        for payable in repository.open_payables(session, [a.id for a in accounts]):
            payables.setdefault(payable.account_id, []).append(payable)
        items = [domain.receivable(account.id, account.company_name, account.currency,
                                   repository.cash_balance(session, account.id, account.currency),
                                   repository.voucher_balance(session, account.id, account.currency),
                                   payables.get(account.id, []), as_of)
                 for account in accounts]
        return {"as_of": as_of.isoformat(), "items": items, "next_cursor": next_cursor}

    @rpc
    def export_statement(self, account_id: str, since: str, until: str, cursor: str | None = None,
                         limit: int = 50_000) -> dict[str, Any]:
        """The cash wallet's statement over a period for a report, in large pages of CSV text
        (``columns``; amounts in major units): the balances before and at the end of the
        period, and the movements after ``cursor``.  Text, not objects: a year of a million
        movements crosses in twenty messages that cost the database's ``COPY``, not a Python
        object per row."""
        if not 1 <= limit <= 50_000:
            raise InvalidRequest("limit must be 1 to 50000", {"field": "limit"})
        session = self.db.session
        account = repository.account(session, account_id)
        start, end = pages.parse_day(since, "from"), pages.parse_day(until, "to", next_day=True)
        assert start is not None and end is not None
        after = pages.decode_cursor(cursor)
        text, count = repository.statement_csv(session, account.id, account.currency, start, end,
                                               (after[0], int(after[1])) if after else None, limit)
        next_cursor = last_at = None
        if count:
            last = next(csv.reader([text.rstrip("\n").rsplit("\n", 1)[-1]]))
            last_at = last[1]
            if count == limit:
                next_cursor = pages.encode_cursor(datetime.fromisoformat(last[1]), last[0])
        return {"currency": account.currency, "columns": list(repository.STATEMENT_COLUMNS),
                "opening_balance": MoneyOut.of(repository.cash_before(session, account.id,
                                                                      account.currency, start)).wire(),
                "closing_balance": MoneyOut.of(repository.cash_before(session, account.id,
                                                                      account.currency, end)).wire(),
                "rows": text, "count": count, "last_at": last_at, "next_cursor": next_cursor}

    @rpc
    def search_accounts(self, text: str | None = None, limit: int | None = None,
                        cursor: str | None = None) -> dict[str, Any]:
        """Operators: accounts whose name, e-mail or organisation number contains ``text``."""
        size = pages.check_limit(limit)
        rows = repository.search_accounts(self.db.session, text, size + 1,
                                          pages.decode_key_cursor(cursor))
        items = [self._account_out(row).wire() for row in rows]
        return pages.key_page(items, size, "id")

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
        """Pay an order by the method its customer chose: ``balance`` (cash, down to minus the
        credit limit), ``voucher``, or ``balance+voucher`` (the voucher wallet first, the rest
        cash); the answer's ``cash`` and ``voucher`` say what each wallet paid.  The order id is
        the request key: charging the same order again answers with the first outcome, a
        refusal included, and a refusal is announced (``order_charge_refused``) as a charge is
        (``order_charged``)."""
        request = parse(ChargeOrder, data)

        def legs(session: Session, account: Account, amount: Money) -> list[domain.Leg]:
            split = domain.split_payment(
                request.payment_method, amount,
                repository.cash_balance(session, account.id, account.currency),
                repository.voucher_balance(session, account.id, account.currency),
                Money.from_minor(account.credit_limit_minor, account.currency))
            return domain.pay_order(account.id, split)

        return self._move_money(
            request.account_id,
            Money(request.amount, request.currency),
            kind="order_charge",
            key=f"order:{request.order_id}:charge",
            reference=f"order {request.order_id}",
            order_id=request.order_id,
            legs=legs,
            announce=lambda entry: OrderCharged(entry=entry, order_id=request.order_id),
            announce_refusal=lambda error: OrderChargeRefused(
                order_id=request.order_id, account_id=request.account_id,
                error=ErrorOut(code=error.code, message=error.message, details=error.details),
            ),
        )

    @rpc
    def refund(self, data: dict[str, Any]) -> dict[str, Any]:
        """Give back part of an order's payment, each part to the wallet it came from (voucher
        money never becomes cash), never more than the order's charges took from that wallet
        less its earlier refunds.  Idempotent by ``refund_id``."""
        request = parse(RefundOrder, data)
        cash = Money(request.cash, request.currency)
        voucher = Money(request.voucher, request.currency)

        def legs(session: Session, account: Account, _: Money) -> list[domain.Leg]:
            paid = repository.paid_for_order(session, account.id, request.order_id, account.currency)
            paid[domain.CUSTOMER_CASH] += repository.paid_on_invoices(  # a wire-paid order
                session, account.id, request.order_id, account.currency)
            for wallet, book, asked in (("cash", domain.CUSTOMER_CASH, cash),
                                        ("voucher", domain.CUSTOMER_VOUCHER, voucher)):
                if paid[book] < asked:
                    raise RefundExceedsPayment(details={
                        "wallet": wallet, "refundable": str(paid[book].amount),
                        "requested": str(asked.amount), "currency": account.currency})
            return domain.refund_order(account.id, cash, voucher)

        return self._move_money(
            request.account_id, cash + voucher,
            kind="refund",
            key=f"refund:{request.refund_id}",
            reference=request.order_id,
            order_id=request.order_id,
            legs=legs,
            announce=lambda entry: RefundIssued(entry=entry, order_id=request.order_id,
                                                refund_id=request.refund_id),
        )

    # -- card payments -------------------------------------------------------------------------

    @rpc
    def create_card_payment(self, account_id: str, amount: str | None, currency: str | None,
                            request_key: str | None = None,
                            payment_invoice_id: str | None = None,
                            order_id: str | None = None) -> dict[str, Any]:
        """Start a card payment: a top-up of ``amount``; (``payment_invoice_id``) what
        remains on one of the account's open payment invoices; or (``order_id``, the orders
        service asking) ``amount`` to pay that order, charged from it once it succeeds.  ``pending`` until the
        processor's callback settles it.  A repeated ``request_key`` answers the payment it
        started."""
        if payment_invoice_id is None:
            money = Money(Decimal(amount or "0"), currency or "")
            if money.amount <= 0:
                raise InvalidRequest("a card payment is a positive amount", {"field": "amount"})
        try:
            with self.db.transaction() as session:
                account = repository.account(session, account_id)
                if request_key and (made := repository.card_payment_by_key(session, account.id,
                                                                           request_key)):
                    return card_payment_out(made).wire()
                if payment_invoice_id is not None:
                    payable = session.get(Payable, payment_invoice_id)
                    if payable is None or payable.account_id != account.id:
                        raise NotFound("no such payment invoice",
                                       {"payment_invoice_id": payment_invoice_id})
                    money = remaining_of(payable)
                    if money.amount <= 0:
                        raise PaymentInvoiceNotOpen(details={"status": payable.status})
                elif money.currency != account.currency:
                    raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
                payment = CardPayment(id=str(uuid.uuid4()), account_id=account.id,
                                      request_key=request_key, amount_minor=money.minor,
                                      currency=money.currency,
                                      purpose="payment_invoice" if payment_invoice_id
                                      else "order" if order_id else "top_up",
                                      payment_invoice_id=payment_invoice_id, order_id=order_id,
                                      status="pending",
                                      created_at=utcnow())
                session.add(payment)
                session.flush()
                return card_payment_out(payment).wire()
        except IntegrityError:  # the same request twice at once: answer the one made
            made = repository.card_payment_by_key(self.db.session, account_id, request_key or "")
            if made is None:
                raise
            return card_payment_out(made).wire()

    @rpc
    def get_card_payment(self, account_id: str, payment_id: str) -> dict[str, Any]:
        payment = self.db.session.get(CardPayment, payment_id)
        if payment is None or payment.account_id != account_id:
            raise NotFound("no such card payment", {"payment_id": payment_id})
        return card_payment_out(payment).wire()

    @rpc
    def card_payment_for_processor(self, payment_id: str) -> dict[str, Any] | None:
        """What the processor's page shows: the amount and whether it is still to be paid."""
        payment = self.db.session.get(CardPayment, payment_id)
        return None if payment is None else card_payment_out(payment).wire()

    @rpc
    def settle_card_payment(self, payment_id: str, status: str, decline_reason: str | None = None,
                            processor_reference: str | None = None) -> dict[str, Any]:
        """The processor's verified callback.  The first final word wins: a repeat, or a late
        ``pending`` after it, changes nothing; a success credits the cash wallet once (or pays
        the payment invoice it was for, any surplus to the cash wallet)."""
        if status not in ("pending", "succeeded", "declined"):
            raise InvalidRequest("status is pending, succeeded or declined", {"field": "status"})
        found = self.db.session.get(CardPayment, payment_id)
        if found is None:
            raise NotFound("no such card payment", {"payment_id": payment_id})
        account_id = found.account_id
        self.db.session.rollback()
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            payment = session.get(CardPayment, payment_id, with_for_update=True)
            assert payment is not None
            late_success = payment.status == "cancelled" and status == "succeeded"
            if (payment.status != "pending" and not late_success) or status == "pending":
                return card_payment_out(payment).wire()
            payment.status, payment.settled_at = status, utcnow()
            payment.processor_reference = processor_reference
            if status == "declined":
                payment.decline_reason = (decline_reason or "declined")[:60]
                if payment.order_id is not None:
                    self._order_card_declined(session, payment)
                return card_payment_out(payment).wire()
            amount = Money.from_minor(payment.amount_minor, payment.currency)
            if payment.payment_invoice_id is not None:
                payable = session.get(Payable, payment.payment_invoice_id, with_for_update=True)
                assert payable is not None
                payment.entry_id = self._pay_payable(
                    session, account, payable, amount, source=domain.CARD_CLEARING, method="card",
                    payment_id=payment.id, key=f"card:{payment.id}").id
                return card_payment_out(payment).wire()
            before = repository.standing_of(session, account)
            entry = repository.record_entry(
                session, account_id=account.id, kind="card_payment",
                reference=f"card payment {payment.id}", idempotency_key=f"card:{payment.id}",
                amount=amount, legs=domain.card_payment(account.id, amount))
            payment.entry_id = entry.id
            out = self._entry_out(session, entry)
            self.outbox.add(session, PaymentReceived(entry=out, method="card",
                                                     payment_id=payment.id))
            if payment.order_id is None or not self._charge_order_by_card(session, account,
                                                                           payment, amount):
                self.outbox.add(session, BalanceCredited(entry=out))
            self._announce_standing(session, account, before)
            return card_payment_out(payment).wire()

    def _charge_order_by_card(self, session: Session, account: Account, payment: CardPayment,
                              amount: Money) -> bool:
        """The card's money pays its order: the order's charge (keyed by the order, as
        ``charge_order`` keys it) is made from what the card brought, in the same transaction,
        and announced as ``order_charged``.  An order charged already (it cannot be twice) or
        expired leaves the card's money in the cash wallet (False)."""
        assert payment.order_id is not None
        key = f"order:{payment.order_id}:charge"
        if self._order_charge_settled(session, key):
            return False
        entry = repository.record_entry(
            session, account_id=account.id, kind="order_charge",
            reference=f"order {payment.order_id}", idempotency_key=key, amount=amount,
            legs=domain.pay_order(account.id, domain.Split(cash=amount,
                                                           voucher=Money.zero(amount.currency))),
            order_id=payment.order_id)
        out = self._entry_out(session, entry)
        commands.remember(session, Command, "order_charge", key, out.wire())
        self.outbox.add(session, OrderCharged(entry=out, order_id=payment.order_id))
        return True

    @staticmethod
    def _order_charge_settled(session: Session, key: str) -> bool:
        """Whether the order's charge already has an outcome, a charge or a refusal (then a
        card's money stays in the cash wallet, and a decline refuses nothing more)."""
        try:
            return commands.replay(session, Command, "order_charge", key) is not None
        except BusinessError:  # refused before
            return True

    def _order_card_declined(self, session: Session, payment: CardPayment) -> None:
        """A declined card refuses its order's charge (announced as ``order_charge_refused``;
        the orders service cancels the order, and the customer may order again)."""
        assert payment.order_id is not None
        key = f"order:{payment.order_id}:charge"
        if self._order_charge_settled(session, key):
            return
        refusal = CardDeclined(details={"reason": payment.decline_reason})
        commands.remember_refusal(session, Command, "order_charge", key, refusal)
        self.outbox.add(session, OrderChargeRefused(
            order_id=payment.order_id, account_id=payment.account_id,
            error=ErrorOut(code=refusal.code, message=refusal.message, details=refusal.details)))

    # -- wire transfers --------------------------------------------------------------------------

    @rpc
    def wire_instructions(self, account_id: str) -> dict[str, Any]:
        """Where to send money, and the reference that makes it find this account."""
        account = repository.account(self.db.session, account_id)
        settings = self.settings
        return {"beneficiary": settings.seller_name, "iban": settings.seller_iban,
                "bic": settings.seller_bic, "bank": settings.seller_bank_name,
                "payment_reference": account.payment_reference, "currency": account.currency}

    @rpc
    def import_bank_statement(self, content_b64: str, imported_by: str) -> dict[str, Any]:
        """Import a camt.053 statement of the seller's account: each credit is recorded once
        (by the bank's reference: a file imported twice credits nothing more) and credited to
        the account whose payment reference it quotes; the others wait, unmatched, for an
        operator."""
        try:
            statement = camt.parse(base64.b64decode(content_b64, validate=True))
        except (camt.StatementUnreadable, binascii.Error) as error:
            raise StatementUnreadable(str(error), {"field": "file"}) from None
        if statement.account_iban != self.settings.seller_iban.replace(" ", ""):
            raise StatementAccountMismatch(details={"statement_iban": statement.account_iban,
                                                    "seller_iban": self.settings.seller_iban})
        for attempt in (1, 2):
            try:
                return self._import(statement, imported_by)
            except IntegrityError:  # the same file imported at this moment: count it again
                self.db.session.rollback()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _import(self, statement: camt.Statement, imported_by: str) -> dict[str, Any]:
        counts = {"matched": 0, "unmatched": 0, "duplicates": 0}
        with self.db.transaction() as session:
            record = BankStatement(id=str(uuid.uuid4()), message_id=statement.message_id[:140],
                                   statement_id=statement.statement_id[:140],
                                   version=statement.version, account_iban=statement.account_iban,
                                   imported_by=imported_by, imported_at=utcnow())
            session.add(record)
            for credit in statement.credits:
                if repository.bank_transaction_by_key(session, credit.dedupe_key) is not None:
                    counts["duplicates"] += 1
                    continue
                tx = BankTransaction(
                    id=str(uuid.uuid4()), statement_id=record.id, dedupe_key=credit.dedupe_key,
                    amount_minor=Money(credit.amount, credit.currency).minor if credit.currency
                    in CURRENCIES else int(credit.amount * 100),
                    currency=credit.currency, booked_on=credit.booked_on,
                    value_date=credit.value_date, debtor_name=(credit.debtor_name or "")[:140] or None,
                    debtor_iban=credit.debtor_iban, remittance=credit.remittance[:2000],
                    creditor_reference=credit.creditor_reference, status="unmatched",
                    created_at=utcnow())
                session.add(tx)
                session.flush()
                references = wires.references_in(credit.creditor_reference, credit.remittance)
                payable = repository.payable_quoted(
                    session, references, wires.words_in(credit.creditor_reference, credit.remittance))
                account = repository.account_quoted(session, references) if payable is None else None
                if payable is not None and payable.currency == tx.currency:
                    self._credit_wire(session, tx, payable.account_id, "bank statement", payable)
                    counts["matched"] += 1
                elif account is not None and account.currency == tx.currency:
                    self._credit_wire(session, tx, account.id, "bank statement")
                    counts["matched"] += 1
                else:
                    counts["unmatched"] += 1
        return {"statement_id": record.id, **counts}

    @rpc
    def list_bank_transactions(self, status: str | None = None, limit: int | None = None,
                               cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        rows = repository.bank_transactions(self.db.session, status, size + 1,
                                            pages.decode_cursor(cursor))
        return pages.page([bank_transaction_out(row) for row in rows], size, "created_at")

    @rpc
    def match_bank_transaction(self, transaction_id: str, account_id: str | None, actor: str,
                               payment_invoice_id: str | None = None) -> dict[str, Any]:
        """An operator says what an unmatched credit pays: a payment invoice (up to what
        remains on it, the rest to its account's cash wallet) or an account's cash wallet.
        Once: matching it again the same way answers the same; otherwise
        ``bank_transaction_matched``."""
        if (account_id is None) == (payment_invoice_id is None):
            raise InvalidRequest("say either the account or the payment invoice it pays",
                                 {"field": "account_id"})
        with self.db.transaction() as session:
            payable = None
            if payment_invoice_id is not None:
                payable = session.get(Payable, payment_invoice_id)
                if payable is None:
                    raise NotFound("no such payment invoice",
                                   {"payment_invoice_id": payment_invoice_id})
                account_id = payable.account_id
            assert account_id is not None
            account = repository.account(session, account_id)
            tx = session.get(BankTransaction, transaction_id, with_for_update=True)
            if tx is None:
                raise NotFound("no such bank transaction", {"transaction_id": transaction_id})
            if tx.status == "matched":
                if tx.account_id != account.id or (payable is not None and
                                                   tx.payment_invoice_id != payment_invoice_id):
                    raise BankTransactionMatched(details={
                        "account_id": tx.account_id, "payment_invoice_id": tx.payment_invoice_id})
                return bank_transaction_out(tx)
            if tx.currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            self._credit_wire(session, tx, account.id, actor, payable)
            return bank_transaction_out(tx)

    def _credit_wire(self, session: Session, tx: BankTransaction, account_id: str, actor: str,
                     payable: Payable | None = None) -> None:
        account = repository.account(session, account_id, lock=True)
        amount = Money.from_minor(tx.amount_minor, tx.currency)
        tx.status, tx.account_id = "matched", account.id
        tx.matched_by, tx.matched_at = actor, utcnow()
        if payable is not None:
            session.refresh(payable, with_for_update=True)
            tx.payment_invoice_id = payable.payment_invoice_id
            tx.entry_id = self._pay_payable(session, account, payable, amount, source=domain.BANK,
                                            method="wire", payment_id=tx.id,
                                            key=f"wire:{tx.id}", actor=actor).id
            return
        before = repository.standing_of(session, account)
        entry = repository.record_entry(
            session, account_id=account.id, kind="wire_payment",
            reference=f"wire {tx.dedupe_key}", idempotency_key=f"wire:{tx.id}", amount=amount,
            legs=domain.wire_payment(account.id, amount), actor=actor)
        tx.entry_id = entry.id
        out = self._entry_out(session, entry)
        self.outbox.add(session, PaymentReceived(entry=out, method="wire", payment_id=tx.id))
        self.outbox.add(session, BalanceCredited(entry=out))
        self._announce_standing(session, account, before)

    # -- payment orders --------------------------------------------------------------------------

    @rpc
    def upload_payment_order(self, account_id: str, data: dict[str, Any], content_b64: str,
                             request_key: str | None = None) -> dict[str, Any]:
        """A customer's proof of a payment: a PDF, PNG or JPEG (by content) of at most 10 MB,
        with amount, date and note; kept for operators to decide on.  A repeated
        ``request_key`` answers the order it made."""
        amount = Money(Decimal(str(data["amount"])), str(data["currency"]))
        if amount.amount <= 0:
            raise InvalidRequest("the amount is positive", {"field": "amount"})
        try:
            paid_on = date.fromisoformat(str(data["paid_on"]))
        except ValueError:
            raise InvalidRequest("paid_on is YYYY-MM-DD", {"field": "paid_on"}) from None
        if paid_on > utcnow().date():
            raise InvalidRequest("paid_on cannot be in the future", {"field": "paid_on"})
        try:
            content = base64.b64decode(content_b64, validate=True)
        except binascii.Error:
            raise InvalidRequest("the file did not arrive whole", {"field": "file"}) from None
        content_type, extension = payment_orders.sniff(content)
        with self.db.transaction() as session:
            account = repository.account(session, account_id)
            if request_key and (made := repository.payment_order_by_key(session, account.id,
                                                                        request_key)):
                return payment_order_out(made)
            if amount.currency != account.currency:
                raise CurrencyNotSupported(f"the account keeps its balance in {account.currency}")
            order_id = str(uuid.uuid4())
            path, sha256 = payment_orders.store(self.settings.files_dir, account.id, order_id,
                                                extension, content)
            order = PaymentOrder(
                id=order_id, account_id=account.id, request_key=request_key,
                amount_minor=amount.minor, currency=amount.currency, paid_on=paid_on,
                note=(str(data.get("note") or "")[:2000]) or None,
                filename=str(data.get("filename") or f"payment-order{extension}")[:200],
                content_type=content_type, size=len(content), sha256=sha256, path=path,
                status="pending", created_at=utcnow())
            session.add(order)
            session.flush()
            self.outbox.add(session, PaymentOrderUploaded(
                payment_order_id=order.id, account_id=account.id, amount=MoneyOut.of(amount),
                paid_on=paid_on))
            return payment_order_out(order)

    @rpc
    def list_payment_orders(self, account_id: str | None = None, status: str | None = None,
                            limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        rows = repository.payment_orders(self.db.session, account_id, status, size + 1,
                                         pages.decode_cursor(cursor))
        return pages.page([payment_order_out(row) for row in rows], size, "created_at")

    @rpc
    def payment_order_file(self, account_id: str | None, order_id: str) -> dict[str, Any]:
        """The uploaded file (base64) of one order; ``account_id`` None: an operator's look."""
        order = self.db.session.get(PaymentOrder, order_id)
        if order is None or (account_id is not None and order.account_id != account_id):
            raise NotFound("no such payment order", {"payment_order_id": order_id})
        content = payment_orders.read(self.settings.files_dir, order.path)
        return {"content_b64": base64.b64encode(content).decode(), "content_type": order.content_type,
                "filename": order.filename}

    @rpc
    def decide_payment_order(self, order_id: str, decision: str, reason: str | None,
                             bank_transaction_id: str | None, actor: str) -> dict[str, Any]:
        """An operator's decision: ``matched`` (optionally naming the bank transaction it
        proves) or ``rejected`` with a reason.  The customer is mailed unless notifications are
        off."""
        if decision not in ("matched", "rejected"):
            raise InvalidRequest("the decision is matched or rejected", {"field": "decision"})
        if decision == "rejected" and not (reason or "").strip():
            raise InvalidRequest("a rejection says why", {"field": "reason"})
        with self.db.transaction() as session:
            order = session.get(PaymentOrder, order_id, with_for_update=True)
            if order is None:
                raise NotFound("no such payment order", {"payment_order_id": order_id})
            if order.status != "pending":
                if order.status == decision:
                    return payment_order_out(order)
                raise PaymentOrderDecided(details={"status": order.status})
            if bank_transaction_id is not None and session.get(BankTransaction,
                                                               bank_transaction_id) is None:
                raise NotFound("no such bank transaction", {"bank_transaction_id": bank_transaction_id})
            order.status, order.reason = decision, (reason or "").strip()[:2000] or None
            order.bank_transaction_id = bank_transaction_id
            order.decided_by, order.decided_at = actor, utcnow()
            account = repository.account(session, order.account_id)
            self.outbox.add(session, PaymentOrderDecidedEvent(
                payment_order_id=order.id, account_id=account.id, status=order.status,
                reason=order.reason, bank_transaction_id=bank_transaction_id))
            if account.notifications_enabled:
                amount = Money.from_minor(order.amount_minor, order.currency)
                self.outbox.add(session, MailRequested(
                    mail_id=f"payment_order_decided:{order.id}",
                    to=repository.contact_address(session, account), language=account.language,
                    template="payment_order_decided", account_id=account.id,
                    context={"amount": str(amount.amount), "currency": amount.currency,
                             "paid_on": order.paid_on.isoformat(), "status": order.status,
                             "reason": order.reason or "", "company_name": account.company_name,
                             "link": f"{self.settings.console_url.rstrip('/')}/balance"}))
            return payment_order_out(order)

    # -- vouchers ------------------------------------------------------------------------------

    @rpc
    def create_voucher(self, data: dict[str, Any]) -> dict[str, Any]:
        """An operator issues a voucher code (generated when none is given)."""
        request = parse(CreateVoucher, data)
        if request.currency not in CURRENCIES:
            raise CurrencyNotSupported(f"{request.currency} is not supported")
        amount = Money(request.amount, request.currency)
        if amount.amount <= 0:
            raise InvalidRequest("a voucher is worth a positive amount", {"field": "amount"})
        if request.expires_on < utcnow().date():
            raise InvalidRequest("the voucher would have expired already", {"field": "expires_on"})
        code = request.code or vouchers.new_code()
        try:
            with self.db.transaction() as session:
                if request.account_id is not None:
                    repository.account(session, request.account_id)
                voucher = Voucher(code=code, amount_minor=amount.minor, currency=amount.currency,
                                  expires_on=request.expires_on, uses=request.uses, used=0,
                                  account_id=request.account_id, created_by=request.created_by,
                                  created_at=utcnow())
                session.add(voucher)
                session.flush()
                return vouchers.voucher_out(voucher).wire()
        except IntegrityError:
            raise VoucherCodeTaken(details={"code": code}) from None

    @rpc
    def redeem_voucher(self, account_id: str, code: str, actor: str = "system") -> dict[str, Any]:
        """Put a voucher's amount into the account's voucher wallet.  Once per account; a
        repeat answers ``voucher_used``.  A code of another account's voucher answers
        ``voucher_invalid``, as an unknown one does."""
        code = code.strip().upper()
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            voucher = session.get(Voucher, code, with_for_update=True)
            amount = vouchers.check_redeemable(voucher, account, session, utcnow().date())
            assert voucher is not None
            entry = repository.record_entry(
                session, account_id=account.id, kind="voucher_redeemed",
                reference=f"voucher {code}", idempotency_key=f"voucher:{code}:{account.id}",
                amount=amount, legs=domain.redeem_voucher(account.id, amount), actor=actor)
            voucher.used += 1
            session.add(VoucherRedemption(code=code, account_id=account.id, entry_id=entry.id,
                                          created_at=utcnow()))
            out = self._entry_out(session, entry)
            self.outbox.add(session, VoucherRedeemed(entry=out, code=code))
            return out.wire()

    # -- the ledger --------------------------------------------------------------------------

    @rpc
    def ledger(self, account_id: str, limit: int | None = None, cursor: str | None = None,
               kinds: list[str] | None = None, wallet: str | None = None,
               since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """The account's wallet movements, newest first: one line per wallet an entry moved,
        with the wallet's balance after it.  Keyset pages, so a year of entries never loads
        whole."""
        size = pages.check_limit(limit)
        repository.account(self.db.session, account_id)
        books = [b for b, name in domain.WALLETS.items() if wallet in (None, name)]
        rows = repository.wallet_postings(
            self.db.session, account_id, size + 1, pages.decode_id_cursor(cursor), kinds, books,
            pages.parse_day(since, "from"), pages.parse_day(until, "to", next_day=True))
        items = [ledger_line(row) for row in rows]
        more = len(items) > size
        items = items[:size]
        return {"items": items, "next_cursor": pages.encode_id_cursor(rows[size - 1].id) if more else None}

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
        order_id: str | None = None,
    ) -> dict[str, Any]:
        """Record one journal entry, at most once per ``key``; a repeat answers with the first
        outcome.  The account row is locked first, so concurrent movements of one account
        queue: a balance check cannot be raced, and neither can a repeat."""
        with self.db.transaction() as session:
            account = repository.account(session, account_id, lock=True)
            standing = repository.standing_of(session, account)
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
                order_id=order_id,
            )
            out = self._entry_out(session, entry).wire()
            commands.remember(session, Command, kind, key, out)
            self.outbox.add(session, announce(LedgerEntryOut.model_validate(out)))
            self._announce_standing(session, account, standing)
        return out

    def _announce_standing(self, session: Session, account: Account, before: Standing) -> None:
        """Emit ``arrears_changed`` when the account's arrears changed (in or out, or how
        much), with a rising version."""
        session.flush()
        after = repository.standing_of(session, account)
        if (after.in_arrears, after.arrears_amount) == (before.in_arrears, before.arrears_amount):
            return
        account.standing_version += 1
        self.outbox.add(session, ArrearsChanged(
            standing=after.model_copy(update={"version": account.standing_version})))

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _check_same(first: dict[str, Any], account_id: str, amount: Money) -> dict[str, Any]:
        """A repeated key must name the same movement; anything else is a client's mistake."""
        if first["account_id"] != account_id or first["amount"] != MoneyOut.of(amount).wire():
            raise PaymentConflict()
        return first

    def _entry_out(self, session: Session, entry: JournalEntry) -> LedgerEntryOut:
        moved = {book: 0 for book in domain.WALLETS}
        for posting in entry.postings:
            if posting.book in moved and posting.account_id == entry.account_id:
                moved[posting.book] += posting.amount_minor
        currency = entry.currency
        return LedgerEntryOut(
            entry_id=entry.id,
            account_id=entry.account_id,
            kind=entry.kind,
            amount=MoneyOut.of(Money.from_minor(entry.amount_minor, currency)),
            reference=entry.reference,
            balance=MoneyOut.of(repository.cash_balance(session, entry.account_id, currency)),
            created_at=entry.created_at,
            cash=MoneyOut.minor(moved[domain.CUSTOMER_CASH], currency),
            voucher=MoneyOut.minor(moved[domain.CUSTOMER_VOUCHER], currency),
            voucher_balance=MoneyOut.of(repository.voucher_balance(session, entry.account_id,
                                                                   currency)),
            order_id=entry.order_id,
        )

    def _account_out(self, account: Account, session: Session | None = None) -> AccountOut:
        session = session or self.db.session
        billing = loaded(account.billing_info)
        mailing = loaded(account.mailing_info)
        billing_address = (profile.one_line(billing["address"]) if billing
                           else account.billing_address)
        standing = repository.standing_of(session, account)
        return AccountOut(
            id=account.id,
            company_name=account.company_name,
            email=account.email,
            organisation_number=account.organisation_number,
            billing_address=billing_address,
            currency=account.currency,
            cash_balance=standing.cash_balance,
            created_at=account.created_at,
            voucher_balance=standing.voucher_balance,
            credit_limit=standing.credit_limit,
            in_arrears=standing.in_arrears,
            arrears_amount=standing.arrears_amount,
            open_invoices=MoneyOut.of(repository.open_invoices(session, account.id, account.currency)),
            country=account.country,
            vat_number=account.vat_number,
            billing_info_complete=profile.billing_info_complete(billing),
            mailing_info_complete=profile.mailing_info_complete(mailing),
            missing=[f"billing_info.{m}" for m in profile.missing_billing_info(billing)]
            + [f"mailing_info.{m}" for m in profile.missing_mailing_info(mailing)],
            delivery_channel=account.delivery_channel,
            einvoice_capable=repository.einvoice_capable(session, account),
            einvoice_participant_id=account.participant_id,
            notifications_enabled=account.notifications_enabled,
            language=account.language,
            payment_reference=account.payment_reference,
        )

    @staticmethod
    def _principal(user: User) -> PrincipalOut:
        return PrincipalOut(
            user_id=user.id, account_id=user.account_id, email=user.email, role=user.role
        )


def bank_transaction_out(tx: BankTransaction) -> dict[str, Any]:
    return {
        "id": tx.id, "status": tx.status, "amount": money_wire(tx.amount_minor, tx.currency),
        "booked_on": tx.booked_on.isoformat() if tx.booked_on else None,
        "value_date": tx.value_date.isoformat() if tx.value_date else None,
        "debtor_name": tx.debtor_name, "debtor_iban": tx.debtor_iban,
        "remittance": tx.remittance, "creditor_reference": tx.creditor_reference,
        "bank_reference": tx.dedupe_key, "account_id": tx.account_id,
        "payment_invoice_id": tx.payment_invoice_id, "entry_id": tx.entry_id,
        "matched_by": tx.matched_by,
        "matched_at": wire_time(tx.matched_at) if tx.matched_at else None,
        "created_at": wire_time(tx.created_at),
    }


def member_out(user: User) -> dict[str, Any]:
    return {"user_id": user.id, "email": user.email, "role": user.account_role,
            "status": "removed" if user.disabled_at else
            ("active" if user.email_verified_at else "invited"),
            "created_at": wire_time(user.created_at)}


def payment_order_out(order: PaymentOrder) -> dict[str, Any]:
    return {
        "id": order.id, "account_id": order.account_id, "status": order.status,
        "amount": money_wire(order.amount_minor, order.currency),
        "paid_on": order.paid_on.isoformat(), "note": order.note, "filename": order.filename,
        "content_type": order.content_type, "size": order.size, "sha256": order.sha256,
        "reason": order.reason, "bank_transaction_id": order.bank_transaction_id,
        "decided_at": wire_time(order.decided_at) if order.decided_at else None,
        "created_at": wire_time(order.created_at),
    }


def remaining_of(payable: Payable) -> Money:
    """What is still to be paid on a payment invoice (nothing once paid or void)."""
    left = payable.total_minor - payable.paid_minor if payable.status == "open" else 0
    return Money.from_minor(max(left, 0), payable.currency)


def payable_out(payable: Payable) -> PayableOut:
    return PayableOut(
        payment_invoice_id=payable.payment_invoice_id, account_id=payable.account_id,
        number=payable.number, wire_reference=payable.wire_reference,
        total=MoneyOut.minor(payable.total_minor, payable.currency),
        paid=MoneyOut.minor(payable.paid_minor, payable.currency),
        remaining=MoneyOut.of(remaining_of(payable)), status=payable.status, claim=payable.claim)


def card_payment_out(payment: CardPayment) -> CardPaymentOut:
    return CardPaymentOut(
        id=payment.id, account_id=payment.account_id, status=payment.status,
        amount=MoneyOut.minor(payment.amount_minor, payment.currency),
        decline_reason=payment.decline_reason, payment_invoice_id=payment.payment_invoice_id,
        created_at=payment.created_at, settled_at=payment.settled_at)


def ledger_line(row: Any) -> dict[str, Any]:
    """A wallet posting as the API lists it."""
    currency = row.currency
    return {
        "id": str(row.id),
        "entry_id": row.entry_id,
        "kind": row.kind,
        "wallet": domain.WALLETS[row.book],
        "amount": money_wire(row.amount_minor, currency),
        "reference": row.order_id if row.kind == "refund" and row.order_id else row.reference,
        "order_id": row.order_id,
        "balance_after": money_wire(row.balance_after_minor, currency)
        if row.balance_after_minor is not None else None,
        "at": wire_time(row.created_at),
    }


def loaded(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def profile_of(session: Session, account: Account) -> ProfileChanged:
    """The profile as it is now, every part, with its version."""
    return ProfileChanged(
        account_id=account.id, company=company_of(account),
        billing_info=BillingInfo.model_validate_json(account.billing_info)
        if account.billing_info else None,
        mailing_info=MailingInfo.model_validate_json(account.mailing_info)
        if account.mailing_info else None,
        delivery_channel=account.delivery_channel,
        einvoice_capable=repository.einvoice_capable(session, account),
        notifications_enabled=account.notifications_enabled, language=account.language,
        profile_version=account.profile_version)


def company_of(account: Account) -> Company:
    return Company(legal_name=account.company_name, organisation_number=account.organisation_number,
                   vat_number=account.vat_number, country=account.country or "SE",
                   address=Address.model_validate_json(account.company_address)
                   if account.company_address else None)


def account_snapshot(account: Account) -> AccountSnapshot:
    return AccountSnapshot(account_id=account.id, company_name=account.company_name,
                           email=account.email, country=account.country,
                           organisation_number=account.organisation_number,
                           language=account.language)


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
                        password_hash=credentials.hash_password(settings.bootstrap_operator_password),
                        role="operator",
                        email_verified_at=utcnow(),
                    )
                )
                session.commit()
                log.info("created operator %s", email)
    except IntegrityError:  # another replica created it at the same moment
        pass
    finally:
        engine.dispose()


SERVICE = BillingService
