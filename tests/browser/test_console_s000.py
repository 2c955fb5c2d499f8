"""S000 (the software vendor's web shop) through the browser only: sign up with the mailed
link, the company on the profile, a cart with the buyer's own PO number, "wire transfer
(create invoice)" making a payable invoice at once, part of it paid by a bank transfer the
operator imports, and the rest paid by card through the invoice's link; the licence is then
delivered and shown on the order."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.browser import Console
from tests.e2e.test_payment_invoice_payments import SELLER_IBAN

STATEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT-{id}</MsgId><CreDtTm>2026-12-01T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{id}</Id><CreDtTm>2026-12-01T18:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>
{entries}
</Stmt></BkToCstmrStmt></Document>"""
ENTRY = """<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>{id}-{n}</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Ada AB</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def camt053(*credits: tuple[str, str]) -> bytes:
    """A statement of the seller's account with a credit per ``(amount, remittance text)``."""
    statement = uuid.uuid4().hex[:10]
    entries = "".join(ENTRY.format(n=n, amount=amount, text=text, id=statement)
                      for n, (amount, text) in enumerate(credits, start=1))
    return STATEMENT.format(id=statement, iban=SELLER_IBAN, entries=entries).encode()


def import_statement(operator: Console, content: bytes) -> None:
    operator.open("/admin/bank")
    operator.page.get_by_label("A camt.053 statement of our account").set_input_files(
        {"name": "statement.xml", "mimeType": "application/xml", "buffer": content})
    operator.press("Import")
    operator.expect_text("Imported:")


def test_s000_a_licence_bought_by_wire_invoice_is_paid_part_by_transfer_and_the_rest_by_card(
        browser_for, operator_console):
    shop = browser_for()
    shop.sign_up("Vendor Buyer AB")
    shop.expect_heading("Account Overview")
    shop.expect_text("Your profile is not complete")
    shop.complete_profile()

    shop.add_to_cart("Job scheduler licence, 1 year")
    shop.fill("Your PO number", "PO-4711")
    shop.page.get_by_label("By wire transfer (create an invoice)").check()
    shop.press("Place the order")
    shop.expect_text("Awaiting payment")
    shop.expect_text("PO-4711")
    order_url = shop.page.url

    # the invoice is payable at once, and listed on the Invoice List with its PDF
    shop.open("/invoices")
    shop.reload_until("PI-")
    row = shop.page.locator("#payment-invoices tbody tr").first
    expect(row).to_contain_text("Open")
    number = row.locator("td").first.inner_text().strip()
    name, pdf = shop.download(row.get_by_role("link", name=re.compile("^PDF")))
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")

    # the buyer pays 100.00 of 373.75 by a transfer quoting the invoice number
    import_statement(operator_console, camt053(("100.00", f"Invoice {number}")))

    # the rest by card through the invoice's link
    shop.open(order_url)
    shop.page.get_by_role("link", name="Pay by card").click()
    shop.checked()
    shop.expect_text("€273.75 to pay.")
    shop.press("Pay €273.75 by card")
    shop.fill("Card number", "4242424242424242")
    shop.fill("Expiry (MM/YY)", "12/30")
    shop.fill("CVC", "123")
    shop.page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(shop.page.locator("body")).to_contain_text("the payment went through")
    shop.page.get_by_role("link", name="Back to the billing console").click()
    shop.expect_heading("Account Overview")

    shop.open(order_url)
    shop.reload_until("Licence key")
    shop.expect_text("Completed")
    shop.shoot("order")
