"""Routes of ``/api/v1``.  Each route: authenticate → call one service → answer."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway import schemas
from gateway.auth import Principal
from gateway.idempotency import fingerprint
from services.common.contracts import (
    AccountOut,
    InvoiceableOrderOut,
    InvoiceApplicationOut,
    InvoiceOut,
    LedgerEntryOut,
    OrderOut,
    PrincipalOut,
    ProductOut,
)

router = APIRouter(prefix="/api/v1")
bearer = HTTPBearer(auto_error=False, description="the token from /auth/login or /auth/register")
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeat a request safely")


def principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    header = f"Bearer {credentials.credentials}" if credentials else None
    return request.app.state.tokens.verify(header)


def call(request: Request, service: str, method: str, *args: Any) -> Any:
    return request.app.state.services.call(service, method, *args)


def once(
    request: Request, scope: str, key: str | None, body: Any, handler: Any, status: int = 201
) -> JSONResponse:
    """Answer a creating/money-moving POST, at most once per Idempotency-Key."""
    print_ = fingerprint(request.method, request.url.path, body)
    code, payload, replayed = request.app.state.idempotency.run(
        scope, key, print_, lambda: (status, handler())
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(payload, status_code=code, headers=headers)


# -- authentication -------------------------------------------------------------------------------


@router.post("/auth/register", status_code=201, tags=["auth"], response_model=schemas.TokenOut)
def register(request: Request, body: schemas.RegisterIn, key: str | None = IdempotencyKey) -> Response:
    """Create a customer account and its first user; answers with a token."""

    def handler() -> dict[str, Any]:
        created = call(request, "billing", "register_account", body.model_dump(mode="json"))
        return token_out(request, PrincipalOut.model_validate(created["principal"]))

    return once(request, "register", key, body.model_dump(mode="json"), handler)


@router.post("/auth/login", tags=["auth"], response_model=schemas.TokenOut)
def login(request: Request, body: schemas.LoginIn) -> dict[str, Any]:
    found = call(request, "billing", "authenticate", body.email, body.password)
    return token_out(request, PrincipalOut.model_validate(found))


def token_out(request: Request, who: PrincipalOut) -> dict[str, Any]:
    token, expires = request.app.state.tokens.issue(who)
    return schemas.TokenOut(
        token=token, expires_at=expires, account_id=who.account_id, role=who.role
    ).model_dump()


# -- accounts and balance ---------------------------------------------------------------------------


@router.get("/account", tags=["accounts"], response_model=AccountOut)
def my_account(request: Request, me: Principal = Depends(principal)) -> Any:
    return call(request, "billing", "get_account", me.own_account())


@router.get("/accounts/{account_id}", tags=["operator"], response_model=AccountOut)
def any_account(request: Request, account_id: str, me: Principal = Depends(principal)) -> Any:
    me.require_operator()
    return call(request, "billing", "get_account", account_id)


@router.post(
    "/accounts/{account_id}/top-ups", status_code=201, tags=["operator"],
    response_model=LedgerEntryOut,
)
def top_up(
    request: Request,
    account_id: str,
    body: schemas.TopUpIn,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """An operator credits money received to a customer's cash balance."""
    me.require_operator()
    ledger_key = key or str(uuid.uuid4())

    def handler() -> Any:
        return call(request, "billing", "credit_balance", {
            "account_id": account_id, "amount": str(body.amount), "currency": body.currency,
            "reference": body.reference, "idempotency_key": f"{me.user_id}:{ledger_key}",
        })

    return once(request, me.user_id, key, [account_id, body.model_dump(mode="json")], handler)


# -- catalogue and orders -------------------------------------------------------------------------


@router.get("/products", tags=["orders"], response_model=list[ProductOut])
def products(request: Request) -> Any:
    return call(request, "orders", "list_products")


