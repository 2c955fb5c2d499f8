"""S002 (the cloud console's "Apply for an Invoice") through the browser only: Fees →
Invoice Management → the Invoiceable List → tick → Apply → the confirmation page → Confirm,
and the status on the Invoice List.  Every refusal is a message on the page: billing
information missing, mailing information missing, an order paid by voucher (not invoiceable),
an order whose implementation partly failed (until its failed part is cancelled and refunded),
and an account in arrears."""

import re
from datetime import date, timedelta

import httpx
from playwright.sync_api import expect

from tests.browser.browser import Console


def operator_opens_account(operator: Console, email: str, company: str = "Apply Rules AB") -> str:
    operator.open(f"/admin/accounts?q={email}")
    operator.page.get_by_role("link", name=company).click()
    operator.checked()
    return operator.page.url


def top_up(operator: Console, account_url: str, amount: str) -> None:
    operator.open(account_url)
    form = operator.page.locator("form", has_text="Credit the balance")
    operator.fill("Amount in EUR", amount, form)
    operator.page.once("dialog", lambda dialog: dialog.accept())
    operator.press("Credit the balance", form)
    operator.expect_text("Done.")


def order(shop: Console, product: str, method: str, quantity: int = 1) -> str:
    shop.add_to_cart(product, quantity)
    shop.page.get_by_label(method, exact=True).check()
    shop.press("Place the order")
    shop.expect_text("The order is placed.")
    return shop.page.url.rsplit("/", 1)[-1]


def invoiceable_row(shop: Console, order_id: str, showing: str = ""):
    """The order's row on the Invoiceable List, once it is listed (and shows ``showing``)."""
    shop.open("/invoices/apply")
    shop.reload_until(order_id[:8])
    if showing:
        shop.reload_until(showing)
    return shop.page.locator("tbody tr", has=shop.page.locator(f'a[href="/orders/{order_id}"]'))


def apply_for(shop: Console, *order_ids: str) -> None:
    shop.open("/invoices/apply")
    for order_id in order_ids:
        shop.page.locator(f'input[value="{order_id}"]').check()
    shop.press("Apply")


def test_s002_an_invoice_application_refused_for_each_reason_until_put_right_then_confirmed(
        browser_for, operator_console, product):
    operator = operator_console
    shop = browser_for()
    email = shop.sign_up("Apply Rules AB")
    account_url = operator_opens_account(operator, email)
    top_up(operator, account_url, "100.00")

    paid = order(shop, "Cloud VM, small, 1 month", "From the balance")
    shop.reload_until("Completed")
    row = invoiceable_row(shop, paid)
    expect(row.get_by_role("checkbox")).to_be_visible()

    apply_for(shop, paid)
    shop.expect_text("Fill in the billing information in your profile first")
    shop.open("/profile")
    billing = shop.section("Billing information")
    for label, value in (("Legal name", "Apply Rules AB"),
                         ("Tax id (VAT or organisation number)", "SE556000111101"),
                         ("Street", "Kungsgatan 2"), ("Postal code", "111 43"), ("City", "Stockholm"),
                         ("Country (two letters)", "SE")):
        shop.fill(label, value, billing)
    shop.press("Save the billing information", billing)
    apply_for(shop, paid)
    shop.expect_text("Fill in the mailing information in your profile first")
    shop.complete_profile()

    # a voucher-paid order is listed with its reason and cannot be ticked
    operator.open("/admin/vouchers")
    operator.fill("Amount", "40.00")
    operator.fill("Last day it can be redeemed", (date.today() + timedelta(days=30)).isoformat())
    operator.press("Make the voucher")
    code = re.search(r"Voucher (\S+) is made", operator.page.locator("main").inner_text()).group(1)
    shop.open("/balance")
    shop.fill("Voucher code", code)
    shop.press("Redeem")
    shop.expect_text("The voucher is redeemed.")
    by_voucher = order(shop, "Cloud VM, small, 1 month", "With a voucher")
    shop.reload_until("Completed")
    row = invoiceable_row(shop, by_voucher)
    expect(row).to_contain_text("Paid with a voucher: voucher payments are not invoiced.")
    expect(row.get_by_role("checkbox")).to_have_count(0)

    # one of two units fails and the automatic cancel fails too: not invoiceable until cancelled
    rule = httpx.put(f"{product.url}/api/v1/admin/provisioning-simulator/BACKUP-100G-1M",
                     json={"outcome": "fail_units", "failed_units": 1, "cancel_fails": True},
                     headers={"Authorization": f"Bearer {operator_token(product)}"})
    assert rule.status_code == 200, rule.text
    failing = order(shop, "Backup storage 100 GB, 1 month", "From the balance", quantity=2)
    shop.reload_until("Partially failed")
    row = invoiceable_row(shop, failing, "Its implementation failed.")
    shop.open(f"/orders/{failing}")
    shop.page.once("dialog", lambda dialog: dialog.accept())
    shop.press("Cancel the failed part")
    shop.reload_until("Refunded")
    row = invoiceable_row(shop, failing, "€6.25")
    expect(row.get_by_role("checkbox")).to_be_visible()
    expect(row).to_contain_text("€6.25")  # the unit that was delivered, with VAT

    # in arrears: an order on credit takes the balance below zero
    operator.open(account_url)
    limit = operator.page.locator("form", has_text="Set the credit limit")
    operator.fill("Amount in EUR", "200.00", limit)
    operator.press("Set the credit limit", limit)
    order(shop, "Cloud VM, small, 1 month", "From the balance", quantity=4)
    shop.open("/")
    shop.expect_text("Your account is in arrears")
    apply_for(shop, paid, failing)
    shop.expect_text("Your account is in arrears. Pay what is overdue first")
    top_up(operator, account_url, "200.00")

    apply_for(shop, paid, failing)
    shop.expect_heading("Confirm the invoice")
    shop.expect_text("Ada Cloud AB")  # made out to the billing information (as last saved)
    shop.expect_text("ap@example.com")  # sent to the mailing information
    shop.expect_text("PDF by e-mail")
    expect(shop.page.locator("main table").first.locator("tbody tr")).to_have_count(2)
    shop.expect_text("VAT breakdown")
    shop.shoot("confirmation")
    shop.press("Confirm")
    shop.expect_heading("Invoice List")
    shop.reload_until("INV-")  # issued (and soon delivered)
    invoice = shop.page.locator("section", has_text="Invoices and credit notes").locator("tbody tr").first
    name, pdf = shop.download(invoice.get_by_role("link", name=re.compile("^PDF")))
    assert pdf.startswith(b"%PDF")
    name, xml = shop.download(invoice.get_by_role("link", name=re.compile("^XML")))
    assert b"<Invoice" in xml and name.endswith(".xml")
    shop.shoot("invoices")


def operator_token(product) -> str:
    signed = httpx.post(f"{product.url}/api/v1/auth/login",
                        json={"email": "operator@example.com", "password": "operator-password"})
    return signed.json()["token"]
