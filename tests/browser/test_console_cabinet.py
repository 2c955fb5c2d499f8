"""The rest of the cabinet and the back office through the browser: a top-up by card on the
processor's page, an order form uploaded with its bad rows reported one by one, a member
invited, an invoice sent by letter whose PDF the operator downloads from the print queue and
marks posted, and a participant registered in the e-invoice directory."""

import re

from playwright.sync_api import expect

from tests.browser.test_console_s002 import invoiceable_row, order

ORDER_FORM = b"sku,quantity\nVM-S-1M,2\nNO-SUCH-SKU,1\nBACKUP-100G-1M,x\n"


def test_top_up_by_card_order_form_members_and_a_letter_posted(browser_for, operator_console):
    shop = browser_for()
    shop.sign_up("Cabinet AB")
    shop.complete_profile()

    shop.open("/balance")
    shop.fill("Amount in EUR", "80.00")
    shop.press("Continue to payment")
    shop.fill("Card number", "4242424242424242")
    shop.fill("Expiry (MM/YY)", "12/30")
    shop.fill("CVC", "123")
    shop.page.get_by_role("button", name=re.compile("^Pay")).click()
    shop.page.get_by_role("link", name="Back to the billing console").click()
    shop.open("/balance")
    shop.reload_until("€80.00")

    shop.open("/cart")
    upload = shop.page.locator("#upload")
    upload.get_by_label("Order form (CSV or XLSX with the columns sku and quantity)").set_input_files(
        {"name": "order.csv", "mimeType": "text/csv", "buffer": ORDER_FORM})
    shop.press("Add to the cart", upload)
    shop.expect_text("1 row added.")
    not_added = shop.page.locator("table", has_text="Rows not added")
    expect(not_added).to_contain_text("No such product.")
    expect(not_added).to_contain_text("The quantity is not a whole number above zero.")
    expect(shop.page.locator("#cart")).to_contain_text("Cloud VM, small, 1 month")

    shop.open("/profile")
    members = shop.section("Members")
    shop.fill("Invite by e-mail", "colleague@example.com", members)
    shop.press("Send the invitation", members)
    shop.expect_text("The invitation is sent.")
    expect(shop.section("Members")).to_contain_text("colleague@example.com")

    paid = order(shop, "Cloud VM, small, 1 month", "From the balance")  # with the 2 from the form: €75.00
    shop.reload_until("Completed")
    invoiceable_row(shop, paid)
    shop.page.get_by_label("Deliver this invoice as").select_option("letter")
    shop.page.locator(f'input[value="{paid}"]').check()
    shop.press("Apply")
    shop.expect_text("Letter by post")
    shop.press("Confirm")
    operator = operator_console
    operator.open("/admin/letters")
    operator.reload_until("Box 17")  # the mailing address of the letter
    row = operator.page.locator("tbody tr", has_text="Box 17").first
    name, pdf = operator.download(row.get_by_role("link", name="PDF"))
    assert pdf.startswith(b"%PDF")
    operator.press("Mark posted", row)
    operator.expect_text("Done.")
    shop.open("/invoices")
    shop.reload_until("Posted")

    operator.open("/admin/einvoice-directory")
    operator.fill("Participant id", "0007:5567321707")
    operator.fill("Name", "Peppol Buyer AB")
    operator.press("Register")
    operator.expect_text("Saved.")
    expect(operator.page.locator("main table")).to_contain_text("Peppol Buyer AB")
