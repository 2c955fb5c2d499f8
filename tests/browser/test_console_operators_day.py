"""An operator's day in the back office, through the browser only: an invoice application
above the review threshold approved, a camt.053 statement imported with a credit nobody's
reference matches and that credit matched by hand to its account, a payment order decided,
the letter queue and failed deliveries looked at, and receivables with ageing."""

import re

from playwright.sync_api import expect

from tests.browser.test_console_s000 import camt053, import_statement
from tests.browser.test_console_s002 import apply_for, invoiceable_row, operator_opens_account, order, top_up


def test_an_operators_day_review_reconcile_and_decide(browser_for, operator_console):
    operator = operator_console
    shop = browser_for()
    email = shop.sign_up("Apply Rules AB")
    shop.complete_profile()
    account_url = operator_opens_account(operator, email)
    account_id = account_url.rsplit("/", 1)[-1]
    top_up(operator, account_url, "2000.00")
    big = order(shop, "Job scheduler licence, 1 year", "From the balance", quantity=4)  # €1,495.00
    shop.reload_until("Completed")
    invoiceable_row(shop, big)
    apply_for(shop, big)
    shop.press("Confirm")
    shop.reload_until("Submitted")

    operator.open("/admin")
    operator.page.get_by_role("link", name="Invoice applications to review").click()
    card = operator.page.locator("section.card", has_text="€1,495.00")
    operator.press("Approve", card)
    operator.expect_text("Done.")
    shop.open("/invoices")
    shop.reload_until("INV-")  # issued (and soon delivered)

    # a credit quoting no known reference waits, unmatched, and is matched by hand
    shop.open("/balance")
    shop.fill("Amount", "55.00", shop.page.locator("form", has_text="Upload"))
    shop.page.get_by_label("The payment order (PDF, PNG or JPEG, at most 10 MB)").set_input_files(
        {"name": "po.png", "mimeType": "image/png",
         "buffer": bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                 "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")})
    shop.press("Upload", shop.page.locator("form", has_text="Upload"))
    shop.expect_text("Being checked")
    import_statement(operator, camt053(("55.00", "thanks for the licences")))
    operator.expect_text("1 unmatched")
    card = operator.page.locator("section.card", has_text="thanks for the licences")
    transaction = card.get_attribute("aria-labelledby").removeprefix("t-")
    operator.fill("Its id", account_id, card)
    operator.press("Match", card)
    operator.expect_text("Done.")
    expect(operator.page.locator("section.card", has_text="thanks for the licences")).to_have_count(0)

    # the payment order that proves it is decided
    operator.open("/admin/payment-orders")
    card = operator.page.locator("section.card", has_text="€55.00")
    operator.fill("Bank transaction id", transaction, card)
    operator.press("Decide", card)
    operator.expect_text("Done.")
    shop.open("/balance")
    shop.expect_text("Matched")

    for path, heading in (("/admin/letters", "Letters to post"), ("/admin/deliveries", "Failed deliveries"),
                          ("/admin/einvoice-directory", "E-invoice directory"),
                          ("/admin/receivables", "Receivables")):
        operator.open(path)
        operator.expect_heading(heading)
    expect(operator.page.locator("main")).to_contain_text(re.compile(r"As of"))
    operator.shoot("receivables")
