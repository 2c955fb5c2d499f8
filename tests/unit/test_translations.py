"""Every customer document and mail speaks English, Swedish and Russian: each message the
templates and the documents service say has a translation in each catalogue."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.documents import i18n

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("services/documents/**.py", "python"), ("services/documents/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "N_": None, "gettext": (2,), "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def said() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
            str(ROOT), METHODS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["sv", "ru"])
def test_every_message_of_documents_and_mails_is_translated(language):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {message.id if isinstance(message.id, str) else message.id[0]
                  for message in catalog if message.id and message.string
                  and all(message.string if isinstance(message.string, tuple) else [message.string])}
    missing = sorted(said() - translated)
    assert not missing, f"untranslated in {language} (run make messages, then translate): {missing}"


def test_an_unknown_language_falls_back_to_english():
    assert i18n.gettext("xx", "Invoice") == "Invoice"
    assert i18n.gettext("sv", "Invoice") == "Faktura"
    assert i18n.gettext("ru", "Invoice") == "Счёт"


@pytest.mark.parametrize(("language", "money", "day"), [
    ("en", "€1,234.50", "1 Dec 2026"),
    ("sv", "1 234,50 €", "1 dec. 2026"),
    ("ru", "1 234,50 €", "1 дек. 2026 г."),
])
def test_money_and_dates_are_written_the_way_the_language_writes_them(language, money, day):
    formats = i18n.Formats(language)
    assert plain(formats.money("1234.5", "EUR")) == money
    assert plain(formats.day("2026-12-01")) == day


def plain(text: str) -> str:
    """CLDR's no-break spaces as plain ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")
