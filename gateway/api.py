"""Routes of ``/api/v1``.  Each route: authenticate → call one service → answer.

Routes are asynchronous end to end.  A service's JSON answer passes through as it came (the
response models document it in OpenAPI; it is not validated a second time).  Customer routes
act on the caller's own account; operator routes live under ``/admin``.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from gateway import card_simulator, idempotency, schemas
from gateway.auth import Principal
from gateway.errors import SignatureInvalid, responses
from gateway.validation import AMOUNT_PATTERN, CheckedRoute, check_text, forbidden_character
from services.common import errors
from services.common.contracts import (
    AccountOut,
    FileOut,
    InvoiceableOrderOut,
    InvoiceApplicationOut,
    InvoiceOut,
    LedgerEntryOut,
    OrderOut,
    PaymentInvoiceOut,
    PrincipalOut,
    ProductOut,
    ReportOut,
    utcnow,
)
from services.common.errors import NotFound, PayloadTooLarge
from services.common.pages import MAX_LIMIT

router = APIRouter(prefix="/api/v1", route_class=CheckedRoute)
bearer = HTTPBearer(auto_error=False, description="the token from /auth/login or /auth/register")
IdempotencyKey = Header(None, alias="Idempotency-Key",
                        description="repeat the request safely: a retry answers the first answer")
Limit = Query(None, ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")
Cursor = Query(None, max_length=200, description="`next_cursor` of the previous page")

# what a route may answer besides its success, for the OpenAPI document
SIGNED_IN = (401, 503, 504)
READ_ONE = (*SIGNED_IN, 404)
WRITE = (*SIGNED_IN, 409, 413, 422)


class ServiceJSON(Response):
    """A service's JSON answer, passed through byte for byte."""

    media_type = "application/json"


async def principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    header = f"Bearer {credentials.credentials}" if credentials else None
    tokens = request.app.state.tokens
    return tokens.verify(header)


async def operator(me: Principal = Depends(principal)) -> Principal:
    me.require_operator()
    return me


def context(request: Request) -> dict[str, str]:
    return {"request_id": request.state.request_id}


async def call(request: Request, service: str, method: str, *args: Any) -> Any:
    return await request.app.state.services.call(service, method, *args, context=context(request))


async def relay(request: Request, service: str, method: str, *args: Any) -> Response:
    """Answer with the service's JSON as it came."""
    body = await request.app.state.services.call_json(service, method, *args,
                                                      context=context(request))
    return ServiceJSON(body)


async def once(
    request: Request,
    scope: str,
    key: str | None,
    body: Any,
    handler: Callable[[], Awaitable[tuple[int, Any]]],
    present: Callable[[Any], Any] = lambda stored: stored,
) -> JSONResponse:
    """Answer a creating or money-moving POST at most once per Idempotency-Key.  What is
    stored is ``handler``'s body; ``present`` turns it into the answer each time (so a
    secret, such as a token, is made afresh and never stored)."""
    status, stored, replayed = await idempotency.run(
        request.app.state.idempotency, scope, key,
        idempotency.fingerprint(request.method, request.url.path, body), handler,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(present(stored) if status < 400 else stored, status_code=status,
                        headers=headers)


def request_key(me: Principal, key: str | None) -> str:
    """The key a service dedupes on: the client's Idempotency-Key in the caller's scope (two
    users of one account may pick the same key), or a fresh one."""
    return f"{me.user_id}:{key}" if key else str(uuid.uuid4())


# -- authentication -------------------------------------------------------------------------------


@router.post("/auth/register", status_code=201, tags=["auth"], response_model=schemas.RegisteredOut,
             responses=responses(409, 413, 422, 503, 504))
async def register(request: Request, body: schemas.RegisterIn,
                   key: str | None = IdempotencyKey) -> JSONResponse:
    """Open a customer account and its owner.  The owner cannot sign in before confirming the
    e-mail address through the link mailed to it (`POST /auth/verify`)."""
    data = body.model_dump(mode="json")
    scope = idempotency.anonymous_scope(client_of(request), data)

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "billing", "register_account", data,
                               f"{scope}:{key}" if key else None)

    return await once(request, scope, key, data, handler)


@router.post("/auth/verify", tags=["auth"], response_model=schemas.VerifiedOut,
             responses=responses(400, 413, 422, 503, 504))
async def verify_email(request: Request, body: schemas.TokenIn) -> dict[str, Any]:
    """Confirm an e-mail address with the token of the mailed link (400 `token_invalid` when it
    is wrong, used or expired)."""
    who = await call(request, "billing", "verify_email", body.token)
    return {"user_id": who["user_id"], "account_id": who["account_id"], "email": who["email"]}


@router.post("/auth/verification-mail", status_code=202, tags=["auth"],
             responses=responses(413, 422, 503, 504))
async def resend_verification(request: Request, body: schemas.EmailIn) -> Response:
    """Mail a new verification link.  Answers 202 whatever the address, so nobody learns
    which addresses have accounts."""
    await call(request, "billing", "send_verification_mail", body.email)
    return Response(status_code=202)


@router.post("/auth/login", tags=["auth"], response_model=schemas.TokenOut,
             responses=responses(401, 403, 413, 422, 429, 503, 504))
async def login(request: Request, body: schemas.LoginIn) -> dict[str, Any]:
    """A bearer token.  401 `invalid_credentials`; 403 `email_not_verified`; 429
    `too_many_attempts` with `Retry-After` after 100 failures in an hour for the address or
    the client."""
    found = await call(request, "billing", "authenticate", body.email, body.password,
                       client_of(request))
    return token_out(request, PrincipalOut.model_validate(found))


@router.post("/auth/logout", status_code=204, tags=["auth"], responses=responses(*SIGNED_IN))
async def logout(request: Request, me: Principal = Depends(principal)) -> Response:
    """The token stops working at once."""
    await call(request, "billing", "revoke_token", me.token_id, me.expires_at)
    request.app.state.tokens.revoke(f"token:{me.token_id}", utcnow(),
                                    datetime.fromtimestamp(me.expires_at, UTC))
    return Response(status_code=204)


@router.post("/auth/accept-invite", tags=["auth"], response_model=schemas.VerifiedOut,
             responses=responses(400, 413, 422, 503, 504))
async def accept_invite(request: Request, body: schemas.PasswordResetIn) -> dict[str, Any]:
    """An invited member chooses a password with the token of the mailed link."""
    who = await call(request, "billing", "accept_invite", body.token, body.password)
    return {"user_id": who["user_id"], "account_id": who["account_id"], "email": who["email"]}


@router.get("/account/members", tags=["profile"], responses=responses(*SIGNED_IN))
async def members(request: Request, me: Principal = Depends(principal)) -> Response:
    """The account's users: owner and members, with `status` active | invited | removed."""
    return await relay(request, "billing", "list_members", me.own_account())


@router.post("/account/members", status_code=201, tags=["profile"],
             responses=responses(*WRITE, 403))
async def invite(request: Request, body: schemas.EmailIn, me: Principal = Depends(principal)) -> Any:
    """The owner invites someone by e-mail (403 for a member)."""
    return await call(request, "billing", "invite_member", me.own_account(), me.user_id, body.email)


@router.delete("/account/members/{user_id}", status_code=204, tags=["profile"],
               responses=responses(*READ_ONE, 403, 422))
async def remove_member(request: Request, user_id: str, me: Principal = Depends(principal)) -> Response:
    """The owner removes a member: it can no longer sign in, and its tokens stop working."""
    await call(request, "billing", "remove_member", me.own_account(), me.user_id, user_id)
    ttl = timedelta(seconds=request.app.state.settings.token_ttl_seconds)
    request.app.state.tokens.revoke(f"user:{user_id}", utcnow(), utcnow() + ttl)
    return Response(status_code=204)


@router.get("/me", tags=["auth"], responses=responses(*READ_ONE))
async def who_am_i(request: Request, me: Principal = Depends(principal)) -> Any:
    """The signed-in user, their role, and their account in short."""
    return await call(request, "billing", "get_me", me.user_id)


