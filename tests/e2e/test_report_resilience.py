"""Reports when processes hang or die, through the gateway against the real product: a
report waiting on a paused billing goes back to the queue saying why and is made once billing
answers; a report whose documents process is killed mid-way is taken up again after its lease
and made, never left running; a report too large to attach is mailed as a signed link that downloads
it.

A product of its own with short clocks: services wait 2.5 s for each other (RPC_TIMEOUT 5 s),
a running report is taken up again 3 s after it was last heard of, the queue is looked at
every 0.3 s, a retry waits about a second, and a report over 100 bytes goes as a link.
Eventlet's hub-blocking detection is off: its real-time itimer keeps counting while a process
is stopped and would fire on SIGCONT.
"""

import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from services.common import testing
from tests.e2e.test_reports import ask, finished, pdf_text

LEASE_SECONDS = 3


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    tmp: Path = tmp_path_factory.mktemp("report-resilience")
    try:
        with testing.running_product(
                tmp, RPC_TIMEOUT="5", REPORT_LEASE_SECONDS=str(LEASE_SECONDS), REPORT_INTERVAL="0.3",
                REPORT_ATTEMPTS="10", MAIL_RETRY_BACKOFF="1", MAIL_INTERVAL="0.5",
                REPORT_ATTACH_MAX_BYTES="100", HUB_BLOCKING_DETECTION="0") as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def paused(product: testing.Product) -> Iterator[list[str]]:
    """Names appended here are paused by the test; whatever is still paused at the end is
    resumed and whatever was killed is started again, so one test's outage never leaks into
    the next."""
    names: list[str] = []
    yield names
    for name in names:
        process = product.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
    if product.processes["documents"].poll() is not None:
        product.start("documents")
    product.wait_healthy(timeout=60)


def pause(product: testing.Product, paused: list[str], name: str) -> None:
    product.kill(name, signal.SIGSTOP)
    paused.append(name)


def settlements_today(customer) -> dict:
    today = date.today().isoformat()
    asked = ask(customer, {"kind": "settlements", "from": today, "to": today})
    assert asked.status_code == 202, asked.text
    return asked.json()


def watch(customer, report_id: str, until, timeout: float, message: str) -> tuple[dict, list[str]]:
    """Follow a report until ``until(job)``; the job then and every status seen on the way."""
    seen: list[str] = []

    def look() -> dict | None:
        job = customer.get(f"/reports/{report_id}").json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        return job if until(job) else None

    return testing.wait_for(look, timeout, 0.1, message), seen


def stored_job(product: testing.Product, report_id: str) -> dict:
    """The job's row as the documents service left it in its database (read while the service
    is dead, when no API can say)."""
    engine = create_engine(product.env["DOCUMENTS_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT status, attempts, lease_until FROM report_jobs "
                                          "WHERE id = :id"), {"id": report_id}).mappings().one()
            return dict(row)
    finally:
        engine.dispose()


def test_a_report_waiting_on_a_paused_billing_goes_back_to_the_queue_and_is_made_once_billing_answers(
        product, customer, operator, paused):
    operator.top_up(customer.get("/account").json()["id"], "30.00")
    pause(product, paused, "billing")
    asked = settlements_today(customer)

    waiting, seen = watch(customer, asked["id"], lambda job: job["status"] == "queued" and job["error"],
                          30, "the report never went back to the queue")
    assert waiting["error"].startswith("ServiceTimeout: billing."), waiting
    assert "running" in seen and "failed" not in seen, seen

    product.kill("billing", signal.SIGCONT)
    job = finished(customer, asked["id"], 60)
    assert (job["status"], job["error"], job["progress"]) == ("ready", None, 100), job
    content = customer.get(f"/files/{job['file_id']}/content")
    assert content.status_code == 200
    text_of_pdf = pdf_text(content.content)
    assert "Mutual settlements" in text_of_pdf and "Top-up" in text_of_pdf


def test_a_report_whose_documents_process_is_killed_mid_way_is_taken_up_again_and_made(
        product, customer, operator, paused):
    operator.top_up(customer.get("/account").json()["id"], "20.00")
    pause(product, paused, "billing")  # the report waits inside its call to billing
    asked = settlements_today(customer)
    watch(customer, asked["id"], lambda job: job["status"] == "running", 30, "the report never ran")
    product.kill("documents", signal.SIGKILL)
    left = stored_job(product, asked["id"])
    assert left["status"] == "running", left  # what the dead process leaves behind
    product.kill("billing", signal.SIGCONT)

    product.start("documents")
    product.wait_healthy("documents")
    started = time.monotonic()
    job, seen = watch(customer, asked["id"], lambda job: job["status"] in ("ready", "failed"),
                      60, "the report was left running")

    assert job["status"] == "ready", job
    assert time.monotonic() - started < LEASE_SECONDS + 30
    assert seen[-1] == "ready" and "failed" not in seen, seen
    assert stored_job(product, asked["id"])["attempts"] == left["attempts"] + 1
    content = customer.get(f"/files/{job['file_id']}/content")
    assert content.status_code == 200 and "Top-up" in pdf_text(content.content)


def test_a_report_too_large_to_attach_is_mailed_as_a_link_that_downloads_it(product, customer):
    asked = ask(customer, {"kind": "receivables"}, uuid.uuid4().hex)
    assert asked.status_code == 202, asked.text
    job = finished(customer, asked.json()["id"])
    assert job["status"] == "ready", job
    content = customer.get(f"/files/{job['file_id']}/content")
    assert len(content.content) > 100  # over REPORT_ATTACH_MAX_BYTES

    mails = customer.mail.wait_for_mail(customer.email, count=2)
    (mail,) = [m for m in mails if m["Subject"] == "Your report is ready: Receivables"]
    assert list(mail.iter_attachments()) == []
    (link,) = re.findall(r"https?://\S+", testing.text_of(mail))
    assert link.startswith(f"{product.url}/download/"), link
    assert link in testing.html_of(mail)

    downloaded = httpx.get(link, timeout=30)  # a signed link: the mail's reader needs no token
    assert downloaded.status_code == 200, (link, downloaded.status_code, downloaded.text[:200])
    assert downloaded.content == content.content
    assert downloaded.headers["cache-control"] == "no-store"
    file_id, expires, signature = link.rsplit("/", 1)[1].rsplit(".", 2)
    for forged in (f"{uuid.uuid4()}.{expires}.{signature}", f"{file_id}.{int(expires) + 86400}.{signature}",
                   f"{file_id}.{expires}.{signature[:-2]}AA", "nonsense"):
        answer = httpx.get(f"{product.url}/download/{forged}", timeout=30)
        assert answer.status_code == 404, (forged, answer.status_code)
