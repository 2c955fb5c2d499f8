"""The operators' back office (``/admin``): accounts, vouchers, orders to confirm, shipments,
invoice applications to review, bank statements and the unmatched queue, payment orders, the
e-invoice directory, the letter print queue, failed deliveries and receivables.

Like the cabinet, every page reads and writes through the API with the operator's token, so
the operator role is the API's check, and every action is the API's action.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.console.customer import relay_file, uploaded, whole
from gateway.console.inner import ApiError
from gateway.console.web import NotFoundPage, Visit, optional

router = APIRouter(prefix="/admin", include_in_schema=False)

BOX_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\d+)\s*$")


def operator(request: Request) -> Visit:
    visit = Visit(request)
    visit.require_operator()
    return visit


async def items(visit: Visit, path: str, **query: Any) -> list[dict[str, Any]]:
    return (await visit.api.get(path, limit=50, **query))["items"]


@router.get("")
async def back_office(request: Request) -> Response:
    visit = operator(request)
    queues = await asyncio.gather(
        items(visit, "/admin/orders", status="awaiting_confirmation"),
        items(visit, "/admin/invoice-applications", status="submitted"),
        items(visit, "/admin/bank-transactions", status="unmatched"),
        items(visit, "/admin/payment-orders", status="pending"),
        items(visit, "/admin/letters", status="queued_for_print"),
        items(visit, "/admin/deliveries", status="failed"),
        items(visit, "/admin/shipments", status="to_warehouse"))
    names = ("orders", "applications", "unmatched", "payment_orders", "letters", "failed", "shipments")
    return visit.render("admin/index.html", counts={n: len(q) for n, q in zip(names, queues, strict=True)})


# -- accounts and vouchers ------------------------------------------------------------------------


@router.get("/accounts")
async def accounts(request: Request, q: str = "", cursor: str = "") -> Response:
    visit = operator(request)
    found = await visit.api.get("/admin/accounts", q=q[:100] or None, limit=50, cursor=cursor or None)
    return visit.render("admin/accounts.html", accounts=found["items"], q=q,
                        next_cursor=found.get("next_cursor"))


async def account_page(visit: Visit, account_id: str, error: ApiError | None = None,
                       values: dict[str, str] | None = None, part: str | None = None) -> Response:
    account, orders = await asyncio.gather(visit.api.get(f"/admin/accounts/{account_id}"),
                                           items(visit, "/admin/orders", account_id=account_id))
    context = {"account": account, "orders": orders[:20], "part": part}
    if error is not None:
        return visit.refused("admin/account.html", error, values, **context)
    return visit.render("admin/account.html", **context)


@router.get("/accounts/{account_id}")
async def account(request: Request, account_id: str) -> Response:
    return await account_page(operator(request), account_id)


@router.post("/accounts/{account_id}/{action}")
async def account_action(request: Request, account_id: str, action: str) -> Response:
    visit = operator(request)
    values = await visit.form()
    try:
        account = await visit.api.get(f"/admin/accounts/{account_id}")
        money = {"amount": values.get("amount", "").replace(",", "."), "currency": account["currency"]}
        if action == "top-up":
            await visit.api.post(f"/admin/accounts/{account_id}/top-ups",
                                 {"amount": money, "reference": values.get("reference") or "operator top-up"},
                                 key=values.get("key"))
        elif action == "credit-limit":
            await visit.api.put(f"/admin/accounts/{account_id}/credit-limit", {"amount": money})
        else:
            raise NotFoundPage()
    except ApiError as error:
        return await account_page(visit, account_id, error, values, action)
    return visit.redirect(f"/admin/accounts/{account_id}", "done")


@router.get("/vouchers")
async def vouchers(request: Request) -> Response:
    return operator(request).render("admin/vouchers.html", made=None)


@router.post("/vouchers")
async def create_voucher(request: Request) -> Response:
    visit = operator(request)
    values = await visit.form()
    body = {"code": optional(values, "code"), "expires_on": values.get("expires_on", ""),
            "amount": {"amount": values.get("amount", "").replace(",", "."),
                       "currency": values.get("currency", "EUR").upper()},
            "uses": whole(values.get("uses") or "1"), "account_id": optional(values, "account_id")}
    try:
        made = await visit.api.post("/admin/vouchers", body, key=values.get("key"))
    except ApiError as error:
        return visit.refused("admin/vouchers.html", error, values, made=None)
    return visit.render("admin/vouchers.html", made=made)


# -- orders and shipments -------------------------------------------------------------------------


@router.get("/orders")
async def orders(request: Request, status: str = "awaiting_confirmation") -> Response:
    visit = operator(request)
    found = await items(visit, "/admin/orders", status=status or None)
    return visit.render("admin/orders.html", orders=found, chosen_status=status)


@router.post("/orders/{order_id}/confirm")
async def confirm_order(request: Request, order_id: str) -> Response:
    visit = operator(request)
    await visit.form()
    try:
        await visit.api.post(f"/admin/orders/{order_id}/confirm")
    except ApiError as error:
        found = await items(visit, "/admin/orders", status="awaiting_confirmation")
        return visit.refused("admin/orders.html", error, orders=found, chosen_status="awaiting_confirmation")
    return visit.redirect("/admin/orders", "confirmed")


@router.get("/shipments")
async def shipments(request: Request, status: str = "") -> Response:
    visit = operator(request)
    found = await items(visit, "/admin/shipments", status=status or None)
    return visit.render("admin/shipments.html", shipments=found, chosen_status=status)


def boxes_of(text: str) -> list[dict[str, Any]] | None:
    """``box sku quantity`` per line (``1 SSD-2T 4``) as the API's boxes; empty: none given."""
    boxes: dict[int, list[dict[str, Any]]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = BOX_LINE.match(line)
        if match is None:
            raise ApiError(422, "validation_error", "box lines are: box sku quantity",
                           [{"loc": ["body", "boxes"], "type": "value_error"}])
        boxes.setdefault(int(match[1]), []).append({"sku": match[2], "quantity": int(match[3])})
    return [{"number": n, "lines": lines} for n, lines in boxes.items()] or None


@router.post("/shipments/{shipment_id}/status")
async def move_shipment(request: Request, shipment_id: str) -> Response:
    visit = operator(request)
    values = await visit.form()
    try:
        body: dict[str, Any] = {"status": values.get("status", "")}
        boxes = boxes_of(values.get("boxes", ""))
        if boxes is not None:
            body["boxes"] = boxes
        await visit.api.post(f"/admin/shipments/{shipment_id}/status", body)
    except ApiError as error:
        found = await items(visit, "/admin/shipments")
        return visit.refused("admin/shipments.html", error, values, shipments=found, chosen_status="",
                             part=shipment_id)
    return visit.redirect("/admin/shipments", "done")


# -- invoicing ------------------------------------------------------------------------------------


@router.get("/applications")
async def applications(request: Request, status: str = "submitted") -> Response:
    visit = operator(request)
    found = await items(visit, "/admin/invoice-applications", status=status or None)
    return visit.render("admin/applications.html", applications=found, chosen_status=status)


@router.post("/applications/{application_id}/{action}")
async def review(request: Request, application_id: str, action: str) -> Response:
    visit = operator(request)
    values = await visit.form()
    if action not in ("approve", "reject"):
        raise NotFoundPage()
    try:
        body = {"reason": values.get("reason", "")} if action == "reject" else {}
        await visit.api.post(f"/admin/invoice-applications/{application_id}/{action}", body)
    except ApiError as error:
        found = await items(visit, "/admin/invoice-applications", status="submitted")
        return visit.refused("admin/applications.html", error, values, applications=found,
                             chosen_status="submitted", part=application_id)
    return visit.redirect("/admin/applications", "done")


@router.get("/letters")
async def letters(request: Request) -> Response:
    visit = operator(request)
    found = await items(visit, "/admin/letters", status="queued_for_print")
    return visit.render("admin/letters.html", letters=found)


@router.get("/letters/{letter_id}/pdf")
async def letter_pdf(request: Request, letter_id: str) -> Response:
    return await relay_file(operator(request), f"/admin/letters/{letter_id}/pdf")


@router.post("/letters/{letter_id}/posted")
async def letter_posted(request: Request, letter_id: str) -> Response:
    visit = operator(request)
    await visit.form()
    await visit.api.post(f"/admin/letters/{letter_id}/posted")
    return visit.redirect("/admin/letters", "done")


@router.get("/deliveries")
async def deliveries(request: Request, status: str = "failed") -> Response:
    visit = operator(request)
    found = await items(visit, "/admin/deliveries", status=status or None)
    return visit.render("admin/deliveries.html", deliveries=found, chosen_status=status)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, delivery_id: str) -> Response:
    visit = operator(request)
    await visit.form()
    await visit.api.post(f"/admin/deliveries/{delivery_id}/retry")
    return visit.redirect("/admin/deliveries", "done")


