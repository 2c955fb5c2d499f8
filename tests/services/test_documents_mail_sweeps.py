"""Mail sent once when sweeps overlap, on the embedded SQLite the local run uses: the mail
requested and sent at once, and the outbox timer's sweep that finds it due at that moment,
never both send it (found by hand on `make run`: an order's "placed" mail arrived twice)."""

from datetime import timedelta

import pytest
from service_fakes import Service

from services.common.contracts import utcnow
from services.documents import mail
from services.documents.models import Mail
from services.documents.service import DocumentsService


@pytest.fixture
def documents_db(service_database):
    return service_database("documents")


@pytest.fixture
def documents(documents_db, outbox, settings) -> Service:
    return Service(DocumentsService, documents_db, outbox=outbox, settings=settings)


def queued(database, mail_id: str, due_in: float = 0) -> None:
    with database.session() as session:
        session.add(Mail(id=mail_id, recipient="a@example.com", language="en",
                         template="order_placed", subject="Your order is placed",
                         text_body="text", html_body="<p>html</p>", sensitive=False,
                         status=mail.QUEUED, attempts=0,
                         next_attempt_at=utcnow() + timedelta(seconds=due_in), created_at=utcnow()))
        session.commit()


def test_a_sweep_overlapping_a_send_in_progress_does_not_send_the_mail_again(
        documents, documents_db, monkeypatch):
    queued(documents_db, "order:1:placed")
    sent: list[str] = []

    def send(settings, recipient, language, content, attachments=()) -> str:
        sent.append(recipient)
        if len(sent) == 1:
            documents.send_due_mails()  # the timer's sweep, while this send is under way
        return f"<{len(sent)}@example>"

    monkeypatch.setattr(mail, "send", send)
    documents._send_due("order:1:placed")

    assert sent == ["a@example.com"]
    shown = documents.get_mail("order:1:placed")
    assert (shown["status"], shown["attempts"], shown["message_id"]) == ("sent", 1, "<1@example>")


def test_a_mail_left_claimed_by_a_dead_sender_is_tried_again_after_its_lease(
        documents, documents_db, monkeypatch):
    queued(documents_db, "order:2:placed")
    monkeypatch.setattr(mail, "send", lambda *args: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        documents._send_due("order:2:placed")  # the process dies while sending
    monkeypatch.setattr(mail, "send", lambda *args: "<again@example>")

    documents.send_due_mails()
    assert documents.get_mail("order:2:placed")["status"] == "queued"  # its lease runs
    with documents_db.session() as session:
        row = session.get(Mail, "order:2:placed")
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the lease is over
        session.commit()
    documents.send_due_mails()
    assert documents.get_mail("order:2:placed")["status"] == "sent"
