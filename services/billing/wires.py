"""Matching money received by wire to what it pays.

A credit matches an account when its structured creditor reference (``Strd/CdtrRefInf/Ref``)
or its unstructured remittance text holds the account's payment reference (an RF creditor
reference; spaces inside it, as people write it, are allowed, and the check digits must hold).
A payment invoice is found first, by its number or its own RF wire reference quoted the same
ways.  Anything else is left unmatched for an operator.
"""

from __future__ import annotations

import re

from services.billing.profile import rf_valid

RF_CANDIDATE = re.compile(r"RF\d{2}(?:[ ]?[0-9A-Z]){1,21}")
WORD = re.compile(r"[0-9A-Z][0-9A-Z/_-]{2,39}")
MAX_WORDS = 200


def references_in(creditor_reference: str | None, remittance: str) -> list[str]:
    """The RF references a credit may quote, the structured one first: every prefix of each
    RF-looking run whose check digits hold (text may run on after a reference, and a prefix
    can pass the check by chance, so the caller keeps the one that names a real account)."""
    found: list[str] = []
    for text in (creditor_reference or "", remittance):
        for candidate in RF_CANDIDATE.findall(text.upper()):
            compact = candidate.replace(" ", "")
            for end in range(len(compact), 4, -1):
                if rf_valid(compact[:end]) and compact[:end] not in found:
                    found.append(compact[:end])
    return found


def words_in(creditor_reference: str | None, remittance: str) -> list[str]:
    """The words a credit's references and remittance text hold that could be a document
    number (``PI-2026-000042``), in upper case, trailing punctuation dropped, at most 200."""
    found: list[str] = []
    for text in (creditor_reference or "", remittance):
        for word in WORD.findall(text.upper()):
            word = word.rstrip("/_-")
            if len(word) >= 3 and word not in found:
                found.append(word)
    return found[:MAX_WORDS]