@router.post("/orders", status_code=201, tags=["orders"], response_model=OrderOut)
def place_order(
    request: Request,
    body: schemas.OrderIn,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Order products and pay from the cash balance (402 ``insufficient_funds`` if it is short)."""
    account_id = me.own_account()
    request_key = key or str(uuid.uuid4())

    def handler() -> Any:
        return call(request, "orders", "place_order", account_id, body.model_dump(mode="json"),
                    request_key)

    return once(request, me.user_id, key, body.model_dump(mode="json"), handler)


@router.get("/orders", tags=["orders"], response_model=list[OrderOut])
def list_orders(request: Request, me: Principal = Depends(principal)) -> Any:
    return call(request, "orders", "list_orders", me.own_account())


@router.get("/orders/{order_id}", tags=["orders"], response_model=OrderOut)
def get_order(request: Request, order_id: str, me: Principal = Depends(principal)) -> Any:
    return call(request, "orders", "get_order", me.own_account(), order_id)


# -- invoices -------------------------------------------------------------------------------------


@router.get("/invoiceable-orders", tags=["invoices"], response_model=list[InvoiceableOrderOut])
def invoiceable(request: Request, me: Principal = Depends(principal)) -> Any:
    """The Invoiceable List: cash-paid, implemented orders not yet on an invoice."""
    return call(request, "invoicing", "invoiceable", me.own_account())


@router.post(
    "/invoice-applications", status_code=201, tags=["invoices"],
    response_model=InvoiceApplicationOut,
)
def apply_for_invoice(
    request: Request,
    body: schemas.ApplicationIn,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Apply: the chosen orders go on an application awaiting confirmation."""
    account_id = me.own_account()

    def handler() -> Any:
        return call(request, "invoicing", "apply", account_id, body.model_dump(mode="json"))

    return once(request, me.user_id, key, body.model_dump(mode="json"), handler)


@router.get(
    "/invoice-applications/{application_id}", tags=["invoices"],
    response_model=InvoiceApplicationOut,
)
def get_application(request: Request, application_id: str, me: Principal = Depends(principal)) -> Any:
    return call(request, "invoicing", "get_application", me.own_account(), application_id)


@router.post(
    "/invoice-applications/{application_id}/confirm", status_code=201, tags=["invoices"],
    response_model=InvoiceOut,
)
def confirm_application(
    request: Request,
    application_id: str,
    me: Principal = Depends(principal),
    key: str | None = IdempotencyKey,
) -> Response:
    """Confirm: the invoice is issued with its number; its PDF follows shortly."""
    account_id = me.own_account()

    def handler() -> Any:
        return call(request, "invoicing", "confirm", account_id, application_id)

    return once(request, me.user_id, key, None, handler)


@router.get("/invoices", tags=["invoices"], response_model=list[InvoiceOut])
def list_invoices(request: Request, me: Principal = Depends(principal)) -> Any:
    return call(request, "invoicing", "list_invoices", me.own_account())


@router.get("/invoices/{invoice_id}", tags=["invoices"], response_model=InvoiceOut)
def get_invoice(request: Request, invoice_id: str, me: Principal = Depends(principal)) -> Any:
    return call(request, "invoicing", "get_invoice", me.own_account(), invoice_id)


@router.get(
    "/invoices/{invoice_id}/pdf", tags=["invoices"], response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the invoice as PDF"}},
)
def invoice_pdf(request: Request, invoice_id: str, me: Principal = Depends(principal)) -> Response:
    """The invoice PDF; 409 ``document_not_ready`` (with Retry-After) while it is rendered."""
    account_id = me.own_account()
    call(request, "invoicing", "get_invoice", account_id, invoice_id)  # 404 for others' ids
    document = call(request, "documents", "get_document", account_id, "invoice", invoice_id)
    return Response(
        base64.b64decode(document["content_b64"]),
        media_type=document["content_type"],
        headers={"Content-Disposition": f'inline; filename="{document["filename"]}"'},
    )