@router.get("/einvoice-directory")
async def directory(request: Request) -> Response:
    visit = operator(request)
    return visit.render("admin/directory.html", participants=await items(visit, "/admin/einvoice-directory"))


@router.post("/einvoice-directory")
async def register_participant(request: Request) -> Response:
    visit = operator(request)
    values = await visit.form()
    participant = values.get("participant_id", "").strip()
    try:
        if not participant or "/" in participant:
            raise ApiError(422, "validation_error", "give the participant id",
                           [{"loc": ["body", "participant_id"], "type": "missing"}])
        if values.get("action") == "remove":
            await visit.api.delete(f"/admin/einvoice-directory/{participant}")
        else:
            await visit.api.put(f"/admin/einvoice-directory/{participant}", {"name": values.get("name", "")})
    except ApiError as error:
        found = await items(visit, "/admin/einvoice-directory")
        return visit.refused("admin/directory.html", error, values, participants=found)
    return visit.redirect("/admin/einvoice-directory", "saved")


@router.get("/receivables")
async def receivables(request: Request, cursor: str = "") -> Response:
    visit = operator(request)
    found = await visit.api.get("/admin/reports/receivables", limit=50, cursor=cursor or None)
    return visit.render("admin/receivables.html", report=found)


# -- money received -------------------------------------------------------------------------------


