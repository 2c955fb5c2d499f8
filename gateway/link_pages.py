"""The pages the mails' one-time links open (``$CONSOLE_URL/verify``, ``/reset-password``,
``/accept-invite``), and the payment page a payment invoice links to (``/pay/{id}``): plain HTML
forms that work without JavaScript.

Opening a link never uses its token: mail scanners and link previews fetch links, so a GET only
shows a form carrying the token, and the person's POST (a button, or a new password typed
twice) spends it through the same billing calls the API's ``/auth/...`` routes make.  Answers
are never cached and send no ``Referer``, so the token does not leak from the page.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.api import call, pay_url, stream_file
from gateway.pages import page
from services.common import download_links
from services.common.errors import (
    BusinessError,
    NotFound,
    PasswordRejected,
    PaymentInvoiceNotOpen,
    TokenInvalid,
)

router = APIRouter(include_in_schema=False)

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TOKEN_MAX = 200
PASSWORD_MAX = 200


def private(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(PRIVATE)
    return response


def token_field(token: str) -> str:
    return f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'


def link_not_valid(what: str) -> HTMLResponse:
    return private(page("This link is no longer valid", f"""
<p>{html.escape(what)} links work once and expire. Ask for a new one from the sign-in page of
the console, or from whoever sent it.</p>""", 400))


def try_later() -> HTMLResponse:
    return private(page("Please try again shortly",
                        "<p>We could not finish this in time. Open the link again in a minute: "
                        "if it says the link is no longer valid, it has worked and you can sign "
                        "in.</p>", 503))


def password_form(title: str, token: str, problem: str | None = None, status: int = 200) -> HTMLResponse:
    notice = f'<p class="problem" role="alert">{html.escape(problem)}</p>' if problem else ""
    return private(page(title, f"""{notice}
<form method="post">{token_field(token)}
<label for="password">New password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="12"
 maxlength="{PASSWORD_MAX}" required>
<label for="again">The same password again</label>
<input id="again" name="again" type="password" autocomplete="new-password" maxlength="{PASSWORD_MAX}"
 required>
<button type="submit">Set the password</button></form>""", status))


async def billing(request: Request, method: str, *args: Any) -> Any:
    return await call(request, "billing", method, *args)


# -- verify the address ---------------------------------------------------------------------------


@router.get("/verify")
async def verify_page(token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid("Verification")
    return private(page("Confirm your e-mail address", f"""
<form method="post">{token_field(token)}
<p>Confirm that this address is yours to finish signing up.</p>
<button type="submit">Confirm my address</button></form>"""))


@router.post("/verify")
async def verify(request: Request, token: str = Form("", max_length=TOKEN_MAX)) -> HTMLResponse:
    try:
        who = await billing(request, "verify_email", token)
    except TokenInvalid:
        return link_not_valid("Verification")
    except BusinessError:
        return try_later()
    return private(page("Your address is confirmed", f"""
<p>{html.escape(who["email"])} is confirmed. You can sign in now.</p>"""))


# -- choose a password (reset, or an invitation) --------------------------------------------------


async def set_password(request: Request, method: str, title: str, what: str, token: str,
                       password: str, again: str) -> HTMLResponse:
    if password != again:
        return password_form(title, token, "The two passwords differ.", 422)
    try:
        who = await billing(request, method, token, password)
    except TokenInvalid:
        return link_not_valid(what)
    except PasswordRejected as refused:
        return password_form(title, token, refused.message, 422)
    except BusinessError:
        return try_later()
    return private(page("Your password is set", f"""
