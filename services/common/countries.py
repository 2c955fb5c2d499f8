"""ISO 3166-1 alpha-2 country codes (the officially assigned ones), the EU member states and
the e-invoice participant id an organisation number gives (Sweden ICD 0007, 10 digits; Norway
0192, 9; Denmark 0184, 8; Finland 0216, 8; elsewhere 0088 with a 13-digit GLN)."""

from __future__ import annotations

import re

COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())


def check_country(code: str) -> str:
    if code not in COUNTRIES:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())


def reverse_charged(seller_country: str, buyer_country: str | None, buyer_vat_id: str | None) -> bool:
    """A supply to a business in another EU member state (it gave its VAT number): the buyer
    accounts for the VAT (reverse charge, EN 16931 category AE, 0 %)."""
    return (bool(buyer_vat_id) and buyer_country in EU_COUNTRIES and seller_country in EU_COUNTRIES
            and buyer_country != seller_country)


# country → (ICD scheme, digits the number must have); other countries use a GLN
PARTICIPANT_SCHEMES = {"SE": ("0007", 10), "NO": ("0192", 9), "DK": ("0184", 8), "FI": ("0216", 8)}
GLN = ("0088", 13)


def participant_id(country: str | None, organisation_number: str | None) -> str | None:
    """The e-invoice participant id (``scheme:number``) of an organisation, or None."""
    if not country or not organisation_number:
        return None
    digits = re.sub(r"[\s\-.]", "", organisation_number)
    if not digits.isdigit():
        return None
    scheme, length = PARTICIPANT_SCHEMES.get(country, GLN)
    if len(digits) != length:
        return None
    return f"{scheme}:{digits}"
