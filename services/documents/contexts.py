"""What each customer document's template draws: the issued invoice or credit note, the
payment invoice (with its wire details and QR codes), the licence delivery note and the
shipment (realization) note.  Amounts stay decimal strings; templates format them in the
reader's language."""

from __future__ import annotations

from typing import Any

import segno

from services.common.contracts import InvoiceOut, PartySnapshot, PaymentInvoiceOut


def invoice(invoice: InvoiceOut) -> dict[str, Any]:
    """The template's view: amounts as plain decimal strings in the document's one currency
    (the template formats them in the buyer's language)."""
    context = invoice.wire()
    context["currency"] = invoice.total.currency
    for field in ("net", "vat", "total", "lines_net", "allowances", "prepaid", "rounding",
                  "amount_due"):
        context[field] = context[field]["amount"] if context.get(field) else None
    context["lines_net"] = context["lines_net"] or context["net"]
    context["prepaid"] = context["prepaid"] or context["total"]
    context["amount_due"] = context["amount_due"] or "0.00"
    context["has_allowances"] = bool(invoice.allowances and invoice.allowances.amount)
    context["has_rounding"] = bool(invoice.rounding and invoice.rounding.amount)
    for line in context["lines"]:
        for field in ("unit_price", "net", "vat", "gross"):
            line[field] = line[field]["amount"]
    for group in context["vat_breakdown"]:
        for field in ("lines_net", "allowance", "taxable", "vat"):
            group[field] = group[field]["amount"]
    return {"invoice": context, "seller": context["seller"],
            "recipient_lines": invoice.mailing_address or address_lines(invoice.buyer)}


def address_lines(party: Any) -> list[str]:
    """A party's postal address as the envelope window prints it."""
    lines = [party.name, party.street, " ".join(filter(None, [party.postal_code, party.city])),
             party.country]
    return [line for line in lines if line] if party.street else [party.name, party.address or ""]




def buyer(account: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """The customer as a document names it now (billing information when given, else the
    company) and where its letters go (mailing information when given)."""
    billing = profile.get("billing_info") or {}
    company = profile.get("company") or {}
    address = billing.get("address") or company.get("address")
    party = PartySnapshot(
        name=billing.get("legal_name") or account["company_name"],
        address=", ".join([address["street"], f"{address['postal_code']} {address['city']}",
                           address["country"]]) if address else account.get("billing_address"),
        vat_id=company.get("vat_number"), organisation_number=company.get("organisation_number"),
        street=address["street"] if address else None,
        postal_code=address["postal_code"] if address else None,
        city=address["city"] if address else None, country=address["country"] if address else None)
    mailing = profile.get("mailing_info")
    if mailing:
        where = mailing["address"]
        lines = [party.name, mailing["recipient"], where["street"],
                 f"{where['postal_code']} {where['city']}", where["country"]]
    else:
        lines = address_lines(party)
    return {"party": party.wire(), "recipient_lines": lines}


def epc_qr(seller: PartySnapshot, amount: str, currency: str, reference: str) -> str | None:
    """The EPC QR code (EPC069-12, "Girocode") a banking app scans to fill in a SEPA credit
    transfer: the seller's IBAN and name, the amount and the structured reference — for euro
    only, the scheme's one currency."""
    if currency != "EUR" or not seller.iban:
        return None
    payload = "\n".join(["BCD", "002", "1", "SCT", seller.bic or "", seller.name[:70],
                         seller.iban.replace(" ", ""), f"EUR{amount}", "", reference[:35], ""])
    return str(segno.make(payload, error="m", micro=False).svg_inline(scale=2, border=2))


def link_qr(url: str) -> str:
    return str(segno.make(url, error="m", micro=False).svg_inline(scale=2, border=2))


def payment_invoice(invoice: PaymentInvoiceOut, seller: PartySnapshot,
                    customer: dict[str, Any]) -> dict[str, Any]:
    """A payment invoice: what it bills, what remains, when it is due, and how to pay it —
    by wire quoting its number or RF reference (with an EPC QR code in euro), or by card on
    the page its link and QR code open."""
    context = invoice.wire()
    currency = invoice.total.currency
    context["currency"] = currency
    for field in ("total", "paid_amount", "remaining"):
        context[field] = context[field]["amount"]
    for line in context["lines"]:
        for field in ("unit_price", "net", "vat", "gross"):
            line[field] = line[field]["amount"]
    context["net"] = str(sum(line.net.amount for line in invoice.lines))
    context["vat"] = str(sum(line.vat.amount for line in invoice.lines))
    return {"invoice": context, "seller": seller.wire(), "buyer": customer["party"],
            "recipient_lines": customer["recipient_lines"],
            "wire_qr": epc_qr(seller, context["remaining"], currency, invoice.wire_reference),
            "pay_qr": link_qr(invoice.pay_url) if invoice.pay_url else None}


def licence_note(order: dict[str, Any], seller: PartySnapshot, customer: dict[str, Any]) -> dict[str, Any]:
    """A licence delivery note: the order's licences delivered, each with its key."""
    lines = [{"sku": line["sku"], "name": line["name"],
              "quantity": line["quantity"] - line.get("failed_quantity", 0),
              "licence_key": line.get("licence_key")}
             for line in order["lines"] if line.get("kind") == "licence"]
    return {"order": order, "lines": lines, "seller": seller.wire(), "buyer": customer["party"],
            "recipient_lines": customer["recipient_lines"]}


def shipment_note(shipment: dict[str, Any], seller: PartySnapshot,
                  customer: dict[str, Any]) -> dict[str, Any]:
    """A shipment (realization) note: what was shipped, in which boxes, for how much."""
    context = dict(shipment)
    currency = shipment["total"]["currency"]
    context["currency"] = currency
    context["lines"] = [{**line, **{field: line[field]["amount"]
                                    for field in ("unit_price", "net", "vat", "gross")}}
                        for line in shipment["lines"]]
    for field in ("net", "vat", "total"):
        context[field] = shipment[field]["amount"]
    return {"shipment": context, "seller": seller.wire(), "buyer": customer["party"],
            "recipient_lines": customer["recipient_lines"]}
