"""The customer's cabinet: sign-up and sign-in, the Account Overview, Profile, Balance,
Catalogue and Cart, My orders, Invoice Management and Documents.

Each page reads through the API (``Visit.api``) with the visitor's token, and each form posts
here, is checked for its CSRF token, becomes the API's JSON body and is answered by a redirect
to the page that shows the result (or by the form again with the refusal next to its field).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from gateway.console.inner import ApiError, Upload
from gateway.console.web import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    NotFoundPage,
    Visit,
    optional,
    safe_next,
)
from services.documents import i18n
from services.documents.reports import months_before as months_back

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 10 * 1024 * 1024
PAYMENT_METHODS = ("balance", "voucher", "balance+voucher", "card", "wire_transfer")
CHANNELS = ("email_pdf", "letter", "einvoice")
REPORT_KINDS = ("receivables", "settlements", "sales", "realizations", "packing_list",
                "inventory_certificates")
REPORT_MONTHS = {"settlements": 12, "sales": 6, "realizations": 6}


# -- signing up and in ----------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, next: str = "") -> Response:
    visit = Visit(request)
    if visit.me is not None:
        return visit.redirect(safe_next(next, "/admin" if visit.me.is_operator else "/"))
    return visit.render("login.html", next=safe_next(next, ""))


@router.post("/login")
async def login(request: Request) -> Response:
    visit = Visit(request)
    values = await visit.form()
    target = safe_next(values.get("next"), "")
    try:
        signed = await visit.api.post("/auth/login", {"email": values.get("email", ""),
                                                      "password": values.get("password", "")})
    except ApiError as error:
        values.pop("password", None)
        return visit.refused("login.html", error, values, next=target)
    visit.set_cookie(SESSION_COOKIE, signed["token"], max(60, signed["expires_at"] - int(time.time())))
    if signed["account_id"] is None:
        return visit.redirect(target or "/admin")
    visit.api.token = signed["token"]
    try:  # the account's language is the console's, until the visitor picks another
        account = await visit.api.get("/account")
        visit.set_cookie(LANGUAGE_COOKIE, account["language"], 365 * 86400)
    except ApiError:
        pass
    return visit.redirect(target or "/")


@router.post("/logout")
async def logout(request: Request) -> Response:
    visit = Visit(request)
    await visit.form()
    if visit.token:
        try:
            await visit.api.post("/auth/logout")
        except ApiError:
            pass  # an expired or revoked token: the cookie goes anyway
    visit.set_cookie(SESSION_COOKIE, "", None)
    visit.me = None
    return visit.redirect("/login", "signed_out")


@router.get("/language")
async def choose_language(request: Request, set: str = "en", next: str = "/") -> Response:
    """The switcher: the console's language from now on, in this browser."""
    visit = Visit(request)
    if set in i18n.LANGUAGES:
        visit.set_cookie(LANGUAGE_COOKIE, set, 365 * 86400)
    return visit.redirect(safe_next(next))


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    visit = Visit(request)
    return visit.render("signup.html", values={"language": visit.language, "country": "SE"})


@router.post("/signup")
async def signup(request: Request) -> Response:
    visit = Visit(request)
    values = await visit.form()
    body = {"email": values.get("email", ""), "password": values.get("password", ""),
            "company_name": values.get("company_name", ""), "country": values.get("country", ""),
            "organisation_number": optional(values, "organisation_number"),
            "language": i18n.language_of(values.get("language")),
            "billing_address": optional(values, "billing_address")}
    if values.get("password") != values.get("again"):
        values.pop("password", None)
        return visit.render("signup.html", 422, values=values,
                            errors={"again": i18n.gettext(visit.language, "The two passwords differ.")},
                            problem=i18n.gettext(visit.language, "Some fields need attention."))
    try:
        await visit.api.answer("POST", "/auth/register", body=body, key=values.get("key"))
    except ApiError as error:
        values.pop("password", None)
        return visit.refused("signup.html", error, values)
    visit.language = i18n.language_of(values.get("language"))
    visit.set_cookie(LANGUAGE_COOKIE, visit.language, 365 * 86400)
    return visit.render("check_mail.html", email=body["email"])


