"""The mail outbox: e-mails rendered from packaged templates and sent by SMTP, with retries
and a recorded outcome.

* A mail is rendered when it is requested and stored with its ``mail_id`` (the requester's key),
  so a redelivered request sends nothing more and what was sent can be read back later.
* Sending happens after that commit: at once, and again by a periodic sweep for mails whose
  earlier attempt failed.  A transient failure (the relay unreachable, a 4xx answer) is retried
  after a doubling pause, ``MAIL_RETRY_LIMIT`` times; a permanent one (5xx) fails at once.
* Each mail is one template, ``templates/mail/<name>.html``, with three blocks: ``subject`` and
  ``text`` (rendered without HTML escaping) and ``html`` (escaped).  Its sentences are English
  gettext messages translated by the catalogues of ``i18n``, and amounts and dates arrive raw
  and are written by the reader's locale (``money``, ``day``); requesters send facts (a
  document's ``kind``, a status), never text of their own in some language.  Undefined values
  are errors.  The subject is folded onto one line and the recipient has no whitespace, so
  customer text cannot add headers.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader
from markupsafe import Markup

from services.common.config import Settings
from services.documents import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates" / "mail"

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


class MailTemplates:
    """The mail templates in each language: an escaping environment for the ``html`` block and
    a plain one for ``subject`` and ``text``; a language without a catalogue reads English."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        loader = FileSystemLoader(directory)
        self._environments = {language: (_environment(loader, language, autoescape=True),
                                         _environment(loader, language, autoescape=False))
                              for language in i18n.LANGUAGES}

    def render(self, template: str, language: str, context: dict[str, Any]) -> RenderedMail:
        escaped, plain = self._environments[i18n.language_of(language)]
        name = f"{template}.html"
        return RenderedMail(
            subject=" ".join(self._block(plain, name, "subject", context).split()),
            text=self._block(plain, name, "text", context).strip() + "\n",
            html=self._block(escaped, name, "html", context).strip(),
        )

    @staticmethod
    def _block(env: Environment, name: str, block: str, context: dict[str, Any]) -> str:
        template = env.get_template(name)
        return "".join(template.blocks[block](template.new_context(context)))


def _environment(loader: BaseLoader, language: str, autoescape: bool) -> Environment:
    env = i18n.environment(loader, language, autoescape)
    # both environments compile the whole template, the html block's filter included
    env.filters["strong"] = strong
    return env


def strong(value: Any) -> Markup:
    """``<strong>value</strong>`` for an html block: a value set in bold inside a translated
    sentence, itself escaped."""
    return Markup("<strong>%s</strong>") % value


class MailRefused(Exception):
    """The relay refused the mail for good (a 5xx answer)."""


@dataclass(frozen=True)
class File:
    filename: str
    content_type: str
    content: bytes


def send(settings: Settings, recipient: str, language: str, mail: RenderedMail,
         attachments: tuple[File, ...] = ()) -> str:
    """Hand one mail (with its attachments) to the relay; returns its Message-ID.  Raises
    ``MailRefused`` for a permanent refusal and ``OSError`` / ``smtplib.SMTPException`` for
    anything worth retrying."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)  # RFC 5322 requires it; relays may not add one
    message_id = make_msgid(domain=settings.mail_domain)
    message["Message-ID"] = message_id
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    for attached in attachments:
        maintype, subtype = attached.content_type.split("/", 1)
        message.add_attachment(attached.content, maintype=maintype, subtype=subtype,
                               filename=attached.filename)
    message["Content-Language"] = language  # after the parts: making them moves Content-* down
    try:
        # local_hostname: EHLO names our mail domain instead of a reverse DNS lookup per mail
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, local_hostname=settings.mail_domain,
                          timeout=settings.smtp_timeout) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _ in refused.recipients.values()]
        if all(code >= 500 for code in codes):
            raise MailRefused(str(refused.recipients)) from refused
        raise
    except smtplib.SMTPResponseException as answer:
        if answer.smtp_code >= 500:
            raise MailRefused(f"{answer.smtp_code} {answer.smtp_error!r}") from answer
        raise
    return message_id
