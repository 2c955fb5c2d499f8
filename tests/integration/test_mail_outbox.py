"""The mail outbox of the documents service against a real SMTP server on loopback (the mail
sink process) and the real broker and PostgreSQL: a requested mail arrives rendered in the
reader's language, once however often it is requested, is retried while the relay is away,
and a permanent refusal is recorded at once."""

import uuid
from pathlib import Path
from typing import Any

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher

from services.common import testing
from services.common.contracts import MailRequested
from services.common.errors import NotFound
from services.documents.service import DocumentsService

MAIL_QUEUE = "evt-billing-mail_requested--documents.on_mail_requested"

SUBJECTS = {
    "en": "Confirm your e-mail address for Ada <Cloud> AB",
    "sv": "Bekräfta din e-postadress för Ada <Cloud> AB",
    "ru": "Подтвердите адрес электронной почты для Ada <Cloud> AB",
}


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    mail_sink = testing.MailSink(tmp_path / "mail")
    for key, value in mail_sink.env.items():
        monkeypatch.setenv(key, value)
    yield mail_sink
    mail_sink.stop()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_RETRY_BACKOFF", "0.2")
    monkeypatch.setenv("MAIL_INTERVAL", "0.2")


def verification(to: str, language: str = "en", mail_id: str | None = None) -> MailRequested:
    token = uuid.uuid4().hex
    return MailRequested(
        mail_id=mail_id or f"verify:{uuid.uuid4()}", to=to, language=language,
        template="verify_email",
        context={"company_name": "Ada <Cloud> AB", "valid_hours": "24",
                 "link": f"http://console.example/verify?token={token}"},
    )


def request(config: dict[str, Any], *mails: MailRequested) -> None:
    dispatch = event_dispatcher(config)
    pool = eventlet.GreenPool(max(len(mails), 1))
    for mail in mails:
        pool.spawn(dispatch, mail.source, mail.type, mail.wire())
    pool.waitall()


def outcome(rpc: Any, mail_id: str) -> dict[str, Any]:
    """What became of the mail; before the request is taken, nothing yet."""
    try:
        return rpc.documents.get_mail(mail_id)
    except NotFound:
        return {"status": None, "attempts": 0}


@pytest.mark.parametrize("language", ["en", "sv", "ru"])
def test_a_requested_mail_arrives_rendered_in_the_readers_language(
    run_services, config, rpc, sink, language
):
    run_services(DocumentsService)
    mail = verification(f"ada-{language}@example.com", language)

    request(config, mail)

    (arrived,) = sink.wait_for_mail(mail.to)
    assert arrived["Subject"] == SUBJECTS[language]
    assert arrived["Content-Language"] == language
    assert arrived["From"] == "Nimbus Cloud <no-reply@nimbus.example>"
    assert arrived["Date"] is not None and arrived["Date"].datetime.tzinfo is not None
    link = mail.context["link"]
    assert link in testing.text_of(arrived)
    assert "Ada <Cloud> AB" in testing.text_of(arrived)  # plain text is not HTML-escaped
    html = testing.html_of(arrived)
    assert f'href="{link}"' in html
    assert "Ada &lt;Cloud&gt; AB" in html and "<Cloud>" not in html
    shown = outcome(rpc, mail.mail_id)
    assert (shown["status"], shown["attempts"], shown["message_id"]) == (
        "sent", 1, arrived["Message-ID"])


def test_a_mail_requested_twice_at_once_is_sent_once_and_nothing_is_dead_lettered(
    run_services, config, rpc, sink, amqp_uri
):
    run_services(DocumentsService)
    mail = verification("twice@example.com")

    request(config, mail, mail, MailRequested(**{**mail.model_dump(), "event_id": str(uuid.uuid4())}))

    sink.wait_for_mail(mail.to)
    vhost = amqp_uri.rsplit("/", 1)[1]
    testing.wait_for(lambda: testing.queue_stats(vhost, MAIL_QUEUE).get("messages", 1) == 0, 20)
    eventlet.sleep(1)
    assert len(sink.to(mail.to)) == 1
    assert outcome(rpc, mail.mail_id)["attempts"] == 1
    for suffix in (".dead", ".retry"):
        assert testing.queue_stats(vhost, MAIL_QUEUE + suffix).get("messages") == 0


