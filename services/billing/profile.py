"""The customer's profile rules in plain Python: what makes billing and mailing information
complete, the e-invoice participant id an organisation number gives, and the account's
structured payment reference (an ISO 11649 RF creditor reference).

* Billing information (what invoices are made out to) is complete with a legal name, a tax id
  and a full address; mailing information (where documents go) with a recipient, a phone, a
  full address and an e-mail address.  The invoicing rules rely on both.
* The participant id of the e-invoice network is derived from country and organisation number:
  Sweden ICD 0007 (10 digits), Norway 0192 (9), Denmark 0184 (8), Finland 0216 (the business
  id's digits), elsewhere 0088 with a GLN (13 digits).  A number of the wrong shape has none.
"""

from __future__ import annotations

import re

from services.common.contracts import one_line  # noqa: F401 - re-exported
from services.common.countries import COUNTRIES, participant_id  # noqa: F401 - re-exported
from services.common.references import rf_reference, rf_valid  # noqa: F401 - re-exported

PARTICIPANT_ID = re.compile(r"^\d{4}:\d{1,40}$")

CHANNELS = ("email_pdf", "letter", "einvoice")


def address_complete(address: dict[str, str] | None) -> bool:
    return bool(address) and all(
        (address or {}).get(part, "").strip() for part in ("street", "postal_code", "city", "country"))


def billing_info_complete(info: dict[str, object] | None) -> bool:
    if not info:
        return False
    address = info.get("address")
    return (bool(str(info.get("legal_name") or "").strip()) and bool(str(info.get("tax_id") or "").strip())
            and isinstance(address, dict) and address_complete(address))


def mailing_info_complete(info: dict[str, object] | None) -> bool:
    if not info:
        return False
    address = info.get("address")
    return (all(str(info.get(part) or "").strip() for part in ("recipient", "phone", "email"))
            and isinstance(address, dict) and address_complete(address))


def missing_billing_info(info: dict[str, object] | None) -> list[str]:
    """The parts a person still has to fill in (for the console's hints)."""
    return _missing(info, ("legal_name", "tax_id"))


def missing_mailing_info(info: dict[str, object] | None) -> list[str]:
    return _missing(info, ("recipient", "phone", "email"))


def _missing(info: dict[str, object] | None, fields: tuple[str, ...]) -> list[str]:
    info = info or {}
    missing = [f for f in fields if not str(info.get(f) or "").strip()]
    address = info.get("address")
    if not (isinstance(address, dict) and address_complete(address)):
        missing.append("address")
    return missing