@router.post("/verification-mail")
async def resend_verification(request: Request) -> Response:
    visit = Visit(request)
    values = await visit.form()
    try:
        await visit.api.answer("POST", "/auth/verification-mail", body={"email": values.get("email", "")})
    except ApiError as error:
        return visit.refused("check_mail.html", error, values, email=values.get("email", ""))
    return visit.render("check_mail.html", email=values.get("email", ""), resent=True)


# -- Account Overview -----------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    visit = Visit(request)
    if visit.me is not None and visit.me.account_id is None:
        return visit.redirect("/admin")
    visit.require_customer()
    account, orders = await asyncio.gather(visit.api.get("/account"),
                                           visit.api.get("/orders", limit=5))
    return visit.render("overview.html", account=account, orders=orders["items"])


# -- Profile --------------------------------------------------------------------------------------


def address(values: dict[str, str], prefix: str = "address") -> dict[str, str] | None:
    parts = {name: values.get(f"{prefix}.{name}", "") for name in ("street", "postal_code", "city",
                                                                   "country")}
    return parts if any(parts.values()) else None


def flat(data: dict[str, Any] | None, prefix: str = "") -> dict[str, str]:
    """A nested body as form values (``address.city``)."""
    values: dict[str, str] = {}
    for name, value in (data or {}).items():
        if isinstance(value, dict):
            values.update(flat(value, f"{prefix}{name}."))
        elif value is not None:
            values[f"{prefix}{name}"] = str(value)
    return values