@router.post("/auth/password-reset", status_code=202, tags=["auth"],
             responses=responses(413, 422, 503, 504))
async def password_reset(request: Request, body: schemas.EmailIn) -> Response:
    """Mail a link to choose a new password.  202 whatever the address."""
    await call(request, "billing", "request_password_reset", body.email)
    return Response(status_code=202)


@router.post("/auth/password-reset/confirm", status_code=204, tags=["auth"],
             responses=responses(400, 413, 422, 503, 504))
async def password_reset_confirm(request: Request, body: schemas.PasswordResetIn) -> Response:
    """Set the new password; every token of the user issued until now stops working."""
    who = await call(request, "billing", "reset_password", body.token, body.password)
    ttl = timedelta(seconds=request.app.state.settings.token_ttl_seconds)
    request.app.state.tokens.revoke(f"user:{who['user_id']}", utcnow(), utcnow() + ttl)
    return Response(status_code=204)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def token_out(request: Request, who: PrincipalOut) -> dict[str, Any]:
    token, expires = request.app.state.tokens.issue(who)
    return schemas.TokenOut(
        token=token, expires_at=expires, account_id=who.account_id, user_id=who.user_id,
        role=who.role,
    ).model_dump()


# -- accounts and balance ---------------------------------------------------------------------------


@router.get("/account", tags=["accounts"], response_model=AccountOut, responses=responses(*READ_ONE))
async def my_account(request: Request, me: Principal = Depends(principal)) -> Response:
    return await relay(request, "billing", "get_account", me.own_account())


# -- the profile ---------------------------------------------------------------------------------

PROFILE_WRITE = (*SIGNED_IN, 404, 413, 422)


async def profile_part(request: Request, me: Principal, part: str) -> Any:
    found = (await call(request, "billing", "get_profile", me.own_account()))[part]
    if found is None:
        raise NotFound(f"no {part.replace('_', ' ')} yet: PUT it first", {"part": part})
    return found


@router.get("/account/profile", tags=["profile"], response_model=schemas.ProfileOut,
            responses=responses(*READ_ONE))
async def my_profile(request: Request, me: Principal = Depends(principal)) -> Response:
    """Every part of the profile at once: `{company, billing_info, mailing_info}` (a part not
    given yet is `null`)."""
    return await relay(request, "billing", "get_profile", me.own_account())


@router.get("/account/company", tags=["profile"], response_model=schemas.CompanyIn,
            responses=responses(*READ_ONE))
async def get_company(request: Request, me: Principal = Depends(principal)) -> Any:
    """Legal name, organisation number, VAT number, country and address."""
    return await profile_part(request, me, "company")


@router.put("/account/company", tags=["profile"], response_model=schemas.CompanyIn,
            responses=responses(*PROFILE_WRITE))
async def put_company(request: Request, body: schemas.CompanyIn,
                      me: Principal = Depends(principal)) -> Any:
    """Replace the company details.  If the organisation number no longer reaches the
    e-invoice directory, an e-invoice channel falls back to PDF by e-mail (with a mail)."""
    return await call(request, "billing", "set_company", me.own_account(), body.model_dump(mode="json"))


@router.get("/account/billing-info", tags=["profile"], response_model=schemas.BillingInfoIn,
            responses=responses(*READ_ONE))
async def get_billing_info(request: Request, me: Principal = Depends(principal)) -> Any:
    """What invoices are made out to (404 until set: invoicing needs it)."""
    return await profile_part(request, me, "billing_info")


@router.put("/account/billing-info", tags=["profile"], response_model=schemas.BillingInfoIn,
            responses=responses(*PROFILE_WRITE))
async def put_billing_info(request: Request, body: schemas.BillingInfoIn,
                           me: Principal = Depends(principal)) -> Any:
    return await call(request, "billing", "set_billing_info", me.own_account(),
                      body.model_dump(mode="json"))


@router.get("/account/mailing-info", tags=["profile"], response_model=schemas.MailingInfoIn,
            responses=responses(*READ_ONE))
async def get_mailing_info(request: Request, me: Principal = Depends(principal)) -> Any:
    """Where documents go (404 until set: invoicing needs it)."""
    return await profile_part(request, me, "mailing_info")


@router.put("/account/mailing-info", tags=["profile"], response_model=schemas.MailingInfoIn,
            responses=responses(*PROFILE_WRITE))
async def put_mailing_info(request: Request, body: schemas.MailingInfoIn,
                           me: Principal = Depends(principal)) -> Any:
    return await call(request, "billing", "set_mailing_info", me.own_account(),
                      body.model_dump(mode="json"))


@router.put("/account/delivery", tags=["profile"], response_model=AccountOut,
            responses=responses(*PROFILE_WRITE, 409))
async def put_delivery(request: Request, body: schemas.DeliveryIn,
                       me: Principal = Depends(principal)) -> Response:
    """How issued invoices reach you: PDF by e-mail, letter, or e-invoice (409
    `einvoice_not_available` unless the organisation number is in the e-invoice directory)."""
    return await relay(request, "billing", "set_delivery_channel", me.own_account(), body.channel)


@router.put("/account/notifications", tags=["profile"], response_model=AccountOut,
            responses=responses(*PROFILE_WRITE))
async def put_notifications(request: Request, body: schemas.NotificationsIn,
                            me: Principal = Depends(principal)) -> Response:
    """Status e-mails on or off; verification, password reset and documents you ask for are
    mailed either way."""
    return await relay(request, "billing", "set_notifications", me.own_account(), body.enabled)


@router.put("/account/language", tags=["profile"], response_model=AccountOut,
            responses=responses(*PROFILE_WRITE))
async def put_language(request: Request, body: schemas.LanguageIn,
                       me: Principal = Depends(principal)) -> Response:
    """The language of mails and documents."""
    return await relay(request, "billing", "set_language", me.own_account(), body.language)


# -- the e-invoice directory (operators) ------------------------------------------------------------


@router.get("/admin/einvoice-directory", tags=["operator"],
            response_model=schemas.Page[schemas.ParticipantOut], responses=responses(*SIGNED_IN, 403))
