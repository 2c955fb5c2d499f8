"""Every mail is one template that speaks English, Swedish and Russian: rendered in each
language with the context its requester sends, it fills every block, its subject is one line,
and the Swedish and Russian mails are translations, not the English one.  A value missing from
the context is an error, never an empty place in a customer's mail."""

import pytest
from jinja2 import UndefinedError

from services.documents import mail

LINK = "https://console.example/verify?token=abc"
ORDER = {"number": "1A2B3C4D", "company_name": "Ada Cloud AB", "link": LINK}
CANCELLED = {**ORDER, "currency": "EUR", "refunded_cash": "6.25"}

# each template's contexts, one per way it can read (a status, a kind, an optional part)
SAMPLES: dict[str, list[dict[str, object]]] = {
    "verify_email": [{"company_name": "Ada Cloud AB", "valid_hours": "24", "link": LINK}],
    "reset_password": [{"email": "ada@example.com", "valid_minutes": "30", "link": LINK}],
    "invite_member": [{"inviter": "owner@example.com", "company_name": "Ada Cloud AB",
                       "valid_days": "7", "link": LINK}],
    "einvoice_unavailable": [{"company_name": "Ada Cloud AB", "organisation_number": "556677-8899",
                              "link": LINK}],
    "payment_order_decided": [
        {"amount": "1234.50", "currency": "SEK", "paid_on": "2026-12-01", "status": status,
         "reason": reason, "company_name": "Ada Cloud AB", "link": LINK}
        for status, reason in (("matched", ""), ("rejected", "no such payment"))],
    "invoice_issued": [
        {"kind": kind, "number": "INV-2026-0001", "issue_date": "2026-12-01", "total": "125.00",
         "currency": "EUR", "po_numbers": po_numbers, "seller": "Nimbus AB"}
        for kind in ("invoice", "credit_note") for po_numbers in ("", "PO-7")],
    "order_placed": [
        {**ORDER, "po_number": po_number, "total": "125.00", "currency": "EUR", "goods": goods,
         "lines": "Backup 100 GB (BACKUP-100G-1M) × 2"}
        for po_number in ("", "PO-7") for goods in ("", "yes")],
    "order_completed": [{**ORDER, "licence_keys": "KEY-1\nKEY-2"}],
    "order_status": [
        {**ORDER, "status": "changed", "lines": "Widget (GD-1) × 3"},
        {**ORDER, "status": "confirmed"},
        {**ORDER, "status": "deleted", "retention_days": "10"},
        {**ORDER, "status": "expired"},
        {**CANCELLED, "status": "cancelled", "refunded_voucher": ""},
        {**CANCELLED, "status": "partially_cancelled", "refunded_voucher": "3.33"},
    ],
    "shipment_status": [{**ORDER, "shipment_number": "S-0042", "status": status}
                        for status in ("to_warehouse", "assembled", "shipped")],
    "letter_posted": [
        {"kind": kind, "number": "INV-2026-0001", "posted_on": "2026-12-01",
         "address": "Ada Cloud AB, Sveavägen 1, 111 57 Stockholm, SE", "seller": "Nimbus AB"}
        for kind in ("invoice", "credit_note")],
    "report_ready": [
        {"title": "Sales", "filename": "sales-2026-11-01-2026-11-30.csv", "link": LINK,
         "period_from": "2026-11-01", "period_to": "2026-11-30", "size": 2048, "attached": True},
        {"title": "Receivables", "filename": "receivables-2026-12-01.pdf", "link": LINK,
         "period_from": None, "period_to": "2026-12-01", "size": 9_000_000, "attached": False},
    ],
}
CASES = [(template, number) for template, contexts in SAMPLES.items()
         for number in range(len(contexts))]
TEMPLATES = mail.MailTemplates()


def on_disk() -> set[str]:
    return {path.name.removesuffix(".html") for path in mail.TEMPLATES.glob("*.html")}


def test_every_mail_template_is_one_file_with_samples_here():
    assert not [path.name for path in mail.TEMPLATES.glob("*.*.html")], "one template per mail"
    assert on_disk() == set(SAMPLES)


@pytest.mark.parametrize("language", ["en", "sv", "ru"])
@pytest.mark.parametrize(("template", "number"), CASES)
def test_a_mail_renders_in_each_language_with_a_subject_on_one_line(template, number, language):
    rendered = TEMPLATES.render(template, language, SAMPLES[template][number])
    assert rendered.subject and rendered.text.strip() and rendered.html
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


@pytest.mark.parametrize("language", ["sv", "ru"])
@pytest.mark.parametrize(("template", "number"), CASES)
def test_a_swedish_or_russian_mail_is_translated(template, number, language):
    context = SAMPLES[template][number]
    english = TEMPLATES.render(template, "en", context)
    translated = TEMPLATES.render(template, language, context)
    assert translated.subject != english.subject
    assert translated.text != english.text


@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_a_missing_context_value_is_an_error(template):
    with pytest.raises(UndefinedError):
        TEMPLATES.render(template, "en", {})


def test_a_refund_mail_without_its_currency_is_an_error():
    refund = {key: value for key, value in SAMPLES["order_status"][4].items() if key != "currency"}
    with pytest.raises(UndefinedError):
        TEMPLATES.render("order_status", "sv", refund)


def test_an_unknown_language_reads_english():
    context = SAMPLES["invoice_issued"][0]
    assert TEMPLATES.render("invoice_issued", "xx", context) == \
        TEMPLATES.render("invoice_issued", "en", context)


def test_customer_text_cannot_add_headers_or_markup():
    rendered = TEMPLATES.render("invite_member", "sv", {
        **SAMPLES["invite_member"][0], "company_name": "Ada <b>AB</b>\r\nBcc: victim@example.com"})
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "Ada <b>AB</b>" in rendered.text  # plain text is not HTML-escaped
    assert "Ada &lt;b&gt;AB&lt;/b&gt;" in rendered.html and "<b>AB" not in rendered.html


def test_amounts_and_dates_are_written_the_way_the_language_writes_them():
    context = SAMPLES["invoice_issued"][0]
    assert "1 december 2026" in TEMPLATES.render("invoice_issued", "sv", context).text
    assert "125,00\xa0€" in TEMPLATES.render("invoice_issued", "sv", context).text
    assert "€125.00" in TEMPLATES.render("invoice_issued", "en", context).text
