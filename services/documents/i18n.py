"""Languages of customer documents and mails: gettext catalogues and locale formatting.

English is the source language: templates say ``{{ _("Invoice") }}`` and the Swedish and
Russian catalogues (``locale/<language>/LC_MESSAGES/messages.po``) translate it.  The
catalogues are extracted and updated with Babel (``make messages``) and compiled by Babel when
a process loads them, so a ``.po`` edited by a translator is what the next start prints — there
is no compiled file to forget.  ``tests/unit/test_translations.py`` fails when a message has no
translation.

Dates, numbers and money are formatted per locale by Babel: ``1 234,50 kr`` and ``1 december
2026`` in Swedish, ``1,234.50 SEK`` and ``1 December 2026`` in English.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from jinja2 import BaseLoader, Environment, StrictUndefined

LANGUAGES = ("en", "sv", "ru")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# the locale whose conventions each language's documents follow
LOCALES = {"en": "en_GB", "sv": "sv_SE", "ru": "ru_RU"}


def language_of(language: str | None) -> str:
    """A supported language: the one asked for, else English."""
    return language if language in LANGUAGES else "en"


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalogue, compiled from its ``.po`` by Babel (English: the source)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def gettext(language: str, message: str) -> str:
    return translations(language_of(language)).ugettext(message)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class Formats:
    """Babel's formatting in one language, as template filters."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)
        self.locale = Locale.parse(LOCALES[self.language])

    def money(self, amount: Any, currency: str) -> str:
        """``125,00 €`` — the amount in the currency, as the locale writes it."""
        return format_currency(_decimal(amount), currency, locale=self.locale)

    def amount(self, amount: Any) -> str:
        """``1 234,50`` — an amount without its currency (table columns under one)."""
        return format_decimal(_decimal(amount), format="#,##0.00", locale=self.locale)

    def number(self, value: Any) -> str:
        return format_decimal(_decimal(value), locale=self.locale)

    def day(self, value: Any, style: str = "medium") -> str:
        return format_date(_date(value), format=style, locale=self.locale)

    def cell(self, value: Any, kind: str = "text") -> str:
        """A report's cell: ``{"message": ...}`` is ours to translate; money, dates and
        numbers are formatted; anything else is the customer's text, printed as it is."""
        if value is None or value == "":
            return ""
        if isinstance(value, dict) and "message" in value:
            return str(translations(self.language).ugettext(value["message"]))
        if kind == "money":
            return self.money(value["amount"], value["currency"])
        if kind == "date":
            return self.day(value)
        if kind == "number":
            return self.number(value)
        return str(value)

    def filters(self) -> dict[str, Any]:
        return {"money": self.money, "amount": self.amount, "number": self.number,
                "day": self.day, "cell": self.cell}


def environment(loader: BaseLoader, language: str, autoescape: bool) -> Environment:
    """A jinja2 environment speaking one language: ``_()`` / ``ngettext`` from its catalogue
    and the locale's ``money``, ``amount``, ``number`` and ``day`` filters; an undefined name
    is an error, never an empty string on a customer's document."""
    env = Environment(loader=loader, autoescape=autoescape, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language_of(language)), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(Formats(language).filters())
    env.globals["language"] = language_of(language)
    return env
