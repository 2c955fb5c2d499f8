"""Driving the web console in real headless Chromium (Debian's ``chromium``, launched by
Playwright with ``executable_path``: ``playwright install`` cannot download here).

``Console`` is one person's browser tab: it opens pages and presses buttons as that person
would (by the labels and names they read), and on every kind of page it lands on it checks
that the page answered without a server error and that axe-core finds no serious or critical
accessibility violation.  ``shoot`` writes screenshots to ``var/screenshots`` (not committed).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from services.common import testing

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = testing.ROOT / "var" / "screenshots"
PASSWORD = "correct-horse-battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/[0-9a-f]{32}")
_checked: set[tuple[str, str]] = set()  # (page kind, language) axe has seen in this run


def page_kind(url: str) -> str:
    path = url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0].split("#")[0]
    return ID.sub("/{id}", "/" + path)


class Console:
    def __init__(self, browser: Browser, base_url: str, mail: testing.MailSink | None,
                 language: str = "en", viewport: dict[str, int] | None = None) -> None:
        self.context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP,  # type: ignore[arg-type]
                                           locale={"en": "en-GB", "sv": "sv-SE", "ru": "ru-RU"}[language])
        self.context.set_default_timeout(15_000)
        self.page: Page = self.context.new_page()
        self.base_url = base_url
        self.mail = mail
        self.language = language
        self.email: str | None = None
        self.page.on("response", self._no_server_error)
        self.server_errors: list[str] = []

    def _no_server_error(self, response: Any) -> None:
        if response.status >= 500 and response.status != 503:
            self.server_errors.append(f"{response.status} {response.url}")

    def close(self) -> None:
        self.context.close()
        assert not self.server_errors, f"the console answered with server errors: {self.server_errors}"

    # -- moving around ---------------------------------------------------------------------------

    def open(self, path: str) -> Page:
        self.page.goto(path)
        self.checked()
        return self.page

    def checked(self) -> None:
        """No traceback on the page, and axe-core's verdict once per kind of page."""
        self.page.wait_for_load_state("load")
        body = self.page.content()
        assert "Traceback" not in body and "Internal Server Error" not in body, body[:2000]
        kind = (page_kind(self.page.url), self.language)
        if kind not in _checked:
            _checked.add(kind)
            assert_accessible(self.page)

    def press(self, name: str, within: Any = None, exact: bool = True) -> None:
        scope = within if within is not None else self.page
        scope.get_by_role("button", name=name, exact=exact).first.click()
        self.checked()

    def fill(self, label: str, value: str, within: Any = None) -> None:
        scope = within if within is not None else self.page
        scope.get_by_label(label, exact=True).fill(value)

    def section(self, heading: str) -> Any:
        return self.page.locator("section", has=self.page.get_by_role("heading", name=heading, exact=True))

    def expect_heading(self, text: str) -> None:
        expect(self.page.get_by_role("heading", level=1)).to_have_text(text)

    def expect_text(self, text: str) -> None:
        expect(self.page.locator("main")).to_contain_text(text)

    def shoot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        width = self.page.viewport_size["width"] if self.page.viewport_size else 0
        target = SHOTS / f"{name}-{self.language}-{'phone' if width < 600 else 'desktop'}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    # -- the usual steps -------------------------------------------------------------------------

    def sign_up(self, company: str = "Ada Cloud AB") -> str:
        """Sign up, open the mailed link, confirm, and sign in; the e-mail address."""
        assert self.mail is not None
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        self.open("/signup")
        self.fill("Company name", company)
        self.fill("Country (two letters)", "SE")
        self.fill("E-mail address", email)
        self.fill("Password", PASSWORD)
        self.fill("The same password again", PASSWORD)
        self.press("Create the account")
        self.expect_heading("Check your mail")
        (mail,) = self.mail.wait_for_mail(email)
        link = re.search(r"https?://\S+?/verify\?token=[A-Za-z0-9_-]+", testing.text_of(mail))
        assert link, "the verification mail has no link"
        self.page.goto(link.group(0))
        self.press("Confirm my address")
        expect(self.page.locator("body")).to_contain_text("confirmed")
        self.sign_in(email)
        self.email = email
        return email

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.open("/login")
        self.fill("E-mail address", email)
        self.fill("Password", password)
        self.press("Sign in")

    def complete_profile(self) -> None:
        self.open("/profile")
        billing = self.section("Billing information")
        for label, value in (("Legal name", "Ada Cloud AB"),
                             ("Tax id (VAT or organisation number)", "SE556677889901"),
                             ("Street", "Sveavägen 1"), ("Postal code", "111 57"), ("City", "Stockholm"),
                             ("Country (two letters)", "SE")):
            self.fill(label, value, billing)
        self.press("Save the billing information", billing)
        self.expect_text("Saved.")
        mailing = self.section("Mailing information")
        for label, value in (("Recipient", "Ada Lovelace, Accounts payable"),
                             ("Phone", "+46 8 123 456"),
                             ("E-mail address for invoices", "ap@example.com"), ("Street", "Box 17"),
                             ("Postal code", "111 58"), ("City", "Stockholm"),
                             ("Country (two letters)", "SE")):
            self.fill(label, value, mailing)
        self.press("Save the mailing information", mailing)
        self.expect_text("Saved.")

    def add_to_cart(self, product_name: str, quantity: int = 1) -> None:
        self.open("/cart")
        row = self.page.locator("#catalogue tr", has_text=product_name)
        row.get_by_role("spinbutton").fill(str(quantity))
        self.press("Add to the cart", row)
        self.expect_text("Added to the cart.")

    def download(self, link: Any, timeout: float = 30) -> tuple[str, bytes]:
        """Click a download link until it gives a file (a document may still be being made):
        its suggested name and bytes."""
        def fetched() -> tuple[str, bytes] | None:
            with self.page.expect_download() as started:
                link.click()
            download = started.value
            if download.failure() is not None:
                return None
            return download.suggested_filename, Path(download.path()).read_bytes()

        return testing.wait_for(fetched, timeout, interval=1, message="the file never downloaded")

    def reload_until(self, text: str, timeout: float = 30) -> None:
        """Reload the page until it shows ``text`` (what a person waiting for a result does)."""
        def shown() -> bool:
            self.page.reload()
            return text in self.page.locator("main").inner_text()

        testing.wait_for(shown, timeout, interval=0.5, message=f"the page never showed {text!r}")


def assert_accessible(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page)
    serious = [v for v in found.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, (f"axe-core on {page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}" for v in serious))
