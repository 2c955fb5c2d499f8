"""Documents' tables: one row per produced document; the bytes live in the file store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.messaging import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Document(Base):
    """A produced file, as the Files centre lists it: an issued document (``reference`` its
    id; kept for good) or a report (``reference`` the job's id; removed at ``expires_at``)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("kind", "reference"),
                      Index("ix_documents_account_created", "account_id", "created_at", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))  # ready | failed
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    path: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    period_from: Mapped[str | None] = mapped_column(String(10))
    period_to: Mapped[str | None] = mapped_column(String(10))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class ReportJob(Base):
    """A report asked for: ``queued`` → ``running`` (``progress`` 0–100) → ``ready`` (its file
    is ``document_id``) or ``failed`` (``error``).  A running job holds a lease it renews as it
    goes; one whose lease ran out (its process died) is taken up again, up to a limit."""

    __tablename__ = "report_jobs"
    __table_args__ = (UniqueConstraint("account_id", "request_key"),
                      Index("ix_report_jobs_account_created", "account_id", "created_at", "id"),
                      Index("ix_report_jobs_status_lease", "status", "lease_until"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    request_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(10))
    parameters_json: Mapped[str] = mapped_column(Text)  # from, to, shipment_ids, order_id, layout
    language: Mapped[str] = mapped_column(String(5))
    email: Mapped[str | None] = mapped_column(String(254))  # where the ready report is mailed
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Mail(Base):
    """One e-mail, rendered when requested and sent by the mail outbox (``status``: ``queued``
    until the relay accepts it, then ``sent``; ``failed`` after the last retry)."""

    __tablename__ = "mails"
    __table_args__ = (Index("ix_mails_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the requester's mail_id
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    template: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean)  # bodies are blanked once sent
    # stored documents to attach, JSON [{kind, reference}]; and whether to report the outcome
    attachments_json: Mapped[str | None] = mapped_column(Text)
    reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