def test_a_mail_the_relay_cannot_take_is_retried_until_it_can(
    run_services, config, rpc, tmp_path, monkeypatch, quick_retries
):
    port = testing.free_port()  # nothing listens here yet
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("MAIL_RETRY_LIMIT", "50")
    run_services(DocumentsService)
    mail = verification("later@example.com")

    request(config, mail)

    waiting = testing.wait_for(lambda: (o := outcome(rpc, mail.mail_id))["attempts"] >= 2 and o,
                               20, 0.1, "the mail was not retried")
    assert waiting["status"] == "queued"
    assert "ConnectionRefusedError" in waiting["last_error"]
    sink = testing.MailSink(tmp_path / "mail", port)  # the relay comes back on that port
    try:
        sink.wait_for_mail(mail.to, timeout=30)
        shown = testing.wait_for(lambda: (o := outcome(rpc, mail.mail_id))["status"] == "sent" and o,
                                 10, 0.1, "the mail was never recorded sent")
        assert shown["last_error"] is None
    finally:
        sink.stop()


def test_a_mail_is_failed_after_its_last_retry(run_services, config, rpc, monkeypatch, quick_retries):
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(testing.free_port()))
    monkeypatch.setenv("MAIL_RETRY_LIMIT", "2")
    run_services(DocumentsService)
    mail = verification("never@example.com")

    request(config, mail)

    failed = testing.wait_for(lambda: (o := outcome(rpc, mail.mail_id))["status"] == "failed" and o,
                              20, 0.1, "the mail never failed")
    assert failed["attempts"] == 3  # the first try and two retries
    eventlet.sleep(1)
    assert outcome(rpc, mail.mail_id)["attempts"] == 3


def refusing_relay(code: str) -> tuple[int, Any]:
    """A real SMTP conversation on loopback whose server refuses every recipient with ``code``."""
    server = eventlet.listen(("127.0.0.1", 0))

    def converse(sock: Any) -> None:
        stream = sock.makefile("rwb")
        stream.write(b"220 refusing relay\r\n")
        stream.flush()
        for line in stream:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                stream.write(b"250 refusing relay\r\n")
            elif verb == b"RCPT":
                stream.write(code.encode() + b" no such mailbox\r\n")
            elif verb == b"QUIT":
                stream.write(b"221 bye\r\n")
                stream.flush()
                break
            else:
                stream.write(b"250 ok\r\n")
            stream.flush()
        sock.close()

    def serve() -> None:
        while True:
            sock, _ = server.accept()
            eventlet.spawn(converse, sock)

    return server.getsockname()[1], eventlet.spawn(serve)


def test_a_mail_refused_for_good_is_failed_at_once(run_services, config, rpc, monkeypatch):
    port, relay = refusing_relay("550")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    try:
        run_services(DocumentsService)
        mail = verification("nobody@example.com")

        request(config, mail)

        failed = testing.wait_for(lambda: (o := outcome(rpc, mail.mail_id))["status"] == "failed" and o,
                                  20, 0.1, "the refusal was never recorded")
        assert failed["attempts"] == 1
        assert "550" in failed["last_error"]
    finally:
        relay.kill()


def test_a_mail_deferred_by_the_relay_is_retried(run_services, config, rpc, monkeypatch, quick_retries):
    port, relay = refusing_relay("451")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    try:
        run_services(DocumentsService)
        mail = verification("busy@example.com")

        request(config, mail)

        retried = testing.wait_for(lambda: (o := outcome(rpc, mail.mail_id))["attempts"] >= 2 and o,
                                   20, 0.1, "the deferral was not retried")
        assert retried["status"] == "queued"
    finally:
        relay.kill()
