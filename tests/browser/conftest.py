"""Browser tier: the console driven in real headless Chromium against the whole product (as
the end-to-end tier runs it), through the browser only.

These tests run in a process of their own without eventlet's monkey patching (``make test``
runs them after the rest, with ``BC_TEST_TIER=browser``): Playwright's synchronous API hangs
when eventlet's hub runs its event handlers.  In the main run this folder is not collected.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common import testing

if os.environ.get("BC_TEST_TIER") != "browser":
    collect_ignore_glob = ["*"]


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    """The product as the end-to-end tier runs it; goods orders above 1,000 wait for a manager
    and invoice applications above 1,000 for an operator's review, as a seller would set it."""
    tmp: Path = tmp_path_factory.mktemp("product")
    try:
        with testing.running_product(tmp, RPC_TIMEOUT="5", ORDERS_MANAGER_CONFIRMATION="above:1000",
                                     INVOICING_REVIEW="above:1000") as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


# -- the web console in a browser -----------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.browser.browser import CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.failed_in_browser = True


@pytest.fixture
def browser_for(request: pytest.FixtureRequest, chromium: Any,
                product: testing.Product) -> Iterator[Any]:
    """Opens browser tabs (``browser_for(language="sv")``): each its own cookies.  A failed
    test leaves each tab's last page in ``var/screenshots/failed-*`` (HTML and PNG)."""
    from tests.browser.browser import SHOTS, Console

    opened: list[Console] = []

    def open_console(language: str = "en", viewport: dict[str, int] | None = None) -> Console:
        console = Console(chromium, product.url, product.mail, language, viewport)
        opened.append(console)
        return console

    yield open_console
    for number, console in enumerate(opened):
        if getattr(request.node, "failed_in_browser", False):
            SHOTS.mkdir(parents=True, exist_ok=True)
            stem = SHOTS / f"failed-{request.node.name[:60]}-{number}"
            stem.with_suffix(".html").write_text(f"<!-- {console.page.url} -->\n" + console.page.content())
            console.page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
        console.close()


@pytest.fixture
def operator_console(browser_for: Any) -> Any:
    console = browser_for()
    console.sign_in("operator@example.com", "operator-password")
    return console
