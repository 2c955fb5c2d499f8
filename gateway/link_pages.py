"""The pages the mails' one-time links open (``$CONSOLE_URL/verify``, ``/reset-password``,
``/accept-invite``), and the payment page a payment invoice links to (``/pay/{id}``): plain HTML
forms that work without JavaScript.

Opening a link never uses its token: mail scanners and link previews fetch links, so a GET only
shows a form carrying the token, and the person's POST (a button, or a new password typed
twice) spends it through the same billing calls the API's ``/auth/...`` routes make.  Answers
are never cached and send no ``Referer``, so the token does not leak from the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.api import call, pay_url, stream_file
from gateway.console.messages import CODES, N_
from gateway.console.web import Visit
from services.common import download_links
from services.common.errors import (
    BusinessError,
    NotFound,
    PasswordRejected,
    PaymentInvoiceNotOpen,
    TokenInvalid,
)
from services.documents.i18n import gettext

router = APIRouter(include_in_schema=False)

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TOKEN_MAX = 200
PASSWORD_MAX = 200


def shown(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A link page in the console's layout and the visitor's language, never cached and
    sending no ``Referer`` (the token is in its address)."""
    response = Visit(request).render(template, status, **context)
    response.headers.update(PRIVATE)
    return response


def message(request: Request, heading: str, text: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page that only says something: ``heading`` and ``text`` are translated messages."""
    return shown(request, "link_message.html", status, heading=heading, text=text, values=values)


def link_not_valid(request: Request) -> HTMLResponse:
    return message(request, N_("This link is no longer valid"),
                   N_("Links like this work once and expire. Ask for a new one from the sign-in "
                      "page of the console, or from whoever sent it."), 400)


def try_later(request: Request) -> HTMLResponse:
    return message(request, N_("Please try again shortly"),
                   N_("We could not finish this in time. Open the link again in a minute: if it "
                      "says the link is no longer valid, it has worked and you can sign in."), 503)


def password_form(request: Request, heading: str, token: str, problem: str | None = None,
                  status: int = 200) -> HTMLResponse:
    return shown(request, "link_password.html", status, heading=heading, token=token,
                 problem=problem, password_max=PASSWORD_MAX)


async def billing(request: Request, method: str, *args: Any) -> Any:
    return await call(request, "billing", method, *args)


# -- verify the address ---------------------------------------------------------------------------


@router.get("/verify")
async def verify_page(request: Request, token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid(request)
    return shown(request, "link_verify.html", token=token)


@router.post("/verify")
async def verify(request: Request, token: str = Form("", max_length=TOKEN_MAX)) -> HTMLResponse:
    try:
        who = await billing(request, "verify_email", token)
    except TokenInvalid:
        return link_not_valid(request)
    except BusinessError:
        return try_later(request)
    return message(request, N_("Your address is confirmed"),
                   N_("%(email)s is confirmed. You can sign in now."), email=who["email"])


# -- choose a password (reset, or an invitation) --------------------------------------------------


async def set_password(request: Request, method: str, heading: str, token: str,
                       password: str, again: str) -> HTMLResponse:
    visit = Visit(request)
    if password != again:
        differ = gettext(visit.language, "The two passwords differ.")
        return password_form(request, heading, token, differ, 422)
    try:
        who = await billing(request, method, token, password)
    except TokenInvalid:
        return link_not_valid(request)
    except PasswordRejected:
        rejected = gettext(visit.language, CODES["password_rejected"])
        return password_form(request, heading, token, rejected, 422)
    except BusinessError:
        return try_later(request)
    return message(request, N_("Your password is set"),
                   N_("You can now sign in as %(email)s with the new password."), email=who["email"])


RESET = N_("Choose a new password")
JOIN = N_("Join your team: choose a password")


@router.get("/reset-password")
async def reset_page(request: Request, token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid(request)
    return password_form(request, RESET, token)


@router.post("/reset-password")
async def reset(request: Request, token: str = Form("", max_length=TOKEN_MAX),
                password: str = Form("", max_length=PASSWORD_MAX),
                again: str = Form("", max_length=PASSWORD_MAX)) -> HTMLResponse:
    return await set_password(request, "reset_password", RESET, token, password, again)


@router.get("/accept-invite")
async def invite_page(request: Request, token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid(request)
    return password_form(request, JOIN, token)


@router.post("/accept-invite")
async def accept(request: Request, token: str = Form("", max_length=TOKEN_MAX),
                 password: str = Form("", max_length=PASSWORD_MAX),
                 again: str = Form("", max_length=PASSWORD_MAX)) -> HTMLResponse:
    return await set_password(request, "accept_invite", JOIN, token, password, again)


# -- pay a payment invoice by card (the link printed on it) ---------------------------------------


def no_such_invoice(request: Request) -> HTMLResponse:
    return message(request, N_("No such invoice"), N_("This link does not lead to an invoice."), 404)


def pay_page_of(request: Request, invoice: dict[str, Any], problem: str | None = None) -> HTMLResponse:
    return shown(request, "pay.html", invoice=invoice, problem=problem)


@router.get("/pay/{payment_invoice_id}")
async def pay_page(request: Request, payment_invoice_id: str) -> HTMLResponse:
    """A payment invoice's page: what remains and a button to pay it by card (opening the
    link spends nothing).  Whoever holds the link may pay it, as with a paper invoice."""
    if len(payment_invoice_id) > 64:
        return no_such_invoice(request)
    try:
        invoice = await call(request, "invoicing", "payment_page", payment_invoice_id)
    except NotFound:
        return no_such_invoice(request)
    except BusinessError:
        return try_later(request)
    return pay_page_of(request, invoice)


@router.post("/pay/{payment_invoice_id}", response_model=None)
async def pay_by_card(request: Request, payment_invoice_id: str) -> HTMLResponse | RedirectResponse:
    """The button: a card payment for what remains, then the processor's page.  Pressed twice
    (or reloaded) while the same amount remains, it starts the same payment."""
    if len(payment_invoice_id) > 64:
        return no_such_invoice(request)
    try:
        invoice = await call(request, "invoicing", "payment_page", payment_invoice_id)
        if invoice["status"] not in ("open", "overdue"):
            return pay_page_of(request, invoice)
        payment = await call(request, "billing", "create_card_payment", invoice["account_id"], None,
                             None, f"pay-page:{payment_invoice_id}:{invoice['paid_minor']}",
                             payment_invoice_id)
    except NotFound:
        return no_such_invoice(request)
    except PaymentInvoiceNotOpen:
        return message(request, N_("Pay your invoice"), N_("Nothing remains to be paid."))
    except BusinessError:
        return try_later(request)
    if payment["status"] != "pending":  # this amount was paid (or tried) already: look again
        return RedirectResponse(f"/pay/{payment_invoice_id}", status_code=303)
    return RedirectResponse(pay_url(request, payment["id"]), status_code=303)


@router.get("/download/{token}")
async def download(request: Request, token: str) -> Response:
    """A report's file by the signed link its mail carries (it was too large to attach)."""
    file_id = download_links.verify(request.app.state.settings.secret_key or "", token[:TOKEN_MAX])
    if file_id is None:
        return message(request, N_("This link is no longer valid"),
                       N_("Download links work for a few days. The file is also in Files in your "
                          "account, as long as it is kept."), 404)
    try:
        found = await stream_file(request, None, file_id)
    except NotFound:
        return message(request, N_("This file is no longer kept"), N_("Ask for the report again."), 404)
    found.headers.update(PRIVATE)
    return found
