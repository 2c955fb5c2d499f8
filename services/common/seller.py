"""The seller, as every document it issues names it."""

from __future__ import annotations

from services.common.config import Settings
from services.common.contracts import PartySnapshot
from services.common.countries import participant_id


def seller_party(settings: Settings) -> PartySnapshot:
    """The seller as configured (``SELLER_*``): name, address, VAT and registration numbers,
    bank details, and its e-invoice address."""
    return PartySnapshot(
        name=settings.seller_name, address=settings.seller_address, vat_id=settings.seller_vat_id,
        email=settings.seller_email, street=settings.seller_street,
        postal_code=settings.seller_postal_code, city=settings.seller_city,
        country=settings.seller_country, organisation_number=settings.seller_organisation_number,
        endpoint_id=participant_id(settings.seller_country, settings.seller_organisation_number),
        iban=settings.seller_iban.replace(" ", ""), bic=settings.seller_bic,
        bank_name=settings.seller_bank_name)
