"""The console's rules that are not a story: its pages in Swedish and Russian carry no English
source string; sessions and CSRF; another account's ids are the 404 page; sign-up and the
invoice application by keyboard alone; screenshots of the key pages in three languages at
desktop and phone widths (written to var/screenshots, not committed)."""

import re

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from services.common import testing
from tests.browser.browser import DESKTOP, PASSWORD, PHONE, Console
from tests.browser.test_console_s002 import operator_opens_account, order, top_up

CATALOGUE = testing.ROOT / "services" / "documents" / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
CUSTOMER_PAGES = ("/", "/profile", "/balance", "/cart", "/orders", "/invoices/apply", "/invoices",
                  "/documents")
OPERATOR_PAGES = ("/admin", "/admin/accounts", "/admin/vouchers", "/admin/orders", "/admin/shipments",
                  "/admin/applications", "/admin/bank", "/admin/payment-orders",
                  "/admin/einvoice-directory", "/admin/letters", "/admin/deliveries", "/admin/receivables")


def english_sources(language: str) -> list[str]:
    """The pieces of English text (between placeholders) of every message the language
    translates differently: none may show on its pages."""
    with (CATALOGUE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    pieces: set[str] = set()
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for source in ids:
            if not source or source in strings:
                continue
            pieces.update(p.strip() for p in PLACEHOLDER.split(source) if len(p.strip()) >= 12)
    return sorted(pieces)


def untranslated(console: Console, sources: list[str]) -> list[str]:
    text = " ".join(console.page.locator("body").inner_text().split())
    return [source for source in sources if source in text]


@pytest.mark.parametrize("language", ["sv", "ru"])
def test_the_console_in_swedish_and_russian_shows_no_english_message(browser_for, language):
    sources = english_sources(language)
    visitor = browser_for(language)
    for path in ("/login", "/signup"):
        visitor.open(path)
        assert untranslated(visitor, sources) == [], path
    shop = browser_for()  # signed up in English, then switched to the language
    shop.sign_up("Språk AB")
    shop.language = language
    shop.open(f"/language?set={language}&next=/")
    for path in CUSTOMER_PAGES:
        shop.open(path)
        assert untranslated(shop, sources) == [], path
    operator = browser_for()
    operator.sign_in("operator@example.com", "operator-password")
    operator.language = language
    operator.open(f"/language?set={language}&next=/admin")
    for path in OPERATOR_PAGES:
        operator.open(path)
        assert untranslated(operator, sources) == [], path


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(browser_for):
    shop = browser_for()
    shop.sign_up("Csrf AB")
    forged = shop.context.request.post("/profile/company", form={
        "legal_name": "Forged Ltd", "country": "SE"}, max_redirects=0)
    assert forged.status == 403 and "This form has expired" in forged.text()
    wrong = shop.context.request.post("/profile/company", form={
        "legal_name": "Forged Ltd", "country": "SE", "csrf": "0" * 64}, max_redirects=0)
    assert wrong.status == 403
    shop.open("/profile")
    expect(shop.page.get_by_label("Legal name").first).to_have_value("Csrf AB")


def test_the_session_cookie_signs_in_pages_only_never_the_json_api(browser_for):
    shop = browser_for()
    shop.sign_up("Cookie AB")
    (session,) = [c for c in shop.context.cookies() if c["name"] == "bc_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    for method, path in (("post", "/api/v1/cart/items"), ("put", "/api/v1/account/company"),
                         ("post", "/api/v1/orders"), ("post", "/api/v1/auth/logout")):
        answer = getattr(shop.context.request, method)(path, data={"sku": "VM-S-1M", "quantity": 1})
        assert answer.status == 401 and answer.json()["error"]["code"] == "authentication_required", path
    assert shop.context.request.get("/api/v1/account").status == 401


def test_signing_out_revokes_the_session_cookie(browser_for):
    shop = browser_for()
    shop.sign_up("Revoked AB")
    (session,) = [c for c in shop.context.cookies() if c["name"] == "bc_session"]
    shop.press("Sign out")
    shop.expect_text("You are signed out.")
    shop.context.add_cookies([session])  # a copy of the cookie kept from before
    shop.open("/profile")
    shop.expect_heading("Sign in")


def test_another_accounts_order_and_invoice_are_the_404_page(browser_for, operator_console):
    owner = browser_for()
    email = owner.sign_up("Owner AB")
    top_up(operator_console, operator_opens_account(operator_console, email, "Owner AB"), "50.00")
    mine = order(owner, "Cloud VM, small, 1 month", "From the balance")
    stranger = browser_for()
    stranger.sign_up("Stranger AB")
    for path in (f"/orders/{mine}", f"/invoices/{mine}/pdf", f"/documents/files/{mine}",
                 f"/invoices/applications/{mine}", "/no/such/page"):
        answer = stranger.page.goto(path)
        assert answer.status == 404, path
        stranger.expect_heading("Not found")
    assert stranger.page.goto("/admin").status == 404  # the back office is not a customer's


def tab_to(console: Console, name: str, limit: int = 80) -> None:
    """Press Tab until the focused control is the one named ``name`` (its label or text)."""
    for _ in range(limit):
        console.page.keyboard.press("Tab")
        focused = console.page.evaluate("""() => {
            const el = document.activeElement;
            if (!el) return "";
            const label = el.id && document.querySelector(`label[for="${el.id}"]`);
            return (label ? label.innerText : el.innerText || el.value || "").trim();
        }""")
        if focused == name:
            outline = console.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{name} has no visible focus"
            return
    raise AssertionError(f"{name} is not reachable by Tab")


def test_signing_up_and_applying_for_an_invoice_by_keyboard_alone(browser_for, operator_console, product):
    shop = browser_for()
    shop.open("/signup")
    email = f"keys-{testing.free_port()}@example.com"
    for label, value in (("Company name", "Keyboard AB"), ("Country (two letters)", "SE"),
                         ("E-mail address", email), ("Password", PASSWORD),
                         ("The same password again", PASSWORD)):
        tab_to(shop, label)
        shop.page.keyboard.type(value)
    tab_to(shop, "Create the account")
    shop.page.keyboard.press("Enter")
    shop.expect_heading("Check your mail")
    (mail,) = product.mail.wait_for_mail(email)
    shop.page.goto(re.search(r"https?://\S+?/verify\?token=[\w-]+", testing.text_of(mail)).group(0))
    tab_to(shop, "Confirm my address")
    shop.page.keyboard.press("Enter")
    expect(shop.page.locator("main")).to_contain_text("is confirmed")
    shop.sign_in(email)
    shop.complete_profile()
    top_up(operator_console, operator_opens_account(operator_console, email, "Keyboard AB"), "50.00")
    paid = order(shop, "Cloud VM, small, 1 month", "From the balance")
    shop.open("/invoices/apply")
    shop.reload_until(paid[:8])
    tab_to(shop, f"Invoice order {paid[:8]}")
    shop.page.keyboard.press("Space")
    tab_to(shop, "Apply")
    shop.page.keyboard.press("Enter")
    shop.expect_heading("Confirm the invoice")
    tab_to(shop, "Confirm")
    shop.page.keyboard.press("Enter")
    shop.expect_heading("Invoice List")


@pytest.mark.parametrize("language", ["en", "sv", "ru"])
def test_screenshots_of_the_key_pages(browser_for, language):
    shop = browser_for(language)
    shop.open("/login")
    shop.shoot("login")
    english = browser_for()
    english.sign_up("Skärmbild AB")
    for cookie in english.context.cookies():
        shop.context.add_cookies([cookie])
    shop.open(f"/language?set={language}&next=/")
    for viewport in (DESKTOP, PHONE):
        shop.page.set_viewport_size(viewport)
        for name, path in (("overview", "/"), ("profile", "/profile"), ("cart", "/cart"),
                           ("invoiceable", "/invoices/apply"), ("documents", "/documents")):
            shop.open(path)
            shop.shoot(name)