<p>You can now sign in as {html.escape(who["email"])} with the new password.</p>"""))


@router.get("/reset-password")
async def reset_page(token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid("Password reset")
    return password_form("Choose a new password", token)


@router.post("/reset-password")
async def reset(request: Request, token: str = Form("", max_length=TOKEN_MAX),
                password: str = Form("", max_length=PASSWORD_MAX),
                again: str = Form("", max_length=PASSWORD_MAX)) -> HTMLResponse:
    return await set_password(request, "reset_password", "Choose a new password",
                              "Password reset", token, password, again)


@router.get("/accept-invite")
async def invite_page(token: str = "") -> HTMLResponse:
    if not token or len(token) > TOKEN_MAX:
        return link_not_valid("Invitation")
    return password_form("Join your team: choose a password", token)


@router.post("/accept-invite")
async def accept(request: Request, token: str = Form("", max_length=TOKEN_MAX),
                 password: str = Form("", max_length=PASSWORD_MAX),
                 again: str = Form("", max_length=PASSWORD_MAX)) -> HTMLResponse:
    return await set_password(request, "accept_invite", "Join your team: choose a password",
                              "Invitation", token, password, again)


# -- pay a payment invoice by card (the link printed on it) ---------------------------------------


def no_such_invoice() -> HTMLResponse:
    return private(page("No such invoice", "<p>This link does not lead to an invoice.</p>", 404))


def pay_page_body(shown: dict[str, Any], problem: str | None = None) -> str:
    amount = f'{shown["remaining"]["amount"]} {shown["remaining"]["currency"]}'
    wire = (f'<p class="note">Or pay by bank transfer to {html.escape(shown["seller"])}, IBAN '
            f'{html.escape(shown["iban"])} (BIC {html.escape(shown["bic"])}), quoting '
            f'<strong>{html.escape(shown["wire_reference"])}</strong>.</p>')
    notice = f'<p class="problem" role="alert">{html.escape(problem)}</p>' if problem else ""
    if shown["status"] not in ("open", "overdue"):
        state = {"paid": "It is paid. Thank you.", "void": "It was cancelled: nothing is due."}
        return f'<p>Invoice {html.escape(shown["number"])}: {state.get(shown["status"], "")}</p>'
    return f"""{notice}<p>Invoice <strong>{html.escape(shown["number"])}</strong>, due
{html.escape(shown["due_date"])}: <strong>{html.escape(amount)}</strong> to pay.</p>
<form method="post"><button type="submit">Pay {html.escape(amount)} by card</button></form>
{wire}"""


@router.get("/pay/{payment_invoice_id}")
async def pay_page(request: Request, payment_invoice_id: str) -> HTMLResponse:
    """A payment invoice's page: what remains and a button to pay it by card (opening the
    link spends nothing).  Whoever holds the link may pay it, as with a paper invoice."""
    if len(payment_invoice_id) > 64:
        return no_such_invoice()
    try:
        shown = await call(request, "invoicing", "payment_page", payment_invoice_id)
    except NotFound:
        return no_such_invoice()
    except BusinessError:
        return try_later()
    return private(page("Pay your invoice", pay_page_body(shown)))


@router.post("/pay/{payment_invoice_id}", response_model=None)
async def pay_by_card(request: Request, payment_invoice_id: str) -> HTMLResponse | RedirectResponse:
    """The button: a card payment for what remains, then the processor's page.  Pressed twice
    (or reloaded) while the same amount remains, it starts the same payment."""
    if len(payment_invoice_id) > 64:
        return no_such_invoice()
    try:
        shown = await call(request, "invoicing", "payment_page", payment_invoice_id)
        if shown["status"] not in ("open", "overdue"):
            return private(page("Pay your invoice", pay_page_body(shown)))
        payment = await call(request, "billing", "create_card_payment", shown["account_id"], None,
                             None, f"pay-page:{payment_invoice_id}:{shown['paid_minor']}",
                             payment_invoice_id)
    except NotFound:
        return no_such_invoice()
    except PaymentInvoiceNotOpen:
        return private(page("Pay your invoice", "<p>Nothing remains to be paid.</p>"))
    except BusinessError:
        return try_later()
    if payment["status"] != "pending":  # this amount was paid (or tried) already: look again
        return RedirectResponse(f"/pay/{payment_invoice_id}", status_code=303)
    return RedirectResponse(pay_url(request, payment["id"]), status_code=303)


@router.get("/download/{token}")
async def download(request: Request, token: str) -> Response:
    """A report's file by the signed link its mail carries (it was too large to attach)."""
    file_id = download_links.verify(request.app.state.settings.secret_key or "", token[:TOKEN_MAX])
    if file_id is None:
        return private(page("This link is no longer valid", """
<p>Download links work for a few days. The file is also in Files in your account, as long as
it is kept.</p>""", 404))
    try:
        found = await stream_file(request, None, file_id)
    except NotFound:
        return private(page("This file is no longer kept", "<p>Ask for the report again.</p>", 404))
    found.headers.update(PRIVATE)
    return found