async def bank_page(visit: Visit, error: ApiError | None = None, values: dict[str, str] | None = None,
                    imported: Any = None, part: str | None = None) -> Response:
    unmatched = await items(visit, "/admin/bank-transactions", status="unmatched")
    context = {"transactions": unmatched, "imported": imported, "part": part}
    if error is not None:
        return visit.refused("admin/bank.html", error, values, **context)
    return visit.render("admin/bank.html", **context)


@router.get("/bank")
async def bank(request: Request) -> Response:
    return await bank_page(operator(request))


@router.post("/bank/statements")
async def import_statement(request: Request) -> Response:
    visit = operator(request)
    await visit.form()
    try:
        upload = await uploaded(visit, "file", "application/xml")
        imported = await visit.api.answer("POST", "/admin/bank-statements", upload=upload)
    except ApiError as error:
        return await bank_page(visit, error, {}, part="import")
    return await bank_page(visit, imported=imported)


@router.post("/bank/transactions/{transaction_id}/match")
async def match(request: Request, transaction_id: str) -> Response:
    visit = operator(request)
    values = await visit.form()
    target = values.get("target", "").strip()
    body = ({"payment_invoice_id": target} if values.get("to") == "payment_invoice"
            else {"account_id": target})
    try:
        await visit.api.post(f"/admin/bank-transactions/{transaction_id}/match", body)
    except ApiError as error:
        return await bank_page(visit, error, values, part=transaction_id)
    return visit.redirect("/admin/bank", "done")


async def payment_orders_page(visit: Visit, error: ApiError | None = None,
                              values: dict[str, str] | None = None, part: str | None = None) -> Response:
    pending = await items(visit, "/admin/payment-orders", status="pending")
    if error is not None:
        return visit.refused("admin/payment_orders.html", error, values, orders=pending, part=part)
    return visit.render("admin/payment_orders.html", orders=pending, part=part)


@router.get("/payment-orders")
async def payment_orders(request: Request) -> Response:
    return await payment_orders_page(operator(request))


@router.get("/payment-orders/{order_id}/file")
async def payment_order_file(request: Request, order_id: str) -> Response:
    return await relay_file(operator(request), f"/admin/payment-orders/{order_id}/file")


@router.post("/payment-orders/{order_id}/decide")
async def decide(request: Request, order_id: str) -> Response:
    visit = operator(request)
    values = await visit.form()
    body = {"decision": values.get("decision", ""), "reason": optional(values, "reason"),
            "bank_transaction_id": optional(values, "bank_transaction_id")}
    try:
        await visit.api.post(f"/admin/payment-orders/{order_id}/decide", body)
    except ApiError as error:
        return await payment_orders_page(visit, error, values, order_id)
    return visit.redirect("/admin/payment-orders", "done")
