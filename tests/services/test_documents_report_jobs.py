"""Report jobs and the Files centre through the documents service, on the run's PostgreSQL
(the claim of a job rests on ``SELECT … FOR UPDATE SKIP LOCKED``, which only PostgreSQL has):
a job whose process died is taken up again once its lease runs out, and fails saying why
after its last try, never staying ``running``; two sweeps never take the same job; a report's
file goes when its days are over, but bytes another file still holds stay, also while that
file is being made; issued documents stay for good; another account's file is as missing as
a missing one.

The service is called as nameko would (a fresh worker per call, ``service_fakes.Service``) with
the real file store on a temporary directory; billing is a fake answering what the tests set."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import eventlet
import pytest
from eventlet.event import Event
from service_fakes import FakeOutbox, Service, account_answer
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import Settings
from services.common.contracts import utcnow
from services.common.db import WorkerDatabase, make_engine
from services.common.errors import NotFound, ServiceUnavailable
from services.documents.filestore import FileStore
from services.documents.models import Document, Mail, ReportJob
from services.documents.service import DocumentsService

ATTEMPTS = 3


class PostgresDatabase:
    """The run's documents database on PostgreSQL: fresh ``WorkerDatabase``s for workers and
    plain sessions for the test to arrange and look at rows."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.read_engine = make_engine(url, reads=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def worker(self) -> WorkerDatabase:
        return WorkerDatabase(self.sessions, self.read_engine)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


@pytest.fixture
def documents_db(database_urls: dict[str, str]) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(database_urls["documents"])
    with database.session() as session:  # the run's database: this test starts from no jobs
        for table in (ReportJob, Document, Mail):
            session.execute(delete(table))
        session.commit()
    yield database
    database.dispose()


