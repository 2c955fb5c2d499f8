"""Every failure the API can answer with, and the one table that maps them to HTTP.

Business failures raised in a service arrive here as their own class (see
``services.common.errors``); failures found at the edge are defined below.  Every answer is
``{"error": {"code", "message", "details"}}``; nothing ever answers with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common import errors as e

log = logging.getLogger(__name__)


class AuthenticationRequired(e.BusinessError):
    code = "authentication_required"
    default_message = "sign in first: send 'Authorization: Bearer <token>'"


class Forbidden(e.BusinessError):
    code = "forbidden"
    default_message = "this needs the operator role"


class IdempotencyKeyReused(e.BusinessError):
    code = "idempotency_key_reused"
    default_message = "this Idempotency-Key was already used with a different request"


class IdempotencyInProgress(e.BusinessError):
    code = "idempotency_request_in_progress"
    default_message = "a request with this Idempotency-Key is still being processed; retry shortly"


class SignatureInvalid(e.BusinessError):
    code = "signature_invalid"
    default_message = "the callback's signature does not match"


class CardPaymentClosed(e.BusinessError):
    code = "card_payment_closed"
    default_message = "this card payment is no longer open: it was paid, declined or withdrawn"


class UpstreamError(e.BusinessError):
    code = "service_error"
    default_message = "a service failed unexpectedly; the request had no effect or can be retried"


STATUS: dict[type[e.BusinessError], int] = {
    e.InvalidRequest: 422,
    e.NotFound: 404,
    e.Conflict: 409,
    e.ServiceUnavailable: 503,
    e.ServiceTimeout: 504,
    e.EmailAlreadyRegistered: 409,
    e.InvalidCredentials: 401,
    e.InsufficientFunds: 402,
    e.CurrencyNotSupported: 422,
    e.PaymentConflict: 409,
    e.EmailNotVerified: 403,
    e.EinvoiceNotAvailable: 409,
    e.RefundExceedsPayment: 409,
    e.StatementUnreadable: 422,
    e.PayloadTooLarge: 413,
    e.OwnerOnly: 403,
    e.PaymentOrderDecided: 409,
    e.StatementAccountMismatch: 422,
    e.BankTransactionMatched: 409,
    e.PaymentInvoiceNotOpen: 409,
    e.CardDeclined: 402,
    e.PaymentExpired: 409,
    e.VoucherInvalid: 422,
    e.VoucherExpired: 422,
    e.VoucherUsed: 409,
    e.VoucherCodeTaken: 409,
    e.TokenInvalid: 400,
    e.TooManyAttempts: 429,
    e.PasswordRejected: 422,
    e.ProductNotFound: 422,
    e.ProductInactive: 422,
    e.OrderLocked: 409,
    e.OrderNotCancellable: 409,
    e.OrderNotMergeable: 409,
    e.OrderChangedReconfirm: 409,
    e.OrderNotEditable: 409,
    e.InsufficientStock: 409,
    e.OrderFormUnreadable: 422,
    e.ProductSkuTaken: 409,
    e.MixedCurrencies: 422,
    e.OrderNotInvoiceable: 409,
    e.OrderAlreadyInvoiced: 409,
    e.OrderPaidWithVoucher: 409,
    e.BillingInfoMissing: 409,
    e.MailingInfoMissing: 409,
    e.AccountInArrears: 409,
    e.OrderImplementationFailed: 409,
    e.ApplicationNotPending: 409,
    e.InvoiceAlreadyCredited: 409,
    e.LetterNotQueued: 409,
    e.DocumentNotReady: 409,
    e.DocumentFailed: 409,
    e.PeriodTooLong: 422,
    e.OrderNotShipped: 409,
    e.ShipmentNotPacked: 409,
    e.FileCorrupt: 410,
    AuthenticationRequired: 401,
    Forbidden: 403,
    IdempotencyKeyReused: 422,
    IdempotencyInProgress: 409,
    CardPaymentClosed: 409,
    UpstreamError: 502,
    SignatureInvalid: 400,
}

class ErrorDetail(BaseModel):
    code: str = Field(description="stable and machine-readable", examples=["not_found"])
    message: str = Field(description="for a person")
    details: Any = Field(None, description="what the code needs to be acted on, or null")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


MEANING = {
    400: "malformed_json: the body is not valid JSON",
    401: "authentication_required, invalid_credentials: sign in (again)",
    402: "insufficient_funds: the balance does not cover it",
    403: "forbidden: this needs the operator role",
    404: "not_found: no such resource for this caller (another account's ids too)",
    409: "a conflict with the current state (see the code), or "
         "idempotency_request_in_progress (retry after Retry-After)",
    413: "payload_too_large",
    422: "validation_error (details name each field), idempotency_key_reused, or a business "
         "rule's code",
    429: "too_many_attempts (retry after Retry-After)",
    410: "file_corrupt: the stored file no longer matches its checksum (ask for the document again)",
    502: "service_error: a service failed unexpectedly",
    503: "service_unavailable: a service or the broker is away (retry after Retry-After)",
    504: "service_timeout: a service did not answer in time; the request may still complete, "
         "so retry with the same Idempotency-Key",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of the error answers a route can give."""
    return {status: {"model": ErrorBody, "description": MEANING[status]}
            for status in sorted(set(statuses))}


RETRY_AFTER = {e.DocumentNotReady: "2", IdempotencyInProgress: "1", e.ServiceUnavailable: "5"}


def status_of(error: e.BusinessError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def business_response(error: e.BusinessError) -> JSONResponse:
    retry = RETRY_AFTER.get(type(error))
    details = error.details
    if isinstance(details, dict) and isinstance(details.get("retry_after"), int):
        retry = str(details["retry_after"])
    return error_response(
        status_of(error), error.code, error.message, error.details,
        headers={"Retry-After": retry} if retry else None,
    )


HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def unexpected_response(error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return error_response(500, "internal_error", "an unexpected error occurred")


def http_error_response(error: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(error.status_code, "http_error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    if error.status_code == 404:
        message = "no such route"
    return error_response(error.status_code, code, message, None, headers=error.headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.BusinessError)
    async def _business(_: Request, error: e.BusinessError) -> JSONResponse:
        return business_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
            for item in error.errors()
        ]
        if any(p["type"] == "json_invalid" for p in problems):
            return error_response(400, "malformed_json", "the request body is not valid JSON", problems)
        return error_response(422, "validation_error", "the request is not valid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return http_error_response(error)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        return unexpected_response(error)