async def profile_page(visit: Visit, status: int = 200, part: str | None = None,
                       error: ApiError | None = None, values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    account, profile, members = await asyncio.gather(
        visit.api.get("/account"), visit.api.get("/account/profile"), visit.api.get("/account/members"))
    forms = {name: flat(profile.get(name)) for name in ("company", "billing_info", "mailing_info")}
    if part is not None and values is not None:
        forms[part] = values
    context = {"account": account, "forms": forms, "members": members["items"], "part": part}
    if error is not None:
        return visit.refused("profile.html", error, values, **context)
    return visit.render("profile.html", status, **context)


@router.get("/profile")
async def profile(request: Request) -> Response:
    return await profile_page(Visit(request))


PROFILE_PARTS = {
    "company": lambda v: {"legal_name": v.get("legal_name", ""),
                          "organisation_number": optional(v, "organisation_number"),
                          "vat_number": optional(v, "vat_number"), "country": v.get("country", ""),
                          "address": address(v)},
    "billing_info": lambda v: {"legal_name": v.get("legal_name", ""), "tax_id": v.get("tax_id", ""),
                               "address": address(v) or {},
                               "bank_account": ({"iban": v["bank_account.iban"].replace(" ", "").upper(),
                                                 "bic": optional(v, "bank_account.bic")}
                                                if v.get("bank_account.iban") else None)},
    "mailing_info": lambda v: {"recipient": v.get("recipient", ""), "phone": v.get("phone", ""),
                               "address": address(v) or {}, "email": v.get("email", "")},
}
PROFILE_PATHS = {"company": "/account/company", "billing_info": "/account/billing-info",
                 "mailing_info": "/account/mailing-info"}


@router.post("/profile/{part}")
async def save_profile(request: Request, part: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        if part in PROFILE_PARTS:
            await visit.api.put(PROFILE_PATHS[part], PROFILE_PARTS[part](values))
        elif part == "delivery":
            await visit.api.put("/account/delivery", {"channel": values.get("channel", "")})
        elif part == "notifications":
            await visit.api.put("/account/notifications", {"enabled": values.get("enabled") == "on"})
        elif part == "language":
            chosen = values.get("language", "")
            await visit.api.put("/account/language", {"language": chosen})
            visit.set_cookie(LANGUAGE_COOKIE, chosen, 365 * 86400)
        elif part == "members":
            await visit.api.post("/account/members", {"email": values.get("email", "")})
            return visit.redirect("/profile#members", "invited")
        else:
            raise NotFoundPage()
    except ApiError as error:
        return await profile_page(visit, part=part, error=error, values=values)
    return visit.redirect(f"/profile#{part}", "saved")


@router.post("/profile/members/{user_id}/remove")
async def remove_member(request: Request, user_id: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    await visit.form()
    try:
        await visit.api.delete(f"/account/members/{user_id}")
    except ApiError as error:
        return await profile_page(visit, part="members", error=error, values={})
    return visit.redirect("/profile#members", "removed")


# -- Balance --------------------------------------------------------------------------------------


LEDGER_KINDS = ("top_up", "card_payment", "wire_payment", "order_charge", "refund", "voucher_redeemed",
                "payment_invoice")


async def balance_page(visit: Visit, error: ApiError | None = None, part: str | None = None,
                       values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    query = visit.request.query_params
    filters = {"kind": query.get("kind") or None, "wallet": query.get("wallet") or None,
               "from": query.get("from") or None, "to": query.get("to") or None,
               "cursor": query.get("cursor") or None}
    account, wire, payment_orders = await asyncio.gather(
        visit.api.get("/account"), visit.api.get("/account/wire-instructions"),
        visit.api.get("/account/payment-orders", limit=20))
    try:
        ledger = await visit.api.get("/account/ledger", limit=25, **filters)
        ledger_problem = None
    except ApiError as refused:  # a bad filter is the filter's problem, not the page's
        ledger, ledger_problem = {"items": [], "next_cursor": None}, visit.message(refused)
    context = {"account": account, "wire": wire, "ledger": ledger, "filters": filters,
               "payment_orders": payment_orders["items"], "ledger_problem": ledger_problem,
               "part": part, "today": date.today().isoformat(),
               "kinds": LEDGER_KINDS}
    if error is not None:
        return visit.refused("balance.html", error, values, **context)
    return visit.render("balance.html", **context)


@router.get("/balance")
async def balance(request: Request) -> Response:
    return await balance_page(Visit(request))


@router.post("/balance/top-up")
async def top_up(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        account = await visit.api.get("/account")
        payment = await visit.api.post(
            "/account/card-payments",
            {"amount": {"amount": values.get("amount", "").replace(",", "."),
                        "currency": account["currency"]}}, key=values.get("key"))
    except ApiError as error:
        return await balance_page(visit, error, "top_up", values)
    return visit.redirect(payment["pay_url"])


@router.post("/balance/voucher")
async def redeem(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        await visit.api.post("/account/vouchers/redeem", {"code": values.get("code", "")})
    except ApiError as error:
        return await balance_page(visit, error, "voucher", values)
    return visit.redirect("/balance", "redeemed")


@router.post("/balance/payment-orders")
async def upload_payment_order(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    fields = {"amount": values.get("amount", "").replace(",", "."), "currency": values.get("currency", ""),
              "paid_on": values.get("paid_on", ""), "note": values.get("note", "")}
    try:
        upload = await uploaded(visit, "file", "application/octet-stream")
        await visit.api.answer("POST", "/account/payment-orders", upload=upload, form=fields,
                               key=values.get("key"))
    except ApiError as error:
        return await balance_page(visit, error, "payment_order", values)
    return visit.redirect("/balance#payment-orders", "uploaded")


async def uploaded(visit: Visit, field: str, content_type: str) -> Upload:
    """The posted file, or the refusal a missing file is (shown next to its field)."""
    file = visit.files.get(field)
    if file is None or not file.filename:
        raise ApiError(422, "validation_error", "choose the file",
                       [{"loc": ["body", field], "type": "missing"}])
    data = await file.read(MAX_UPLOAD + 1)
    return Upload(field, file.filename, file.content_type or content_type, data)


# -- Catalogue and Cart ---------------------------------------------------------------------------


async def cart_page(visit: Visit, error: ApiError | None = None, part: str | None = None,
                    values: dict[str, str] | None = None, upload: Any = None) -> Response:
    visit.require_customer()
    products, cart = await asyncio.gather(visit.api.get("/products"), visit.api.get("/cart"))
    context = {"products": products["items"], "cart": cart, "part": part, "upload": upload,
               "methods": PAYMENT_METHODS}
    if error is not None:
        return visit.refused("cart.html", error, values, **context)
    return visit.render("cart.html", values=values or {}, **context)


@router.get("/cart")
async def cart(request: Request) -> Response:
    return await cart_page(Visit(request))


@router.post("/cart/add")
async def add_to_cart(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        await visit.api.post("/cart/items", {"sku": values.get("sku", ""),
                                             "quantity": whole(values.get("quantity"))})
    except ApiError as error:
        return await cart_page(visit, error, f"add:{values.get('sku', '')}", values)
    return visit.redirect("/cart", "added")


def whole(text: str | None) -> Any:
    """A form's whole number as the API's integer; anything else goes as it is, to be refused."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else text


@router.post("/cart/items/{sku}")
async def change_cart(request: Request, sku: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        if values.get("action") == "remove":
            await visit.api.delete(f"/cart/items/{sku}")
        else:
            await visit.api.patch(f"/cart/items/{sku}", {"quantity": whole(values.get("quantity"))})
    except ApiError as error:
        return await cart_page(visit, error, f"line:{sku}", values)
    return visit.redirect("/cart", "saved" if values.get("action") != "remove" else "removed")


@router.post("/cart/upload")
async def upload_order_form(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    await visit.form()
    try:
        upload = await uploaded(visit, "file", "text/csv")
        answer = await visit.api.answer("POST", "/cart/upload", upload=upload)
    except ApiError as error:
        return await cart_page(visit, error, "upload", {})
    return await cart_page(visit, upload=answer)


@router.post("/cart/order")
async def place_order(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    body = {"from_cart": True, "po_number": optional(values, "po_number"),
            "payment_method": values.get("payment_method", "balance")}
    try:
        order = await visit.api.post("/orders", body, key=values.get("key"))
    except ApiError as error:
        return await cart_page(visit, error, "order", values)
    if order.get("pay_url"):
        return visit.redirect(order["pay_url"])
    return visit.redirect(f"/orders/{order['id']}", "order_placed")


# -- My orders ------------------------------------------------------------------------------------


ORDER_STATES = ("draft", "changed", "awaiting_confirmation", "confirmed", "awaiting_payment", "paid",
                "implementing", "completed", "partially_failed", "failed", "partially_cancelled",
                "sent_for_shipment", "shipped", "cancelled", "marked_for_deletion")


@router.get("/orders")
async def orders(request: Request, cursor: str = "", status: str = "") -> Response:
    visit = Visit(request)
    visit.require_customer()
    page = await visit.api.get("/orders", limit=50, cursor=cursor or None)
    shown = [o for o in page["items"] if not status or o["status"] == status]
    return visit.render("orders.html", orders=shown, next_cursor=page.get("next_cursor"),
                        chosen_status=status, states=ORDER_STATES)


async def order_page(visit: Visit, order_id: str, error: ApiError | None = None,
                     values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    order = await visit.api.get(f"/orders/{order_id}")
    shipments: list[dict[str, Any]] = []
    if any(line.get("kind") == "goods" for line in order["lines"]):
        shipments = (await visit.api.get("/shipments", order_id=order_id))["items"]
    context = {"order": order, "shipments": shipments}
    if error is not None:
        return visit.refused("order.html", error, values, **context)
    return visit.render("order.html", **context)


@router.get("/orders/{order_id}")
async def order(request: Request, order_id: str) -> Response:
    return await order_page(Visit(request), order_id)


ORDER_ACTIONS = {"cancel": ("/cancel", "cancelled"),
                 "send-for-confirmation": ("/send-for-confirmation", "sent"),
                 "send-for-shipment": ("/send-for-shipment", "sent"),
                 "add-from-cart": ("/lines/from-cart", "saved")}


@router.post("/orders/{order_id}/{action}")
async def order_action(request: Request, order_id: str, action: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    if action not in ORDER_ACTIONS:
        raise NotFoundPage()
    path, done = ORDER_ACTIONS[action]
    try:
        await visit.api.post(f"/orders/{order_id}{path}", key=values.get("key"))
    except ApiError as error:
        return await order_page(visit, order_id, error, values)
    return visit.redirect(f"/orders/{order_id}", done)


@router.post("/orders/{order_id}/lines/{line_id}")
async def change_line(request: Request, order_id: str, line_id: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    try:
        if values.get("action") == "remove":
            await visit.api.delete(f"/orders/{order_id}/lines/{line_id}")
        else:
            await visit.api.patch(f"/orders/{order_id}/lines/{line_id}",
                                  {"quantity": whole(values.get("quantity"))})
    except ApiError as error:
        return await order_page(visit, order_id, error, values)
    return visit.redirect(f"/orders/{order_id}", "saved")


@router.post("/orders-merge")
async def merge(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    chosen = visit.lists.get("order_ids", [])
    try:
        merged = await visit.api.post("/orders/merge", {"order_ids": chosen}, key=values.get("key"))
    except ApiError as error:
        page = await visit.api.get("/orders", limit=50)
        return visit.refused("orders.html", error, values, orders=page["items"],
                             next_cursor=page.get("next_cursor"), chosen_status="", states=ORDER_STATES)
    return visit.redirect(f"/orders/{merged['id']}", "merged")


# -- Invoice Management ---------------------------------------------------------------------------


async def invoiceable_page(visit: Visit, error: ApiError | None = None,
                           values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    listed, account = await asyncio.gather(visit.api.get("/invoiceable-orders"), visit.api.get("/account"))
    context = {"rows": listed["items"], "account": account, "chosen": visit.lists.get("order_ids", [])
               if error else [], "channels": CHANNELS}
    if error is not None:
        return visit.refused("invoiceable.html", error, values, **context)
    return visit.render("invoiceable.html", **context)


@router.get("/invoices/apply")
async def invoiceable(request: Request) -> Response:
    return await invoiceable_page(Visit(request))


@router.post("/invoices/apply")
async def apply(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    body: dict[str, Any] = {"order_ids": visit.lists.get("order_ids", [])}
    if values.get("channel") in CHANNELS:
        body["channel"] = values["channel"]
    try:
        application = await visit.api.post("/invoice-applications", body, key=values.get("key"))
    except ApiError as error:
        return await invoiceable_page(visit, error, values)
    return visit.redirect(f"/invoices/applications/{application['id']}")


@router.get("/invoices/applications/{application_id}")
async def application(request: Request, application_id: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    found = await visit.api.get(f"/invoice-applications/{application_id}")
    return visit.render("application.html", application=found)


@router.post("/invoices/applications/{application_id}/{action}")
async def decide_application(request: Request, application_id: str, action: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    if action not in ("confirm", "withdraw"):
        raise NotFoundPage()
    try:
        await visit.api.post(f"/invoice-applications/{application_id}/{action}", key=values.get("key"))
    except ApiError as error:
        found = await visit.api.get(f"/invoice-applications/{application_id}")
        return visit.refused("application.html", error, values, application=found)
    return visit.redirect("/invoices", "confirmed" if action == "confirm" else "withdrawn")


async def invoices_page(visit: Visit, error: ApiError | None = None,
                        values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    applications, invoices, credit_notes, payment_invoices, shipments, account = await asyncio.gather(
        visit.api.get("/invoice-applications", limit=50), visit.api.get("/invoices", limit=50),
        visit.api.get("/invoices", kind="credit_note", limit=50),
        visit.api.get("/invoices", kind="payment_invoice", limit=50),
        visit.api.get("/shipments", status="shipped", limit=50), visit.api.get("/account"))
    issued = sorted(invoices["items"] + credit_notes["items"], key=lambda i: i["issued_at"], reverse=True)
    context = {"applications": applications["items"], "invoices": issued,
               "payment_invoices": payment_invoices["items"], "shipments": shipments["items"],
               "account": account}
    if error is not None:
        return visit.refused("invoices.html", error, values, **context)
    return visit.render("invoices.html", **context)


@router.get("/invoices")
async def invoice_list(request: Request) -> Response:
    return await invoices_page(Visit(request))


@router.post("/invoices/payment-invoices")
async def request_payment_invoice(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    chosen = visit.lists.get("shipment_ids", [])
    try:
        if values.get("basis") == "amount":
            account = await visit.api.get("/account")
            body: dict[str, Any] = {"amount": {"amount": values.get("amount", "").replace(",", "."),
                                               "currency": account["currency"]}}
        else:
            body = {"shipment_ids": chosen}
        made = await visit.api.post("/payment-invoices", body, key=values.get("key"))
    except ApiError as error:
        return await invoices_page(visit, error, values)
    return visit.redirect(f"/invoices#{made['id']}", "done")


@router.get("/invoices/{invoice_id}/{form}")
async def invoice_file(request: Request, invoice_id: str, form: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    if form not in ("pdf", "xml"):
        raise NotFoundPage()
    return await relay_file(visit, f"/invoices/{invoice_id}/{form}")


async def relay_file(visit: Visit, path: str) -> Response:
    status, headers, body = await visit.api.stream(path)
    if status >= 400:
        chunks = b"".join([chunk async for chunk in body])
        from gateway.console.inner import Answer, error_of

        raise error_of(Answer(status, headers, chunks))
    shown = {k.decode(): v.decode("latin-1") for k, v in headers.items()}
    shown.update({"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
    return StreamingResponse(body, status_code=status, headers=shown)


# -- Documents ------------------------------------------------------------------------------------


async def documents_page(visit: Visit, error: ApiError | None = None,
                         values: dict[str, str] | None = None) -> Response:
    visit.require_customer()
    reports, files, shipments, orders = await asyncio.gather(
        visit.api.get("/reports", limit=20), visit.api.get("/files", limit=50),
        visit.api.get("/shipments", limit=50), visit.api.get("/orders", limit=50))
    today = date.today()
    limits = {kind: months_back(today, months).isoformat() for kind, months in REPORT_MONTHS.items()}
    context = {"reports": reports["items"], "files": files["items"], "limits": limits,
               "today": today.isoformat(), "shipments": shipments["items"],
               "shipped_orders": [o for o in orders["items"] if o["status"] == "shipped"],
               "query_order": visit.request.query_params.get("order_id", "")}
    if error is not None:
        return visit.refused("documents.html", error, values, **context)
    return visit.render("documents.html", **context)


@router.get("/documents")
async def documents(request: Request) -> Response:
    return await documents_page(Visit(request))


@router.post("/documents/reports")
async def request_report(request: Request) -> Response:
    visit = Visit(request)
    visit.require_customer()
    values = await visit.form()
    kind = values.get("kind", "")
    body: dict[str, Any] = {"kind": kind, "format": values.get("format", "pdf")}
    if kind in REPORT_MONTHS:
        body.update({"from": values.get("from", ""), "to": values.get("to", "")})
    if kind == "packing_list":
        body.update({"shipment_ids": visit.lists.get("shipment_ids", []),
                     "layout": values.get("layout", "by_article")})
    if kind == "inventory_certificates":
        body["order_id"] = values.get("order_id", "")
    try:
        await visit.api.answer("POST", "/reports", body=body, key=values.get("key"))
    except ApiError as error:
        return await documents_page(visit, error, {**values, "form": kind})
    return visit.redirect("/documents#reports", "requested")


@router.get("/documents/reports/{report_id}")
async def report_state(request: Request, report_id: str) -> HTMLResponse:
    """One report's row, for the page's script to poll until it is ready or failed."""
    visit = Visit(request)
    visit.require_customer()
    report = await visit.api.get(f"/reports/{report_id}")
    return visit.render("_report_row.html", report=report)


@router.get("/documents/files/{file_id}")
async def download_file(request: Request, file_id: str) -> Response:
    visit = Visit(request)
    visit.require_customer()
    return await relay_file(visit, f"/files/{file_id}/content")
