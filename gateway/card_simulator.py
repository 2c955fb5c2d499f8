"""The card processor's simulator, built into the gateway (on unless a real processor is
configured): its hosted payment page, and the signed callbacks a processor sends.

A real processor shows the customer a page of its own (``pay_url``), takes the card, and tells
us the outcome later by an HMAC-signed callback — possibly more than once, possibly late.  The
simulator does the same on this machine: ``GET /sim/card/{payment_id}`` is its page,
``POST /sim/card/{payment_id}`` takes the card (form or JSON) and answers at once, and then
sends the callback to ``POST /api/v1/payments/card/callback`` ``callback_count`` times.  A
payment no longer pending (paid, declined, or withdrawn when its order expired) takes no card:
409 ``card_payment_closed``.

Test numbers: ``4242424242424242`` succeeds; ``4000000000000002`` is declined
(``card_declined``); ``4000000000000077`` succeeds after ``CARD_SIM_DELAY_SECONDS``; any other
number is declined as ``invalid_card_number``.  Callbacks are signed as
``Processor-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with
``CARD_WEBHOOK_SECRET``; the gateway refuses a signature that does not match or is older than
five minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import re
import time
import uuid
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.errors import CardPaymentClosed
from gateway.pages import page
from services.common.errors import InvalidRequest

log = logging.getLogger(__name__)

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
SUCCEEDS_LATE = "4000000000000077"
SIGNATURE_HEADER = "Processor-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300

router = APIRouter(include_in_schema=False)
_tasks: set[asyncio.Task[None]] = set()


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def signature_valid(secret: str, body: bytes, header: str | None, now: float | None = None) -> bool:
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    at, given = parts.get("t", ""), parts.get("v1", "")
    if not at.isdigit() or not given:
        return False
    if abs((time.time() if now is None else now) - int(at)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(secret, body, int(at)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def outcome_of(card_number: str) -> tuple[str, str | None, bool]:
    """(status, decline reason, whether the answer comes late) for a card number."""
    digits = re.sub(r"[\s-]", "", card_number)
    if digits == SUCCEEDS:
        return "succeeded", None, False
    if digits == SUCCEEDS_LATE:
        return "succeeded", None, True
    if digits == DECLINED:
        return "declined", "card_declined", False
    return "declined", "invalid_card_number", False


def check_card(fields: dict[str, Any]) -> tuple[str, int]:
    """The card number and how many callbacks to send, or ``InvalidRequest`` naming the field."""
    number = str(fields.get("card_number", ""))
    if not re.fullmatch(r"[\d\s-]{12,23}", number):
        raise InvalidRequest("a card number has 12 to 19 digits", {"field": "card_number"})
    if not re.fullmatch(r"(0[1-9]|1[0-2])/\d{2}", str(fields.get("expiry", ""))):
        raise InvalidRequest("the expiry is MM/YY", {"field": "expiry"})
    if not re.fullmatch(r"\d{3,4}", str(fields.get("cvc", ""))):
        raise InvalidRequest("the CVC has 3 or 4 digits", {"field": "cvc"})
    count = fields.get("callback_count", 1)
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 3:
        raise InvalidRequest("callback_count is 1 to 3", {"field": "callback_count"})
    return number, count


@router.get("/sim/card/{payment_id}")
async def payment_page(request: Request, payment_id: str) -> HTMLResponse:
    payment = await processor_view(request, payment_id)
    if payment is None:
        return page("Payment not found", "<p>This payment link is not valid.</p>", 404)
    amount = html.escape(f"{payment['amount']['amount']} {payment['amount']['currency']}")
    if payment["status"] == "cancelled":
        return page("Payment withdrawn", f"<p>This payment of {amount} was withdrawn by the "
                    "seller (its order expired unpaid); nothing can be paid here any more.</p>")
    if payment["status"] != "pending":
        return page("Payment done", f"<p>This payment of {amount} is {payment['status']}.</p>")
    return page("Card payment (simulator)", f"""
<p>Pay <strong>{amount}</strong> to {html.escape(request.app.state.settings.seller_name)}.</p>
<form method="post">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" required>
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" required>
<input type="hidden" name="callback_count" value="1">
<button type="submit">Pay {amount}</button></form>
<p class="note">Test cards: {SUCCEEDS} succeeds, {DECLINED} is declined,
{SUCCEEDS_LATE} succeeds after a delay.</p>""")


@router.post("/sim/card/{payment_id}")
async def submit_card(request: Request, payment_id: str) -> Any:
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    if wants_json:
        try:
            fields = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InvalidRequest("the body is not JSON", {"field": "body"}) from None
        if not isinstance(fields, dict):
            raise InvalidRequest("the body is an object", {"field": "body"})
    else:
        fields = dict((await request.form()).items())
    number, count = check_card(fields)
    payment = await processor_view(request, payment_id)
    if payment is None:
        raise InvalidRequest("no such payment", {"field": "payment_id"})
    if payment["status"] != "pending":  # paid already, or withdrawn by the seller
        raise CardPaymentClosed(details={"status": payment["status"]})
    status, reason, late = outcome_of(number)
    settings = request.app.state.settings
    delay = settings.card_sim_delay_seconds if late else 0.0
    task = asyncio.create_task(send_callbacks(request.app, payment_id, status, reason, count, delay))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    answer = {"payment_id": payment_id, "accepted": True,
              "outcome": "pending" if late else status, "decline_reason": reason}
    if wants_json:
        return answer
    text = {"succeeded": "Thank you: the payment went through.",
            "declined": f"The card was declined ({reason})."}[status]
    if late:
        text = "The payment is being processed; its result follows shortly."
    return page("Card payment (simulator)", f"<p>{html.escape(text)}</p><p><a href='/'>Back to the "
                "billing console</a></p>")


async def processor_view(request: Request, payment_id: str) -> dict[str, Any] | None:
    if not re.fullmatch(r"[0-9a-f-]{36}", payment_id):
        return None
    found: dict[str, Any] | None = await request.app.state.services.call(
        "billing", "card_payment_for_processor", payment_id)
    return found


async def send_callbacks(app: Any, payment_id: str, status: str, reason: str | None,
                         count: int, delay: float) -> None:
    """As a processor does: after ``delay``, the signed outcome, ``count`` times."""
    settings = app.state.settings
    await asyncio.sleep(delay)
    body = json.dumps({"payment_id": payment_id, "status": status, "decline_reason": reason,
                       "processor_reference": f"sim_{uuid.uuid4().hex[:16]}"}).encode()
    url = settings.card_callback_url or (
        f"http://{settings.gateway_host}:{settings.gateway_port}/api/v1/payments/card/callback")
    async with httpx.AsyncClient(timeout=10) as client:
        for attempt in range(count):
            for _ in range(5):  # a processor retries an answer it did not get
                try:
                    answer = await client.post(url, content=body, headers={
                        "content-type": "application/json",
                        SIGNATURE_HEADER: sign(settings.card_webhook_secret, body)})
                    if answer.status_code < 500:
                        break
                except httpx.HTTPError as error:
                    log.warning("card callback %d for %s not delivered: %s", attempt + 1,
                                payment_id, error)
                await asyncio.sleep(1)