async def einvoice_directory(request: Request, me: Principal = Depends(operator),
                             limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    return await relay(request, "billing", "list_einvoice_participants", limit, cursor)


@router.put("/admin/einvoice-directory/{participant_id}", tags=["operator"],
            response_model=schemas.ParticipantOut, responses=responses(*PROFILE_WRITE, 403))
async def put_participant(request: Request, participant_id: str, body: schemas.ParticipantIn,
                          me: Principal = Depends(operator)) -> Any:
    """Add or rename an organisation that can receive e-invoices; the id is `scheme:number`
    (`0007:5560000000`), digits only after the colon."""
    return await call(request, "billing", "put_einvoice_participant", participant_id, body.name)


@router.delete("/admin/einvoice-directory/{participant_id}", status_code=204, tags=["operator"],
               responses=responses(*READ_ONE, 403))
async def delete_participant(request: Request, participant_id: str,
                             me: Principal = Depends(operator)) -> Response:
    """Remove an organisation: accounts sending to it by e-invoice fall back to PDF by e-mail."""
    await call(request, "billing", "delete_einvoice_participant", participant_id)
    return Response(status_code=204)


@router.get("/admin/accounts", tags=["operator"], response_model=schemas.Page[AccountOut],
            responses=responses(*SIGNED_IN, 403, 422))
async def search_accounts(
    request: Request, me: Principal = Depends(operator), limit: int | None = Limit,
    cursor: str | None = Cursor,
    q: str | None = Query(None, max_length=100, description="part of a name, e-mail or "
                          "organisation number"),
) -> Response:
    return await relay(request, "billing", "search_accounts", q, limit, cursor)


@router.put("/admin/accounts/{account_id}/credit-limit", tags=["operator"], response_model=AccountOut,
            responses=responses(*PROFILE_WRITE, 403))
async def put_credit_limit(request: Request, account_id: str, body: schemas.CreditLimitIn,
                           me: Principal = Depends(operator)) -> Response:
    """Make the account postpaid: orders may take its cash balance down to minus this, and a
    negative cash balance is arrears.  Zero makes it prepaid again."""
    amount = body.amount.model_dump(mode="json")
    return await relay(request, "billing", "set_credit_limit", account_id, amount["amount"],
                       amount["currency"])


@router.get("/account/statement", tags=["accounts"], responses=responses(*SIGNED_IN, 422))
async def my_statement(
    request: Request, me: Principal = Depends(principal), limit: int | None = Limit,
    cursor: str | None = Cursor,
    since: str | None = Query(None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$"),
    until: str | None = Query(None, alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$"),
) -> Response:
    """The cash wallet over a period: opening balance, movements oldest first (in pages),
    closing balance."""
    return await relay(request, "billing", "statement", me.own_account(), since, until, limit,
                       cursor)


@router.get("/admin/accounts/{account_id}", tags=["operator"], response_model=AccountOut,
            responses=responses(*READ_ONE, 403))
async def any_account(request: Request, account_id: str,
                      me: Principal = Depends(operator)) -> Response:
    return await relay(request, "billing", "get_account", account_id)


@router.post(
    "/admin/accounts/{account_id}/top-ups", status_code=201, tags=["operator"],
    response_model=LedgerEntryOut, responses=responses(*WRITE, 403, 404),
)
async def top_up(
    request: Request,
    account_id: str,
    body: schemas.TopUpIn,
    me: Principal = Depends(operator),
    key: str | None = IdempotencyKey,
) -> Response:
    """An operator credits money received to a customer's cash balance."""
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "billing", "credit_balance", {
            "account_id": account_id, "amount": data["amount"]["amount"],
            "currency": data["amount"]["currency"], "reference": body.reference,
            "idempotency_key": request_key(me, key),
        })

    return await once(request, me.user_id, key, [account_id, data], handler)


# -- card payments -------------------------------------------------------------------------------


def pay_url(request: Request, card_payment_id: str) -> str:
    """The processor's page where a card payment is paid."""
    return f"{request.app.state.settings.console_url.rstrip('/')}/sim/card/{card_payment_id}"


def with_pay_url(request: Request, payment: dict[str, Any]) -> dict[str, Any]:
    return {**payment, "pay_url": pay_url(request, payment["id"])}


@router.post("/account/card-payments", status_code=201, tags=["accounts"],
             response_model=schemas.CardPaymentOut, responses=responses(*WRITE, 404))
async def start_card_payment(request: Request, body: schemas.CardPaymentIn,
                             me: Principal = Depends(principal),
                             key: str | None = IdempotencyKey) -> JSONResponse:
    """Top up by card (`amount`), or pay what remains on an open payment invoice by card
    (`payment_invoice_id`; 409 `payment_invoice_not_open` once it is paid or void): open
    `pay_url` (the processor's page), pay there, and the processor's signed callback settles
    the payment (`status`: pending → succeeded | declined)."""
    asked = body.model_dump(mode="json", exclude_none=True)
    amount = asked.get("amount") or {}

    async def handler() -> tuple[int, Any]:
        made = await call(request, "billing", "create_card_payment", me.own_account(),
                          amount.get("amount"), amount.get("currency"), request_key(me, key),
                          body.payment_invoice_id)
        return 201, made

    return await once(request, me.user_id, key, asked, handler,
                      present=lambda made: with_pay_url(request, made))


@router.get("/account/card-payments/{payment_id}", tags=["accounts"],
            response_model=schemas.CardPaymentOut, responses=responses(*READ_ONE))
async def card_payment(request: Request, payment_id: str, me: Principal = Depends(principal)) -> Any:
    return with_pay_url(request, await call(request, "billing", "get_card_payment",
                                            me.own_account(), payment_id))


@router.post("/payments/card/callback", tags=["payments"], responses=responses(400, 404, 413, 503, 504))
async def card_callback(request: Request) -> dict[str, Any]:
    """The card processor's callback: verified by its HMAC signature (`Processor-Signature`),
    idempotent, and tolerant of arriving twice or out of order."""
    raw = await request.body()
    secret = request.app.state.settings.card_webhook_secret
    if not card_simulator.signature_valid(secret, raw, request.headers.get(card_simulator.SIGNATURE_HEADER)):
        raise SignatureInvalid()
    notice = schemas.CardCallbackIn.model_validate_json(raw)
    settled = await call(request, "billing", "settle_card_payment", notice.payment_id,
                         notice.status, notice.decline_reason, notice.processor_reference)
    return {"received": True, "status": settled["status"]}


# -- wire transfers ------------------------------------------------------------------------------


@router.get("/account/wire-instructions", tags=["accounts"], responses=responses(*READ_ONE))
async def wire_instructions(request: Request, me: Principal = Depends(principal)) -> Any:
    """The seller's bank account and the payment reference to quote: a transfer quoting it is
    credited to this account's cash wallet when the bank statement is imported."""
    return await call(request, "billing", "wire_instructions", me.own_account())


@router.post("/admin/bank-statements", status_code=201, tags=["operator"],
             responses=responses(*WRITE, 403))
async def import_bank_statement(request: Request, file: UploadFile = File(
        description="a camt.053.001.02 or .001.08 statement of the seller's account"),
        me: Principal = Depends(operator)) -> Any:
    """Import a statement: `{matched, unmatched, duplicates}` (an entry imported before, by the
    bank's reference, is a duplicate and credits nothing)."""
    content = await file.read()
    return await call(request, "billing", "import_bank_statement",
                      base64.b64encode(content).decode(), me.user_id)


@router.get("/admin/bank-transactions", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def bank_transactions(request: Request, me: Principal = Depends(operator),
                            status: str | None = Query(None, pattern="^(matched|unmatched)$"),
                            limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    return await relay(request, "billing", "list_bank_transactions", status, limit, cursor)


@router.post("/admin/bank-transactions/{transaction_id}/match", tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def match_bank_transaction(request: Request, transaction_id: str, body: schemas.MatchIn,
                                 me: Principal = Depends(operator)) -> Any:
    """Say what an unmatched credit pays: an account's cash wallet (`account_id`), or a
    payment invoice (`payment_invoice_id`: up to what remains on it, the rest to its account's
    cash wallet)."""
    return await call(request, "billing", "match_bank_transaction", transaction_id,
                      body.account_id, me.user_id, body.payment_invoice_id)


# -- payment orders ------------------------------------------------------------------------------


def optional_text(value: str | None) -> str | None:
    """A form field's text refuses forbidden characters as a JSON body's does."""
    return None if value is None else check_text(value)


def shown_filename(name: str | None) -> str:
    """An uploaded file's name as it is kept for display: its last path part, without the
    characters no text field may hold, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if forbidden_character(c) is None)[:200]


@router.post("/account/payment-orders", status_code=201, tags=["accounts"],
             responses=responses(*WRITE, 404))
async def upload_payment_order(
    request: Request, me: Principal = Depends(principal), key: str | None = IdempotencyKey,
    file: UploadFile = File(description="the payment order: a PDF, PNG or JPEG of at most 10 MB"),
    amount: str = Form(pattern=AMOUNT_PATTERN, max_length=20, description="a decimal string"),
    currency: str = Form(pattern=r"^[A-Z]{3}$"),
    paid_on: str = Form(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD"),
    note: Annotated[str | None, Form(max_length=2000), AfterValidator(optional_text)] = None,
) -> JSONResponse:
    """Send the proof of a payment for the seller's staff to match to the money received
    (status `pending` → `matched` | `rejected`; you get a mail either way unless notifications
    are off).  The file's type is told by its content (422 otherwise; 413 over 10 MB)."""
    content = await file.read()
    if len(content) > 10 * 1024 * 1024:
        raise PayloadTooLarge("a payment order may have at most 10 MB", {"field": "file"})
    data = {"amount": amount, "currency": currency, "paid_on": paid_on, "note": note,
            "filename": shown_filename(file.filename)}
    fingerprint = {**data, "sha256": hashlib.sha256(content).hexdigest()}

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "billing", "upload_payment_order", me.own_account(), data,
                               base64.b64encode(content).decode(), request_key(me, key))

    return await once(request, me.user_id, key, fingerprint, handler)


@router.get("/account/payment-orders", tags=["accounts"], responses=responses(*SIGNED_IN, 422))
async def my_payment_orders(request: Request, me: Principal = Depends(principal),
                            limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    return await relay(request, "billing", "list_payment_orders", me.own_account(), None, limit,
                       cursor)


@router.get("/account/payment-orders/{order_id}/file", tags=["accounts"], response_class=Response,
            responses=responses(*READ_ONE))
async def my_payment_order_file(request: Request, order_id: str,
                                me: Principal = Depends(principal)) -> Response:
    return await file_answer(request, me.own_account(), order_id)


@router.get("/admin/payment-orders", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def payment_orders(request: Request, me: Principal = Depends(operator),
                         account_id: str | None = Query(None, max_length=36),
                         status: str | None = Query(None, pattern="^(pending|matched|rejected)$"),
                         limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    return await relay(request, "billing", "list_payment_orders", account_id, status, limit, cursor)


@router.get("/admin/payment-orders/{order_id}/file", tags=["operator"], response_class=Response,
            responses=responses(*READ_ONE, 403))
async def payment_order_file(request: Request, order_id: str,
                             me: Principal = Depends(operator)) -> Response:
    return await file_answer(request, None, order_id)


@router.post("/admin/payment-orders/{order_id}/decide", tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def decide_payment_order(request: Request, order_id: str, body: schemas.DecisionIn,
                               me: Principal = Depends(operator)) -> Any:
    return await call(request, "billing", "decide_payment_order", order_id, body.decision,
                      body.reason, body.bank_transaction_id, me.user_id)


async def file_answer(request: Request, account_id: str | None, order_id: str) -> Response:
    found = await call(request, "billing", "payment_order_file", account_id, order_id)
    return Response(base64.b64decode(found["content_b64"]), media_type=found["content_type"],
                    headers={"Content-Disposition": f'attachment; filename="payment-order-{order_id}"',
                             "X-Content-Type-Options": "nosniff"})


# -- vouchers and the ledger ------------------------------------------------------------------------


@router.get("/account/ledger", tags=["accounts"], response_model=schemas.Page[schemas.LedgerLineOut],
            responses=responses(*SIGNED_IN, 422))
async def my_ledger(
    request: Request, me: Principal = Depends(principal), limit: int | None = Limit,
    cursor: str | None = Cursor,
    since: str | None = Query(None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$",
                              description="first day, YYYY-MM-DD"),
    until: str | None = Query(None, alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$",
                              description="last day, YYYY-MM-DD"),
    kind: list[str] | None = Query(None, max_length=10, description="top_up, order_charge, "
                                   "refund, voucher_redeemed, ... (repeat for several)"),
    wallet: str | None = Query(None, pattern="^(cash|voucher)$"),
) -> Response:
    """Every movement of the wallets, newest first, with the balance after it."""
    return await relay(request, "billing", "ledger", me.own_account(), limit, cursor, kind, wallet,
                       since, until)


@router.post("/account/vouchers/redeem", status_code=201, tags=["accounts"],
             response_model=LedgerEntryOut, responses=responses(*WRITE, 404))
async def redeem_voucher(request: Request, body: schemas.RedeemIn,
                         me: Principal = Depends(principal)) -> Any:
    """Put a voucher into the voucher wallet (422 `voucher_invalid` or `voucher_expired`, 409
    `voucher_used`).  Voucher money pays orders; it is never paid out or invoiced."""
    return await call(request, "billing", "redeem_voucher", me.own_account(), body.code, me.user_id)


@router.post("/admin/vouchers", status_code=201, tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def create_voucher(request: Request, body: schemas.VoucherIn, me: Principal = Depends(operator),
                         key: str | None = IdempotencyKey) -> JSONResponse:
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "billing", "create_voucher", {
            "code": data["code"], "amount": data["amount"]["amount"],
            "currency": data["amount"]["currency"], "expires_on": data["expires_on"],
            "uses": data["uses"], "account_id": data["account_id"], "created_by": me.user_id})

    return await once(request, me.user_id, key, data, handler)


# -- catalogue and orders -------------------------------------------------------------------------


@router.get("/products", tags=["orders"], response_model=schemas.Page[ProductOut],
            responses=responses(503, 504))
async def products(request: Request) -> dict[str, Any]:
    """What is sold: each product's kind, price, VAT category and rate, names in other
    languages, and for goods the stock (`available` is on hand less what orders reserve),
    units per box, characteristics and certificates."""
    return {"items": await call(request, "orders", "list_products"), "next_cursor": None}


@router.get("/admin/products", tags=["operator"], response_model=schemas.Page[ProductOut],
            responses=responses(*SIGNED_IN, 403))
async def all_products(request: Request, me: Principal = Depends(operator)) -> dict[str, Any]:
    """The whole catalogue, products no longer sold (`active: false`) included."""
    return {"items": await call(request, "orders", "list_products", True), "next_cursor": None}


@router.post("/admin/products", status_code=201, tags=["operator"], response_model=ProductOut,
             responses=responses(*WRITE, 403))
async def create_product(request: Request, body: schemas.NewProductIn,
                         me: Principal = Depends(operator)) -> Any:
    """Add a product; 409 `product_sku_taken` if its SKU exists.  Goods start with no stock."""
    return await call(request, "orders", "create_product", body.model_dump(mode="json"))


@router.put("/admin/products/{sku}", tags=["operator"], response_model=ProductOut,
            responses=responses(*WRITE, 403, 404))
async def update_product(request: Request, sku: str, body: schemas.ProductBodyIn,
                         me: Principal = Depends(operator)) -> Any:
    """Rewrite a product (orders placed keep their prices; `active: false` stops its sale)."""
    return await call(request, "orders", "update_product", sku, body.model_dump(mode="json"))


@router.put("/admin/products/{sku}/stock", tags=["operator"], response_model=ProductOut,
            responses=responses(*WRITE, 403, 404))
async def set_stock(request: Request, sku: str, body: schemas.StockIn,
                    me: Principal = Depends(operator)) -> Any:
    """Set a good's stock on hand; what orders reserve stays reserved."""
    return await call(request, "orders", "set_stock", sku, body.on_hand)


# -- the cart ---------------------------------------------------------------------------------------

ORDER_FORM_LIMIT = 2 * 1024 * 1024


@router.get("/cart", tags=["orders"], responses=responses(*SIGNED_IN))
async def cart(request: Request, me: Principal = Depends(principal)) -> Any:
    """Your cart at today's prices: `{items: [{sku, name, quantity, unit_price, net, vat,
    gross, active}], totals}`."""
    return await call(request, "orders", "get_cart", me.user_id)


@router.post("/cart/items", tags=["orders"], responses=responses(*WRITE))
async def add_to_cart(request: Request, body: schemas.CartItemIn,
                      me: Principal = Depends(principal)) -> Any:
    """Add a quantity of a product (added to what the cart already holds of it)."""
    return await call(request, "orders", "add_to_cart", me.own_account(), me.user_id,
                      body.sku, body.quantity)


@router.patch("/cart/items/{sku}", tags=["orders"], responses=responses(*WRITE, 404))
async def change_cart_quantity(request: Request, sku: str, body: schemas.QuantityIn,
                               me: Principal = Depends(principal)) -> Any:
    return await call(request, "orders", "set_cart_quantity", me.user_id, sku, body.quantity)


@router.delete("/cart/items/{sku}", tags=["orders"], responses=responses(*READ_ONE))
async def remove_from_cart(request: Request, sku: str, me: Principal = Depends(principal)) -> Any:
    return await call(request, "orders", "remove_from_cart", me.user_id, sku)


@router.delete("/cart", status_code=204, tags=["orders"], responses=responses(*SIGNED_IN))
async def clear_cart(request: Request, me: Principal = Depends(principal)) -> Response:
    await call(request, "orders", "clear_cart", me.user_id)
    return Response(status_code=204)


@router.post("/cart/upload", tags=["orders"], responses=responses(*WRITE))
async def upload_order_form(
    request: Request, me: Principal = Depends(principal),
    file: UploadFile = File(description="an order form: CSV (comma or semicolon, UTF-8) or XLSX, "
                            "a header row naming the columns sku and quantity; at most 2 MB"),
) -> Any:
    """Fill the cart from an order form: `{added, errors: [{row, sku, reason}], cart}`; every
    good row is added, each bad one reported with its row number (`product_not_found`,
    `product_inactive`, `bad_quantity`, `missing_sku`, `quantity_too_large`).  A file that is
    not an order form adds nothing: 422 `order_form_unreadable`."""
    content = await file.read()
    if len(content) > ORDER_FORM_LIMIT:
        raise PayloadTooLarge("an order form may have at most 2 MB", {"field": "file"})
    return await call(request, "orders", "upload_order_form", me.own_account(), me.user_id,
                      base64.b64encode(content).decode())


@router.post(
    "/orders", status_code=201, tags=["orders"], response_model=OrderOut,
    responses={**responses(*WRITE, 402), 202: {
        "model": OrderOut,
        "description": "the order is placed and its payment is still being settled "
                       "(`status: awaiting_payment`); read it again shortly",
    }},
)
async def place_order(
    request: Request,
    body: schemas.OrderIn,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Order products.  Services and licences are paid from the cash balance (402
    ``insufficient_funds`` if it is short; the refused order stays listed as ``cancelled``).
    Goods are ordered apart and not charged: each line is checked against stock (approved,
    partly approved with `approved_quantity`, or rejected with `rejection_reason`), what is
    approved is reserved, and the order is a `draft`.  422 `product_inactive` for a product no
    longer sold."""
    account_id = me.own_account()
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        order = await call(request, "orders", "place_order", account_id, data,
                           request_key(me, key), me.user_id)
        waiting = (order["status"] == "awaiting_payment" and not order.get("card_payment_id")
                   and not order.get("payment_invoice_id"))
        return (202 if waiting else 201), order

    return await once(request, me.user_id, key, data, handler,
                      present=lambda order: with_order_pay_url(request, order))


def with_order_pay_url(request: Request, order: dict[str, Any]) -> dict[str, Any]:
    """An order waiting for its card payment carries the processor's page to pay it on."""
    if order.get("card_payment_id") and order.get("status") == "awaiting_payment":
        return {**order, "pay_url": pay_url(request, order["card_payment_id"])}
    return order


@router.get("/orders", tags=["orders"], response_model=schemas.Page[OrderOut],
            responses=responses(*SIGNED_IN, 422))
async def list_orders(request: Request, limit: int | None = Limit, cursor: str | None = Cursor,
                      me: Principal = Depends(principal)) -> Response:
    return await relay(request, "orders", "list_orders", me.own_account(), limit, cursor)


@router.get("/orders/{order_id}", tags=["orders"], response_model=OrderOut,
            responses=responses(*READ_ONE))
async def get_order(request: Request, order_id: str, me: Principal = Depends(principal)) -> Response:
    return await relay(request, "orders", "get_order", me.own_account(), order_id)


# -- goods orders: the draft, confirmation and shipment ------------------------------------------


@router.patch("/orders/{order_id}/lines/{line_id}", tags=["orders"], response_model=OrderOut,
              responses=responses(*WRITE, 404))
async def change_order_line(request: Request, order_id: str, line_id: str, body: schemas.QuantityIn,
                            me: Principal = Depends(principal)) -> Any:
    """Change a goods line's quantity (checked against stock again; the order becomes a draft
    to be sent for confirmation).  409 `order_locked` once sent for shipment."""
    return await call(request, "orders", "change_order_line", me.own_account(), order_id,
                      line_id, body.quantity)


@router.delete("/orders/{order_id}/lines/{line_id}", tags=["orders"], response_model=OrderOut,
               responses=responses(*WRITE, 404))
async def remove_order_line(request: Request, order_id: str, line_id: str,
                            me: Principal = Depends(principal)) -> Any:
    """Remove a goods line (its stock is freed; an order keeps at least one line)."""
    return await call(request, "orders", "remove_order_line", me.own_account(), order_id, line_id)


@router.post("/orders/{order_id}/lines/from-cart", tags=["orders"], response_model=OrderOut,
             responses=responses(*WRITE, 404))
async def add_cart_to_order(request: Request, order_id: str,
                            me: Principal = Depends(principal)) -> Any:
    """Move your cart's goods into this order (checked against stock); the cart is emptied."""
    return await call(request, "orders", "add_cart_to_order", me.own_account(), me.user_id,
                      order_id)


@router.post("/orders/{order_id}/send-for-confirmation", tags=["orders"], response_model=OrderOut,
             responses=responses(*WRITE, 404))
async def send_for_confirmation(request: Request, order_id: str,
                                me: Principal = Depends(principal)) -> Any:
    """Stock is checked again; the system confirms (`confirmed`, `confirmed_by: system`), or a
    manager does when the account or amount requires it (`awaiting_confirmation`).  A
    `changed` order's changes are accepted this way.  409 `insufficient_stock` if none of it
    is in stock."""
    return await call(request, "orders", "send_for_confirmation", me.own_account(), order_id)


@router.post("/orders/{order_id}/send-for-shipment", tags=["orders"], response_model=OrderOut,
             responses=responses(*WRITE, 404))
async def send_for_shipment(request: Request, order_id: str,
                            me: Principal = Depends(principal)) -> Any:
    """Lock a confirmed order (`sent_for_shipment`; edits are 409 `order_locked` from now on)
    and create its shipment in `to_warehouse`.  409 `order_changed_reconfirm` for a `changed`
    order, `order_not_editable` for one not confirmed yet."""
    return await call(request, "orders", "send_for_shipment", me.own_account(), order_id)


@router.post("/orders/merge", status_code=201, tags=["orders"], response_model=OrderOut,
             responses=responses(*WRITE, 404))
async def merge_orders(request: Request, body: schemas.MergeIn, me: Principal = Depends(principal),
                       key: str | None = IdempotencyKey) -> JSONResponse:
    """Merge goods orders not yet sent for shipment into a new draft (the same product's lines
    summed; send it for confirmation).  The originals become `marked_for_deletion` and are
    `deleted` after `ORDERS_MERGED_DELETE_AFTER_SECONDS` plus up to as much again.  409
    `order_not_mergeable`; 404 for an order that is not yours."""
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "orders", "merge_orders", me.own_account(),
                               data["order_ids"], request_key(me, key))

    return await once(request, me.user_id, key, data, handler)


@router.post("/orders/{order_id}/cancel", tags=["orders"], response_model=OrderOut,
             responses=responses(*WRITE, 404))
async def cancel_order(request: Request, order_id: str, me: Principal = Depends(principal)) -> Any:
    """Cancel a failed or partially failed order's failed part (when the automatic cancel did
    not): what those units paid is refunded, cash to cash, voucher to voucher.  Or cancel a
    goods order not yet sent for shipment: what it reserved goes back to stock (409
    `order_locked` once it is sent).  409 `order_not_cancellable` for any other order."""
    return await call(request, "orders", "cancel_order", me.own_account(), order_id)


@router.post("/admin/orders/{order_id}/cancel", tags=["operator"], response_model=OrderOut,
             responses=responses(*WRITE, 403, 404))
async def cancel_any_order(request: Request, order_id: str,
                           me: Principal = Depends(operator)) -> Any:
    """An operator cancels any account's order as its customer could (`POST
    /orders/{id}/cancel`): a failed part whose automatic cancel failed, or a goods order before
    shipment."""
    return await call(request, "orders", "cancel_order", None, order_id)


@router.put("/admin/provisioning-simulator/{sku}", tags=["operator"],
            responses=responses(*WRITE, 403, 404))
async def set_provisioning_rule(request: Request, sku: str, body: schemas.ProvisioningRuleIn,
                                me: Principal = Depends(operator)) -> Any:
    """How the provisioning simulator implements a SKU from now on (unconfigured: succeed)."""
    return await call(request, "orders", "set_provisioning_rule", sku, body.model_dump(mode="json"))


@router.put("/admin/provisioning-simulator/orders/{order_id}", tags=["operator"],
            responses=responses(*WRITE, 403, 404))
async def set_order_provisioning_rule(request: Request, order_id: str,
                                      body: schemas.OrderProvisioningRuleIn,
                                      me: Principal = Depends(operator)) -> Any:
    """How the provisioning simulator implements one order still awaiting payment (all its
    lines, or one `sku`'s), whatever its SKUs' rules say; 409 `order_not_editable` once it is
    paid."""
    return await call(request, "orders", "set_order_provisioning_rule", order_id,
                      body.model_dump(mode="json"))


@router.get("/admin/orders", tags=["operator"], response_model=schemas.Page[OrderOut],
            responses=responses(*SIGNED_IN, 403, 422))
async def all_orders(request: Request, me: Principal = Depends(operator),
                     status: str | None = Query(None, pattern=r"^[a-z_]{1,30}$"),
                     account_id: str | None = Query(None, max_length=36),
                     cancel_status: str | None = Query(None, pattern="^(pending|blocked|done)$"),
                     limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    """Every account's orders, newest first (`?status=awaiting_confirmation` is the managers'
    queue; `?cancel_status=pending` lists refunds billing has not confirmed yet, retried by the
    reconciler, and `blocked` the cancels that wait for a manual one)."""
    return await relay(request, "orders", "list_all_orders", status, account_id, limit, cursor,
                       cancel_status)


@router.post("/admin/orders/{order_id}/confirm", tags=["operator"], response_model=OrderOut,
             responses=responses(*WRITE, 403, 404))
async def confirm_order(request: Request, order_id: str, me: Principal = Depends(operator)) -> Any:
    """A manager confirms a goods order awaiting confirmation (`confirmed_by: manager`)."""
    return await call(request, "orders", "confirm_order", order_id)


# -- shipments ------------------------------------------------------------------------------------

SHIPMENT_STATUS = Query(None, pattern="^(to_warehouse|assembled|shipped)$")


@router.get("/shipments", tags=["orders"], responses=responses(*SIGNED_IN, 422))
async def my_shipments(request: Request, me: Principal = Depends(principal),
                       order_id: str | None = Query(None, max_length=36),
                       status: str | None = SHIPMENT_STATUS, limit: int | None = Limit,
                       cursor: str | None = Cursor) -> Response:
    """Your shipments newest first: `{id, number, order_id, status, boxes, lines, total,
    shipped_at}`; a shipped one is a realization."""
    return await relay(request, "orders", "list_shipments", me.own_account(), order_id, status,
                       limit, cursor)


@router.get("/shipments/{shipment_id}", tags=["orders"], responses=responses(*READ_ONE))
async def my_shipment(request: Request, shipment_id: str, me: Principal = Depends(principal)) -> Any:
    return await call(request, "orders", "get_shipment", me.own_account(), shipment_id)


@router.get("/admin/shipments", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def all_shipments(request: Request, me: Principal = Depends(operator),
                        order_id: str | None = Query(None, max_length=36),
                        status: str | None = SHIPMENT_STATUS, limit: int | None = Limit,
                        cursor: str | None = Cursor) -> Response:
    return await relay(request, "orders", "list_shipments", None, order_id, status, limit, cursor)


@router.post("/admin/shipments/{shipment_id}/status", tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def set_shipment_status(request: Request, shipment_id: str, body: schemas.ShipmentStatusIn,
                              me: Principal = Depends(operator)) -> Any:
    """Move a shipment on: `assembled` (with `boxes`, each number once, holding exactly the
    shipment's lines; without, packed by each product's units per box), then `shipped`."""
    boxes = [box.model_dump(mode="json") for box in body.boxes] if body.boxes else None
    return await call(request, "orders", "set_shipment_status", shipment_id, body.status, boxes)


# -- invoices -------------------------------------------------------------------------------------


@router.get("/invoiceable-orders", tags=["invoices"], response_model=schemas.Page[InvoiceableOrderOut],
            responses=responses(*SIGNED_IN, 422))
async def invoiceable(request: Request, limit: int | None = Limit, cursor: str | None = Cursor,
                      me: Principal = Depends(principal)) -> Response:
    """The Invoiceable List: implemented orders paid in cash, each saying whether it can be put
    on an application now (``invoiceable``) or why not (``reason``)."""
    return await relay(request, "invoicing", "invoiceable", me.own_account(), limit, cursor)


@router.post(
    "/invoice-applications", status_code=201, tags=["invoices"],
    response_model=InvoiceApplicationOut, responses=responses(*WRITE, 404),
)
async def apply_for_invoice(
    request: Request,
    body: schemas.ApplicationIn,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Apply: the chosen orders go on an application awaiting confirmation — the preview
    (billing and mailing information, channel, lines, total).  Refused with 409
    `billing_info_missing`, `mailing_info_missing` or `account_in_arrears` (checked here and
    again by the invoicing service), and for an order `order_paid_with_voucher`,
    `order_implementation_failed`, `order_already_invoiced` or `order_not_invoiceable`; 404
    for another account's order."""
    account_id = me.own_account()
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        account = await call(request, "billing", "may_apply_for_invoices", account_id)
        if not account["billing_info_complete"]:
            raise errors.BillingInfoMissing(details={"missing": "billing_info"})
        if not account["mailing_info_complete"]:
            raise errors.MailingInfoMissing(details={"missing": "mailing_info"})
        if account["in_arrears"]:
            raise errors.AccountInArrears()
        return 201, await call(request, "invoicing", "apply", account_id, data,
                               request_key(me, key))

    return await once(request, me.user_id, key, data, handler)


@router.get("/invoice-applications", tags=["invoices"],
            response_model=schemas.Page[InvoiceApplicationOut], responses=responses(*SIGNED_IN, 422))
async def list_applications(request: Request, limit: int | None = Limit,
                            cursor: str | None = Cursor,
                            me: Principal = Depends(principal)) -> Response:
    """The Invoice List: applications with their statuses, newest first."""
    return await relay(request, "invoicing", "list_applications", me.own_account(), limit, cursor)


@router.get("/invoice-applications/{application_id}", tags=["invoices"],
            response_model=InvoiceApplicationOut, responses=responses(*READ_ONE))
async def get_application(request: Request, application_id: str,
                          me: Principal = Depends(principal)) -> Response:
    return await relay(request, "invoicing", "get_application", me.own_account(), application_id)


@router.post(
    "/invoice-applications/{application_id}/confirm", tags=["invoices"],
    response_model=InvoiceApplicationOut, responses=responses(*READ_ONE, 409),
)
async def confirm_application(
    request: Request,
    application_id: str,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Confirm: the invoice is issued with its number (the application then carries
    ``invoice_id``); its PDF follows shortly.  Confirming again answers the same."""
    account_id = me.own_account()

    async def handler() -> tuple[int, Any]:
        return 200, await call(request, "invoicing", "confirm", account_id, application_id)

    return await once(request, me.user_id, key, application_id, handler)


@router.post(
    "/invoice-applications/{application_id}/withdraw", tags=["invoices"],
    response_model=InvoiceApplicationOut, responses=responses(*READ_ONE, 409),
)
async def withdraw_application(request: Request, application_id: str,
                               me: Principal = Depends(principal)) -> Any:
    """Withdraw an application not yet issued (`awaiting_confirmation` or `submitted`): its
    orders can be applied for again.  409 `application_not_pending` once it is issued or
    rejected."""
    return await call(request, "invoicing", "withdraw", me.own_account(), application_id)


@router.post("/payment-invoices", status_code=201, tags=["invoices"],
             response_model=PaymentInvoiceOut, responses=responses(*WRITE, 404))
async def request_payment_invoice(request: Request, body: schemas.PaymentInvoiceIn,
                                  me: Principal = Depends(principal),
                                  key: str | None = IdempotencyKey) -> Response:
    """An invoice for payment: for chosen shipped shipments (`shipment_ids`: their totals, VAT
    included; 409 `order_already_invoiced` for one already on a payment invoice, 404 for one not
    shipped or another account's), or for any `amount` (an advance, credited to the cash
    balance when paid).  Pay it by a wire quoting its `number` or `wire_reference`, or by card."""
    account_id = me.own_account()
    asked = body.model_dump(mode="json", exclude_none=True)
    data = {"shipment_ids": body.shipment_ids} if body.shipment_ids else {
        "amount": asked["amount"]["amount"], "currency": asked["amount"]["currency"]}

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "invoicing", "create_payment_invoice", account_id, data,
                               request_key(me, key))

    return await once(request, me.user_id, key, asked, handler)


@router.post("/payment-invoices/{payment_invoice_id}/card-payments", status_code=201,
             tags=["invoices"], response_model=schemas.CardPaymentOut,
             responses=responses(*WRITE, 404))
async def pay_payment_invoice_by_card(request: Request, payment_invoice_id: str,
                                      me: Principal = Depends(principal),
                                      key: str | None = IdempotencyKey) -> JSONResponse:
    """Pay what is still open on a payment invoice by card: open `pay_url` (the processor's
    page); 409 `payment_invoice_not_open` once it is paid or void."""

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "billing", "create_card_payment", me.own_account(), None,
                               None, request_key(me, key), payment_invoice_id)

    return await once(request, me.user_id, key, {"payment_invoice_id": payment_invoice_id},
                      handler, present=lambda made: with_pay_url(request, made))


@router.get("/admin/invoice-applications", tags=["operator"],
            response_model=schemas.Page[InvoiceApplicationOut],
            responses=responses(*SIGNED_IN, 403, 422))
async def all_applications(request: Request, me: Principal = Depends(operator),
                           status: str | None = Query(None, pattern=r"^[a-z_]{1,30}$"),
                           limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    """Every account's applications, newest first (`?status=submitted`: those to review)."""
    return await relay(request, "invoicing", "list_all_applications", status, limit, cursor)


@router.post("/admin/invoice-applications/{application_id}/approve", tags=["operator"],
             response_model=InvoiceApplicationOut, responses=responses(*WRITE, 403, 404))
async def approve_application(request: Request, application_id: str,
                              me: Principal = Depends(operator)) -> Any:
    """Approve a submitted application: its invoice is issued."""
    return await call(request, "invoicing", "approve", application_id)


@router.post("/admin/invoice-applications/{application_id}/reject", tags=["operator"],
             response_model=InvoiceApplicationOut, responses=responses(*WRITE, 403, 404))
async def reject_application(request: Request, application_id: str, body: schemas.RejectionIn,
                             me: Principal = Depends(operator)) -> Any:
    """Reject a submitted application with a reason the customer sees; its orders are free
    again."""
    return await call(request, "invoicing", "reject", application_id, body.reason)


@router.get("/invoices", tags=["invoices"], response_model=schemas.Page[InvoiceOut],
            responses=responses(*SIGNED_IN, 422))
async def list_invoices(request: Request, limit: int | None = Limit, cursor: str | None = Cursor,
                        kind: str | None = Query(None, pattern="^(invoice|credit_note|payment_invoice)$"),
                        me: Principal = Depends(principal)) -> Response:
    """The account's invoices, newest first, each with its VAT breakdown, totals and
    `delivery_status`; `?kind=credit_note`: its credit notes (`credited_invoice_id`);
    `?kind=payment_invoice`: its invoices for payment (a wire-transfer order's, with `number`,
    `wire_reference`, `due_date`, `paid_amount`)."""
    return await relay(request, "invoicing", "list_invoices", me.own_account(), limit, cursor,
                       kind)


@router.get("/invoices/{invoice_id}", tags=["invoices"],
            response_model=InvoiceOut | PaymentInvoiceOut, responses=responses(*READ_ONE))
async def get_invoice(request: Request, invoice_id: str, me: Principal = Depends(principal)) -> Response:
    return await relay(request, "invoicing", "get_invoice", me.own_account(), invoice_id)


@router.get(
    "/invoices/{invoice_id}/pdf", tags=["invoices"], response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the invoice as PDF"},
               **responses(*READ_ONE, 409)},
)
async def invoice_pdf(request: Request, invoice_id: str,
                      me: Principal = Depends(principal)) -> Response:
    """The invoice, credit note or payment invoice as PDF (an invoice or credit note is
    Factur-X: its EN 16931 XML inside); 409 ``document_not_ready`` (with Retry-After) while it
    is rendered."""
    account_id = me.own_account()
    found = await call(request, "invoicing", "get_invoice", account_id, invoice_id)  # 404: others'
    kind = "payment_invoice" if found.get("kind") == "payment_invoice" else "invoice"
    document = await call(request, "documents", "get_document", account_id, kind, invoice_id)
    return Response(
        base64.b64decode(document["content_b64"]),
        media_type=document["content_type"],
        headers={"Content-Disposition": f'inline; filename="{document["filename"]}"'},
    )


@router.get(
    "/invoices/{invoice_id}/xml", tags=["invoices"], response_class=Response,
    responses={200: {"content": {"application/xml": {}},
                     "description": "UBL 2.1, Peppol BIS Billing 3.0"}, **responses(*READ_ONE)},
)
async def invoice_xml(request: Request, invoice_id: str,
                      me: Principal = Depends(principal)) -> Response:
    """The invoice or credit note as a UBL 2.1 Peppol BIS Billing 3.0 e-invoice."""
    made = await call(request, "invoicing", "einvoice_xml", me.own_account(), invoice_id)
    return Response(made["xml"].encode(), media_type="application/xml",
                    headers={"Content-Disposition": f'inline; filename="{made["filename"]}"'})


@router.post("/admin/invoices/{invoice_id}/credit-notes", status_code=201, tags=["operator"],
             response_model=InvoiceOut, responses=responses(*WRITE, 403, 404))
async def credit_invoice(request: Request, invoice_id: str, body: schemas.CreditNoteIn,
                         me: Principal = Depends(operator),
                         key: str | None = IdempotencyKey) -> Response:
    """Credit an invoice in full (a correction): a credit note in its own series for every
    line, delivered like the invoice; its orders can be applied for and invoiced again.
    Crediting it again answers the same credit note; 409 `invoice_already_credited` for an
    invoice credited in part (refunds of its orders issue their credit notes by themselves)."""
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 201, await call(request, "invoicing", "credit_invoice", invoice_id, body.reason)

    return await once(request, me.user_id, key, {"invoice_id": invoice_id, **data}, handler)


@router.post("/admin/orders/{order_id}/refunds", tags=["operator"], response_model=OrderOut,
             responses=responses(*WRITE, 403, 404))
async def refund_order_units(request: Request, order_id: str, body: schemas.RefundIn,
                             me: Principal = Depends(operator),
                             key: str | None = IdempotencyKey) -> Response:
    """Refund implemented units of a completed service or licence order (a later
    cancellation, a correction): what they paid goes back, cash to cash, voucher to voucher;
    an invoiced order gets a credit note for exactly those units.  409 `order_not_cancellable`
    for an order not completed; 422 for more units than are left to refund.  Repeat with the
    same Idempotency-Key after a timeout: the refund is made once."""
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 200, await call(request, "orders", "refund_units", order_id, data,
                               request_key(me, key))

    return await once(request, me.user_id, key, {"order_id": order_id, **data}, handler)


@router.get("/admin/deliveries", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def list_deliveries(request: Request, me: Principal = Depends(operator),
                          invoice_id: str | None = Query(None, max_length=36),
                          status: str | None = Query(None, pattern=r"^[a-z_]{1,30}$"),
                          channel: str | None = Query(None, pattern="^(email_pdf|letter|einvoice)$"),
                          limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    """Every document's delivery, newest first: `{id, invoice_id, channel, status, attempts,
    message_id, rule_ids, last_error, history}` — the access point's message id for an
    e-invoice, the failed rule ids for a held one."""
    return await relay(request, "invoicing", "list_deliveries", invoice_id, status, channel,
                       limit, cursor)


@router.post("/admin/deliveries/{delivery_id}/retry", tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def retry_delivery(request: Request, delivery_id: str,
                         me: Principal = Depends(operator)) -> Any:
    """Try a failed or held delivery again now (one under way: as it is)."""
    return await call(request, "invoicing", "retry_delivery", delivery_id)


@router.get("/admin/letters", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def list_letters(request: Request, me: Principal = Depends(operator),
                       status: str | None = Query(None, pattern="^(queued_for_print|posted|pending)$"),
                       limit: int | None = Limit, cursor: str | None = Cursor) -> Response:
    """The letter queue: documents to print and post, `{id, invoice_id, address, status}`
    (`?status=queued_for_print`: those waiting)."""
    return await relay(request, "invoicing", "list_deliveries", None, status, "letter", limit,
                       cursor)


@router.get(
    "/admin/letters/{letter_id}/pdf", tags=["operator"], response_class=Response,
    responses={200: {"content": {"application/pdf": {}},
                     "description": "print-ready: the address sits in a C5/DL envelope window"},
               **responses(*READ_ONE, 403, 409)},
)
async def letter_pdf(request: Request, letter_id: str, me: Principal = Depends(operator)) -> Response:
    letter = await call(request, "invoicing", "get_delivery", letter_id, "letter")
    document = await call(request, "documents", "get_document", letter["account_id"], "invoice",
                          letter["invoice_id"])
    return Response(base64.b64decode(document["content_b64"]), media_type=document["content_type"],
                    headers={"Content-Disposition": f'inline; filename="{document["filename"]}"'})


@router.post("/admin/letters/{letter_id}/posted", tags=["operator"],
             responses=responses(*WRITE, 403, 404))
async def letter_posted(request: Request, letter_id: str, me: Principal = Depends(operator)) -> Any:
    """The letter was printed and posted (409 `letter_not_queued` before it is queued)."""
    return await call(request, "invoicing", "mark_posted", letter_id)


@router.put("/admin/access-point-simulator", tags=["operator"],
            responses=responses(*WRITE, 403))
async def set_access_point_simulator(request: Request, body: schemas.AccessPointSimulatorIn,
                                     me: Principal = Depends(operator)) -> Any:
    """How the built-in e-invoice access point answers from now on."""
    return await call(request, "invoicing", "set_access_point_simulator", body.outcome)


# -- reports and the Files centre ---------------------------------------------------------------------


@router.post("/reports", status_code=202, tags=["documents"], response_model=ReportOut,
             responses=responses(*WRITE))
async def request_report(request: Request, body: schemas.ReportIn, me: Principal = Depends(principal),
                         key: str | None = IdempotencyKey) -> JSONResponse:
    """Ask for a report; it is produced in the background (`GET /reports/{id}` follows it),
    mailed when ready — attached, or linked when large — whatever the notifications switch
    says, and listed in `GET /files`.  A period reaching back further than the report allows
    is 422 `period_too_long` with the allowed range in `details` (`max_from`, `to`)."""
    account_id = me.own_account()
    data = body.model_dump(mode="json")

    async def handler() -> tuple[int, Any]:
        return 202, await call(request, "documents", "request_report", {
            "account_id": account_id, "request_key": request_key(me, key), "email": me.email,
            "kind": body.kind, "format": body.format, "period_from": data["period_from"],
            "period_to": data["to"], "shipment_ids": body.shipment_ids, "order_id": body.order_id,
            "layout": body.layout})

    return await once(request, me.user_id, key, data, handler)


@router.get("/reports", tags=["documents"], response_model=schemas.Page[ReportOut],
            responses=responses(*SIGNED_IN, 422))
async def list_reports(request: Request, me: Principal = Depends(principal), limit: int | None = Limit,
                       cursor: str | None = Cursor) -> Response:
    return await relay(request, "documents", "list_reports", me.own_account(), limit, cursor)


@router.get("/reports/{report_id}", tags=["documents"], response_model=ReportOut,
            responses=responses(*READ_ONE))
async def get_report(request: Request, report_id: str, me: Principal = Depends(principal)) -> Response:
    """`queued` → `running` (`progress` 0–100) → `ready` (`file_id`) or `failed` (`error`)."""
    return await relay(request, "documents", "get_report", me.own_account(), report_id)


@router.get("/files", tags=["documents"], response_model=schemas.Page[FileOut],
            responses=responses(*SIGNED_IN, 422))
async def list_files(request: Request, me: Principal = Depends(principal), limit: int | None = Limit,
                     cursor: str | None = Cursor) -> Response:
    """The Files centre: issued invoices and credit notes, and reports' files (kept
    `FILES_RETENTION_DAYS`), newest first."""
    return await relay(request, "documents", "list_files", me.own_account(), limit, cursor)


@router.get("/files/{file_id}", tags=["documents"], response_model=FileOut, responses=responses(*READ_ONE))
async def get_file(request: Request, file_id: str, me: Principal = Depends(principal)) -> Response:
    return await relay(request, "documents", "get_file", me.own_account(), file_id)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_CONTENT: dict[int | str, dict[str, Any]] = {200: {
    "content": {"application/pdf": {}, "text/csv": {}, XLSX: {}},
    "description": "the file's bytes, streamed"}}


@router.get("/files/{file_id}/content", tags=["documents"], response_class=Response,
            responses={**FILE_CONTENT, **responses(*READ_ONE, 410)})
async def file_content(request: Request, file_id: str, me: Principal = Depends(principal)) -> Response:
    """The file's bytes, streamed from the file store (checked against their checksum)."""
    return await stream_file(request, me.own_account(), file_id)


@router.get("/admin/files/{file_id}/content", tags=["operator"], response_class=Response,
            responses={**FILE_CONTENT, **responses(*READ_ONE, 403, 410)})
async def any_file_content(request: Request, file_id: str, me: Principal = Depends(operator)) -> Response:
    return await stream_file(request, None, file_id)


@router.get("/admin/reports/receivables", tags=["operator"], responses=responses(*SIGNED_IN, 403, 422))
async def all_receivables(request: Request, me: Principal = Depends(operator), limit: int | None = Limit,
                          cursor: str | None = Cursor) -> Response:
    """Every account's receivables today: balances, open payment invoices and what is owed in
    the ageing buckets `current`, `1_30`, `31_60`, `61_90`, `over_90` (days past due)."""
    return await relay(request, "billing", "receivables", None, None, limit, cursor)


async def stream_file(request: Request, account_id: str | None, file_id: str) -> Response:
    """A file the documents service says this account may have, read from the shared store in
    chunks: a small one is checked whole before the first byte goes out (a damaged one is a
    clear 410 `file_corrupt`); a large one is checked as it streams and, damaged, is cut short
    — a client never receives it as complete."""
    found = await call(request, "documents", "locate_file", account_id, file_id)
    store = request.app.state.file_store
    headers = {"Content-Disposition": f'attachment; filename="{found["filename"]}"',
               "Content-Length": str(found["size"])}
    if found["size"] <= WHOLE_FILE_BYTES:
        content = await run_in_threadpool(store.get, found["path"], found["sha256"])
        return Response(content, media_type=found["content_type"], headers=headers)
    return StreamingResponse(store.chunks(found["path"], found["sha256"]),
                             media_type=found["content_type"], headers=headers)


WHOLE_FILE_BYTES = 8 * 1024 * 1024


# -- route order ------------------------------------------------------------------------------------

# Starlette tries routes in order, a regex each: with ~110 routes the last one costs ~0.2 ms a
# request.  The reads customers make most are tried first.  Safe because no literal GET path
# below /orders/ is shadowed by /orders/{order_id} (the parameter matches one path segment).
HOT_ROUTES = (("GET", "/api/v1/orders/{order_id}"), ("GET", "/api/v1/orders"),
              ("GET", "/api/v1/account"), ("GET", "/api/v1/products"))


def _hot_first(route: Any) -> int:
    methods = getattr(route, "methods", None) or set()
    for rank, (method, path) in enumerate(HOT_ROUTES):
        if getattr(route, "path", None) == path and method in methods:
            return rank
    return len(HOT_ROUTES)


router.routes.sort(key=_hot_first)
