"""S003 (the B2B cabinet) through the browser only: a goods order checked against stock
(approved and partly approved lines), edited, filled from the cart, sent for confirmation, the
draft again after an edit, merged with another draft by checkboxes, confirmed by a manager,
sent for shipment, packed in boxes and shipped by the warehouse; then a payment invoice for the
realization, a payment order uploaded, and reports requested in Documents and downloaded from
Files."""

import re

from playwright.sync_api import expect

from tests.browser.browser import Console


def place_goods_order(shop: Console, *lines: tuple[str, int]) -> str:
    for name, quantity in lines:
        shop.add_to_cart(name, quantity)
    shop.press("Place the order")
    shop.expect_text("The order is placed.")
    return shop.page.url.rsplit("/", 1)[-1]


def line_row(shop: Console, name: str):
    return shop.page.locator("main table").first.locator("tbody tr", has_text=name)


def test_s003_goods_from_draft_to_realization_billed_by_a_payment_invoice_with_documents(
        browser_for, operator_console):
    operator = operator_console
    shop = browser_for()
    shop.sign_up("Goods Buyer OOO")
    shop.complete_profile()

    order = place_goods_order(shop, ("Rack server 1U", 1), ("Patch cable Cat 6, 2 m", 2500))
    shop.expect_text("Draft")
    expect(line_row(shop, "Patch cable")).to_contain_text("2000 approved")
    expect(line_row(shop, "Patch cable")).to_contain_text("Partly in stock")

    # edit: fewer cables, then what is in the cart joins the order
    cables = line_row(shop, "Patch cable")
    cables.get_by_role("spinbutton").fill("1500")
    shop.press("Change", cables)
    shop.expect_text("Saved.")
    shop.add_to_cart("SSD 1 TB", 10)
    shop.open(f"/orders/{order}")
    shop.press("Add what is in the cart")
    expect(line_row(shop, "SSD 1 TB").get_by_role("spinbutton")).to_have_value("10")

    shop.press("Send for confirmation")
    shop.expect_text("Awaiting confirmation")
    line_row(shop, "Rack server").get_by_role("spinbutton").fill("2")
    shop.press("Change", line_row(shop, "Rack server"))
    shop.expect_text("Draft")  # edited by the buyer: a draft again, to be sent again
    shop.press("Send for confirmation")
    shop.expect_text("Awaiting confirmation")

    # a second draft merged into it from My orders
    second = place_goods_order(shop, ("SSD 1 TB", 5))
    shop.open("/orders")
    for merged in (order, second):
        shop.page.locator(f'input[name="order_ids"][value="{merged}"]').check()
    shop.press("Merge the ticked orders")
    shop.expect_text("The orders are merged.")
    merged_order = shop.page.url.rsplit("/", 1)[-1]
    expect(line_row(shop, "SSD 1 TB").get_by_role("spinbutton")).to_have_value("15")
    shop.press("Send for confirmation")
    shop.expect_text("Awaiting confirmation")

    # the manager confirms; the buyer sends it for shipment
    operator.open("/admin/orders")
    row = operator.page.locator("tbody tr", has=operator.page.locator(f'a:text("{merged_order[:8]}")'))
    operator.press("Confirm", row)
    operator.expect_text("Confirmed.")
    shop.open(f"/orders/{merged_order}")
    shop.page.once("dialog", lambda dialog: dialog.accept())
    shop.press("Send for shipment")
    shop.expect_text("Sent for shipment")
    shop.expect_text("At the warehouse")

    # the warehouse packs it in boxes and ships it
    operator.open("/admin/shipments?status=to_warehouse")
    card = operator.page.locator("section.card").first
    number = card.get_by_role("heading").inner_text().split(" ")[0]
    operator.fill("Boxes: one line per article, “box sku quantity”",
                  "1 SRV-RACK-1U 1\n2 SRV-RACK-1U 1\n3 SSD-1T 15\n4 CABLE-CAT6-2M 1500", card)
    operator.press("Mark assembled", card)
    operator.open("/admin/shipments?status=assembled")
    card = operator.page.locator("section.card", has_text=number)
    operator.page.once("dialog", lambda dialog: dialog.accept())
    operator.press("Mark shipped", card)
    shop.open(f"/orders/{merged_order}")
    shop.expect_text(number)
    shop.reload_until("Shipped")

    # a payment invoice for the realization
    shop.open("/invoices")
    shop.page.get_by_label(re.compile(f"^{number}")).check()
    shop.press("Request the payment invoice")
    shop.expect_text("Done.")
    payable = shop.page.locator("#payment-invoices tbody tr").first
    expect(payable).to_contain_text("Open")

    # the buyer pays by bank and uploads the payment order
    shop.open("/balance")
    form = shop.page.locator("form", has_text="Upload")
    shop.fill("Amount", "100.00", form)
    shop.page.get_by_label("The payment order (PDF, PNG or JPEG, at most 10 MB)").set_input_files(
        {"name": "payment-order.pdf", "mimeType": "application/pdf",
         "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"})
    shop.press("Upload", form)
    shop.expect_text("The payment order is uploaded.")
    shop.expect_text("Being checked")

    # reports: the packing list of the shipment and the inventory of the order, from Files
    shop.open("/documents")
    packing = shop.page.locator("#form-packing_list")
    packing.get_by_label(re.compile(f"^{number}")).check()
    packing.get_by_label("Layout").select_option("box_characteristic")
    shop.press("Request", packing)
    shop.expect_text("The report is requested.")
    inventory = shop.page.locator("#inventory")
    shop.press("Request", inventory)
    expect(shop.page.locator("#reports tbody tr").filter(has_text="Ready")).to_have_count(2, timeout=60_000)
    shop.open("/documents")
    files = shop.page.locator("#files tbody tr")
    expect(files.filter(has_text="packing")).not_to_have_count(0)
    name, pdf = shop.download(files.first.get_by_role("link"))
    assert pdf.startswith(b"%PDF")
    shop.shoot("documents")

    # the settlements report's period limit is shown before it is asked for
    settlements = shop.page.locator("#form-settlements")
    expect(settlements).to_contain_text("12 months back")
    settlements.get_by_label("From").fill("2020-01-01")
    shop.press("Request", settlements)
    expect(shop.page.locator("#form-settlements")).to_contain_text("The period is too long for this report.")
