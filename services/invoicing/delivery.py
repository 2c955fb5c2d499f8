"""Delivery of issued documents by channel (seed 001), and the e-invoice access point.

* ``email_pdf``: once the PDF is produced, it is mailed to the mailing e-mail, attached; the
  delivery is ``emailed`` when the relay accepts it (the documents service reports it).
* ``letter``: once the PDF is produced (the address sits in a C5/DL envelope window), it waits
  ``queued_for_print`` in the letter queue until an operator marks it ``posted``.
* ``einvoice``: the UBL document is validated (XSD, and the EN 16931 and Peppol BIS rules when
  ``EINVOICE_RULES_DIR`` is set) and handed to the access point: ``transmitted`` with its
  message id.  A document the rules refuse is ``held`` with their rule ids and is not sent.
* A failed attempt is retried after a doubling pause, ``DELIVERY_RETRY_LIMIT`` times; then the
  delivery is ``failed`` for operators, who may retry it.  Every attempt is recorded.
* Reaching the customer (emailed, posted, transmitted) makes the application ``delivered``.

The access point is an adapter: the network (Peppol AS4) is not reachable from here, so the
built-in simulator stands in for it, recording each transmission and answering as an operator
set it — accept, fail (a transient outage: retried) or reject (a permanent refusal).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.common.contracts import utcnow, wire_time
from services.invoicing.models import Delivery, SimulatorSetting, Transmission

PENDING = "pending"
EMAILED = "emailed"
QUEUED_FOR_PRINT = "queued_for_print"
POSTED = "posted"
TRANSMITTED = "transmitted"
HELD = "held"
FAILED = "failed"
DELIVERED = (EMAILED, POSTED, TRANSMITTED)  # it reached the customer
RETRYABLE = (FAILED, HELD)
SIMULATOR_OUTCOMES = ("accept", "fail", "reject")


def record(delivery: Delivery, outcome: str, detail: str | None = None,
           at: datetime | None = None) -> None:
    """Add an attempt's outcome to the delivery's history."""
    history = json.loads(delivery.attempts_json or "[]")
    history.append({"at": wire_time(at or utcnow()), "outcome": outcome, "detail": detail})
    delivery.attempts_json = json.dumps(history)
    delivery.updated_at = utcnow()


def mail_id(delivery: Delivery) -> str:
    """The mail's key for this attempt: a retry is a new mail, a redelivery is not."""
    return f"delivery:{delivery.id}:{delivery.attempts}"


def delivery_of_mail(mail_key: str) -> str | None:
    parts = mail_key.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == "delivery" else None


class TransmissionFailed(Exception):
    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class SimulatedAccessPoint:
    """Stands in for the Peppol access point: records what it is sent (``Transmission``) and
    answers as ``access_point_outcome`` says (default ``accept``)."""

    def transmit(self, session: Session, delivery_id: str, receiver: str, document: bytes) -> str:
        setting = session.get(SimulatorSetting, "access_point_outcome")
        outcome = setting.value if setting else "accept"
        if outcome == "fail":
            raise TransmissionFailed("the access point is unavailable (simulated)", permanent=False)
        if outcome == "reject":
            raise TransmissionFailed(f"the access point refused the document for {receiver} "
                                     "(simulated)", permanent=True)
        message_id = f"ap-{uuid.uuid4()}"
        session.add(Transmission(message_id=message_id, delivery_id=delivery_id, receiver=receiver,
                                 document_xml=document.decode(), received_at=utcnow()))
        return message_id


def set_simulator(session: Session, outcome: str) -> None:
    setting = session.get(SimulatorSetting, "access_point_outcome")
    if setting is None:
        session.add(SimulatorSetting(name="access_point_outcome", value=outcome))
    else:
        setting.value = outcome


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    """A delivery as operators see it (``/admin/deliveries``, ``/admin/letters``)."""
    return {
        "id": delivery.id, "invoice_id": delivery.invoice_id, "account_id": delivery.account_id,
        "channel": delivery.channel, "status": delivery.status, "attempts": delivery.attempts,
        "message_id": delivery.message_id,
        "rule_ids": json.loads(delivery.rule_ids_json) if delivery.rule_ids_json else [],
        "last_error": delivery.last_error, "recipient": delivery.recipient,
        "address": delivery.recipient if delivery.channel == "letter" else None,
        "history": json.loads(delivery.attempts_json or "[]"),
        "next_attempt_at": wire_time(delivery.next_attempt_at) if delivery.next_attempt_at else None,
        "created_at": wire_time(delivery.created_at), "updated_at": wire_time(delivery.updated_at),
    }