class Billing:
    """What the documents service asks billing for a receivables report; ``paused`` holds a
    call to ``get_profile`` (asked after the file is stored, before the job is ready) until
    set; ``failing`` makes every call raise it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.paused: Event | None = None
        self.inside_profile = Event()
        self.failing: Exception | None = None

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if self.failing is not None:
            raise self.failing

    def get_account(self, account_id: str) -> dict[str, Any]:
        self._call("get_account")
        return {**account_answer(account_id), "language": "en"}

    def receivables(self, account_id: str, today: str) -> dict[str, Any]:
        self._call("receivables")
        zero = {"amount": "0.00", "currency": "EUR"}
        return {"as_of": today, "next_cursor": None, "items": [{
            "account_id": account_id, "name": "Buyer AB", "currency": "EUR",
            "cash_balance": {"amount": "12.00", "currency": "EUR"}, "voucher_balance": zero,
            "owes": zero, "owed": {"amount": "12.00", "currency": "EUR"},
            "buckets": {bucket: zero for bucket in ("current", "1_30", "31_60", "61_90", "over_90")},
            "invoices": []}]}

    def get_profile(self, account_id: str) -> dict[str, Any]:
        self._call("get_profile")
        if not self.inside_profile.ready():
            self.inside_profile.send()
        if self.paused is not None:
            self.paused.wait()
        return {"company": {}, "billing_info": None, "mailing_info": None}


@pytest.fixture
def billing() -> Billing:
    return Billing()


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", rpc_timeout=4, inner_rpc_timeout=2, report_attempts=ATTEMPTS,
                    report_lease_seconds=60, files_retention_days=2, mail_retry_backoff=1,
                    file_store_dir=tmp_path / "files")


@pytest.fixture
def documents(documents_db, billing, files, settings) -> Service:
    return Service(DocumentsService, documents_db, outbox=FakeOutbox(), settings=settings,
                   billing=billing, files=files)


ACCOUNT = str(uuid.uuid4())


def queued_job(database: PostgresDatabase, account_id: str = ACCOUNT, created_at: datetime | None = None,
               **state: Any) -> str:
    """A receivables report as CSV asked for (``state``: how far it got)."""
    job_id = str(uuid.uuid4())
    row = {"status": "queued", "attempts": 0, "progress": 0, "lease_until": None, **state}
    with database.session() as session:
        session.add(ReportJob(id=job_id, account_id=account_id, request_key=job_id, kind="receivables",
                              format="csv", parameters_json="{}", language="en", email=None,
                              created_at=created_at or utcnow(), **row))
        session.commit()
    return job_id


def job(database: PostgresDatabase, job_id: str) -> ReportJob:
    with database.session() as session:
        found = session.get(ReportJob, job_id)
        assert found is not None
        return found


def lease_ran_out(database: PostgresDatabase, job_id: str) -> None:
    """As time does for a job whose process died (or whose pause before a retry is over)."""
    with database.session() as session:
        session.execute(update(ReportJob).where(ReportJob.id == job_id)
                        .values(lease_until=utcnow() - timedelta(seconds=1)))
        session.commit()


# -- leases -----------------------------------------------------------------------------------------


def test_a_running_job_whose_lease_ran_out_is_taken_up_again_and_made_ready(
        documents, documents_db, files):
    crashed = queued_job(documents_db, status="running", attempts=1, progress=40,
                         lease_until=utcnow() - timedelta(seconds=5))

    documents.run_reports()

    done = job(documents_db, crashed)
    assert (done.status, done.attempts, done.progress, done.lease_until) == ("ready", 2, 100, None)
    shown = documents.get_file(ACCOUNT, done.document_id)
    assert shown["kind"] == "receivables" and shown["filename"].startswith("receivables-")
    located = documents.locate_file(ACCOUNT, done.document_id)
    assert files.get(located["path"], located["sha256"]).decode("utf-8-sig").startswith("Invoice,")


def test_a_running_job_whose_lease_still_runs_is_left_to_its_process(documents, documents_db, billing):
    running = queued_job(documents_db, status="running", attempts=1,
                         lease_until=utcnow() + timedelta(seconds=30))

    documents.run_reports()

    assert (job(documents_db, running).status, job(documents_db, running).attempts) == ("running", 1)
    assert billing.calls == []


def test_a_job_interrupted_on_every_try_fails_after_the_last_saying_so_and_never_stays_running(
        documents, documents_db, billing):
    interrupted = queued_job(documents_db)
    for attempt in range(1, ATTEMPTS + 1):
        assert documents._claim_report() == interrupted  # taken … and its process dies
        assert (job(documents_db, interrupted).status, job(documents_db, interrupted).attempts) == (
            "running", attempt)
        lease_ran_out(documents_db, interrupted)

    documents.run_reports()

    failed = job(documents_db, interrupted)
    assert failed.status == "failed" and failed.lease_until is None and failed.finished_at is not None
    assert failed.error == f"the report could not be produced in {ATTEMPTS} tries (each was interrupted)"
    assert documents.get_report(ACCOUNT, interrupted)["status"] == "failed"
    assert billing.calls == []  # not tried a fourth time
    assert documents._claim_report() is None


def test_a_try_meeting_an_unavailable_service_goes_back_to_the_queue_noting_why_then_fails_after_the_last(
        documents, documents_db, billing):
    unlucky = queued_job(documents_db)
    billing.failing = ServiceUnavailable("the billing service is not running")

    for attempt in range(1, ATTEMPTS + 1):
        documents.run_reports()
        waiting = job(documents_db, unlucky)
        assert (waiting.status, waiting.attempts) == ("queued", attempt)  # not failed at once
        assert waiting.error == "ServiceUnavailable: the billing service is not running"
        assert waiting.lease_until is not None and waiting.lease_until > utcnow()  # a pause first
        documents.run_reports()
        assert job(documents_db, unlucky).attempts == attempt  # … which the next sweep respects
        lease_ran_out(documents_db, unlucky)

    documents.run_reports()

    failed = job(documents_db, unlucky)
    assert failed.status == "failed"
    assert failed.error == (f"the report could not be produced in {ATTEMPTS} tries; the last: "
                            "ServiceUnavailable: the billing service is not running")


def test_a_job_that_met_an_unavailable_service_is_made_ready_once_the_service_answers(
        documents, documents_db, billing):
    patient = queued_job(documents_db)
    billing.failing = ServiceUnavailable("the billing service is not running")
    documents.run_reports()
    billing.failing = None
    lease_ran_out(documents_db, patient)

    documents.run_reports()

    done = job(documents_db, patient)
    assert (done.status, done.attempts, done.error) == ("ready", 2, None)


# -- two sweeps at once ------------------------------------------------------------------------------


class Overlap:
    """Holds each claiming transaction at its commit until ``parties`` of them are there, so
    the claims overlap in PostgreSQL whatever the scheduling (gives up after a few seconds:
    a claim that waits for another's lock never arrives while the other is held)."""

    def __init__(self, database: PostgresDatabase, parties: int) -> None:
        self.database = database
        self.barrier = threading.Barrier(parties, timeout=5)
        self.met = 0

    def _at_commit(self, session: Session) -> None:
        try:
            self.barrier.wait()
            self.met += 1
        except threading.BrokenBarrierError:
            pass

    def __enter__(self) -> Overlap:
        event.listen(self.database.sessions, "before_commit", self._at_commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.database.sessions, "before_commit", self._at_commit)


def claim_at_once(documents: Service, database: PostgresDatabase, sweeps: int) -> list[str | None]:
    with Overlap(database, sweeps) as overlap:
        pool = eventlet.GreenPool(sweeps)
        claimed = list(pool.imap(lambda _: documents._claim_report(), range(sweeps)))
    assert overlap.met == sweeps, "the claims did not overlap"
    return claimed


def test_two_sweeps_at_once_never_take_the_same_job(documents, documents_db):
    only = queued_job(documents_db)

    claimed = claim_at_once(documents, documents_db, 2)

    assert sorted(claimed, key=str) == sorted([only, None], key=str)
    assert job(documents_db, only).attempts == 1


def test_sweeps_at_once_share_out_the_queued_jobs_each_to_one(documents, documents_db):
    start = utcnow() - timedelta(minutes=1)
    jobs = [queued_job(documents_db, created_at=start + timedelta(seconds=n)) for n in range(4)]

    claimed = claim_at_once(documents, documents_db, 6)

    taken = [job_id for job_id in claimed if job_id is not None]
    assert sorted(taken) == sorted(jobs)  # every job once, none twice
    assert claimed.count(None) == 2
    with documents_db.session() as session:
        assert set(session.scalars(select(ReportJob.attempts).where(ReportJob.id.in_(jobs)))) == {1}


# -- keeping and removing files ------------------------------------------------------------------------


def stored(database: PostgresDatabase, files: FileStore, content: bytes, *, kind: str = "receivables",
           account_id: str = ACCOUNT, expires_in: timedelta | None = timedelta(days=1),
           status: str = "ready") -> str:
    """A file in the Files centre holding ``content`` (``expires_in`` None: an issued
    document, kept for good)."""
    blob = files.put(content)
    written = time.time() - 86400  # stored long ago: bytes written lately are spared (a race)
    os.utime(files.resolve(blob.path), (written, written))
    document_id = str(uuid.uuid4())
    with database.session() as session:
        session.add(Document(
            id=document_id, kind=kind, reference=str(uuid.uuid4()), account_id=account_id,
            status=status, content_type="text/csv; charset=utf-8", filename=f"{kind}.csv",
            path=blob.path, size=blob.size, sha256=blob.sha256,
            created_at=utcnow() - timedelta(days=40),
            expires_at=None if expires_in is None else utcnow() + expires_in))
        session.commit()
    return document_id


def present(database: PostgresDatabase, document_id: str) -> bool:
    with database.session() as session:
        return session.get(Document, document_id) is not None


def blob(files: FileStore, database: PostgresDatabase, document_id: str) -> Path:
    with database.session() as session:
        found = session.get(Document, document_id)
        assert found is not None and found.path is not None
        return files.resolve(found.path)


def test_a_report_file_past_its_days_is_removed_with_its_bytes(documents, documents_db, files):
    expired = stored(documents_db, files, b"old report", expires_in=timedelta(seconds=-1))
    where = blob(files, documents_db, expired)

    assert documents.remove_expired_files() == 1

    assert not present(documents_db, expired) and not where.exists()
    with pytest.raises(NotFound):
        documents.get_file(ACCOUNT, expired)


def test_bytes_another_file_still_holds_stay_when_an_expired_file_is_removed(documents, documents_db, files):
    expired = stored(documents_db, files, b"the same report", expires_in=timedelta(seconds=-1))
    kept = stored(documents_db, files, b"the same report")
    invoice = stored(documents_db, files, b"the same report", kind="invoice", expires_in=None)
    assert blob(files, documents_db, expired) == blob(files, documents_db, kept)

    assert documents.remove_expired_files() == 1

    assert not present(documents_db, expired)
    for holder in (kept, invoice):
        located = documents.locate_file(ACCOUNT, holder)
        assert files.get(located["path"], located["sha256"]) == b"the same report"


def test_an_issued_document_is_never_removed_however_old(documents, documents_db, files):
    invoice = stored(documents_db, files, b"%PDF invoice", kind="invoice", expires_in=None)
    expired = stored(documents_db, files, b"a report", expires_in=timedelta(days=-365))

    assert documents.remove_expired_files() == 1

    assert present(documents_db, invoice) and blob(files, documents_db, invoice).exists()
    assert not present(documents_db, expired)
    assert [f["id"] for f in documents.list_files(ACCOUNT)["items"]] == [invoice]


def test_every_expired_file_is_removed_however_many_there_are(documents, documents_db, files):
    expired = [stored(documents_db, files, f"report {n}".encode(), expires_in=timedelta(seconds=-1))
               for n in range(230)]
    fresh = stored(documents_db, files, b"report of today")

    assert documents.remove_expired_files() == 230

    assert not any(present(documents_db, document_id) for document_id in expired[::23])
    assert present(documents_db, fresh)


def test_a_ready_report_is_kept_for_the_configured_days(documents, documents_db, settings):
    produced = queued_job(documents_db)
    documents.run_reports()

    with documents_db.session() as session:
        document = session.get(Document, job(documents_db, produced).document_id)
        assert document is not None and document.expires_at is not None
        kept_for = document.expires_at - document.created_at
    assert abs(kept_for - timedelta(days=settings.files_retention_days)) < timedelta(seconds=5)
    assert documents.remove_expired_files() == 0


def test_bytes_of_a_report_being_made_stay_when_an_expired_file_with_the_same_bytes_is_removed(
        documents, documents_db, files, billing):
    """The sweep and a report with the same bytes at once: the report has written its file to
    the store and not yet listed it (it asks billing where to mail it first) when the sweep
    removes an expired file holding those bytes."""
    first = queued_job(documents_db)
    documents.run_reports()
    old = job(documents_db, first).document_id
    with documents_db.session() as session:  # the first report's days are over
        session.execute(update(Document).where(Document.id == old)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()

    billing.paused, billing.inside_profile = Event(), Event()
    again = queued_job(documents_db)  # the same report again: the same bytes
    making = eventlet.spawn(documents.run_reports)
    billing.inside_profile.wait()  # its file is in the store, its row not yet
    removed = documents.remove_expired_files()
    billing.paused.send()
    making.wait()

    assert removed == 1 and not present(documents_db, old)
    made = job(documents_db, again)
    assert made.status == "ready"
    located = documents.locate_file(ACCOUNT, made.document_id)
    assert files.resolve(located["path"]).exists(), "the new report's bytes were removed"
    assert files.get(located["path"], located["sha256"]).decode("utf-8-sig").startswith("Invoice,")


# -- whose file -------------------------------------------------------------------------------------------


def test_another_accounts_file_is_as_missing_as_a_missing_one(documents, documents_db, files):
    theirs = stored(documents_db, files, b"their report", account_id=str(uuid.uuid4()))
    mine = stored(documents_db, files, b"my report")

    for file_id in (theirs, str(uuid.uuid4())):
        for method in (documents.get_file, documents.locate_file):
            with pytest.raises(NotFound) as missing:
                method(ACCOUNT, file_id)
            assert missing.value.code == "not_found"
            assert missing.value.details == {"file_id": file_id}
    assert [f["id"] for f in documents.list_files(ACCOUNT)["items"]] == [mine]
    assert documents.locate_file(None, theirs)["id"] == theirs  # an operator's look


def test_a_file_that_failed_to_be_produced_is_not_served(documents, documents_db, files):
    failed = stored(documents_db, files, b"half", status="failed")
    with pytest.raises(NotFound):
        documents.locate_file(ACCOUNT, failed)
    assert documents.list_files(ACCOUNT)["items"] == []


def test_bytes_written_lately_survive_the_sweep_until_their_report_lists_them(documents, documents_db, files):
    """A report storing bytes an expiring file also has must not lose them before its own row
    is committed."""
    expired = stored(documents_db, files, b"same bytes", expires_in=timedelta(seconds=-1))
    again = files.put(b"same bytes")  # a new report wrote them again; its row is not there yet

    assert documents.remove_expired_files() == 1

    assert not present(documents_db, expired)
    assert files.get(again.path, again.sha256) == b"same bytes"


def test_bytes_no_file_holds_are_removed_once_old(documents, documents_db, files):
    orphan = files.put(b"a report that died before listing its file")
    old = time.time() - 86400
    os.utime(files.resolve(orphan.path), (old, old))
    fresh = files.put(b"a report still being listed")

    documents.remove_expired_files()

    assert not files.resolve(orphan.path).exists()
    assert files.resolve(fresh.path).exists()
