"""Reading ISO 20022 camt.053 bank-to-customer statements (versions 001.02 and 001.08).

The file is parsed with lxml with entities, DTDs and network access off (a statement is
outside input), then read by namespace-qualified paths of the message's own schema: the
statement's account (IBAN), and each booked credit entry — every transaction of a batch entry
on its own — with its amount, dates, debtor, the bank's reference that identifies it
(``AcctSvcrRef``, else the entry reference) and its remittance information (unstructured
``Ustrd`` and the structured creditor reference ``Strd/CdtrRefInf/Ref``).  Debits and
unbooked entries are not money received and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "001.08",
}
MAX_BYTES = 20 * 1024 * 1024


class StatementUnreadable(ValueError):
    """Not a camt.053 statement this reader knows (the reason says why)."""


@dataclass(frozen=True)
class Credit:
    """One transaction of money received."""

    dedupe_key: str  # the bank's reference: the same credit in a second import is a duplicate
    amount: Decimal
    currency: str
    booked_on: date | None
    value_date: date | None
    debtor_name: str | None
    debtor_iban: str | None
    remittance: str  # the unstructured lines, joined
    creditor_reference: str | None  # Strd/CdtrRefInf/Ref


@dataclass(frozen=True)
class Statement:
    version: str
    message_id: str
    statement_id: str
    account_iban: str
    credits: list[Credit]


def parse(content: bytes) -> Statement:
    if len(content) > MAX_BYTES:
        raise StatementUnreadable("the file is larger than a statement should be")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise StatementUnreadable(f"not well-formed XML: {error}") from None
    namespace = etree.QName(root).namespace
    if namespace not in NAMESPACES or etree.QName(root).localname != "Document":
        raise StatementUnreadable("not a camt.053.001.02 or .001.08 Document")
    ns = {"c": namespace}

    def text(node: etree._Element, path: str) -> str | None:
        found = node.find(path, ns)
        return found.text.strip() if found is not None and found.text else None

    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if len(statements) != 1:
        raise StatementUnreadable("a file must hold exactly one statement (Stmt)")
    stmt = statements[0]
    iban = text(stmt, "c:Acct/c:Id/c:IBAN")
    if not iban:
        raise StatementUnreadable("the statement names no account IBAN (Acct/Id/IBAN)")
    credits: list[Credit] = []
    for position, entry in enumerate(stmt.findall("c:Ntry", ns), start=1):
        if text(entry, "c:CdtDbtInd") != "CRDT":
            continue
        status = text(entry, "c:Sts") or text(entry, "c:Sts/c:Cd")  # .02 text, .08 code
        if status != "BOOK":
            continue
        entry_ref = text(entry, "c:AcctSvcrRef") or text(entry, "c:NtryRef")
        if not entry_ref:
            raise StatementUnreadable(f"entry {position} has neither AcctSvcrRef nor NtryRef")
        booked = _day(text(entry, "c:BookgDt/c:Dt"))
        valued = _day(text(entry, "c:ValDt/c:Dt"))
        details = entry.findall("c:NtryDtls/c:TxDtls", ns)
        for index, tx in enumerate(details or [None]):
            amount_node = entry.find("c:Amt", ns)
            if tx is not None and len(details) > 1:
                amount_node = tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
                if amount_node is None:
                    amount_node = tx.find("c:Amt", ns)
            if amount_node is None or not amount_node.text:
                raise StatementUnreadable(f"entry {position} has no amount")
            key = (text(tx, "c:Refs/c:AcctSvcrRef") if tx is not None else None) or (
                entry_ref if len(details) <= 1 else f"{entry_ref}/{index + 1}")
            credits.append(Credit(
                dedupe_key=key[:140],
                amount=_amount(amount_node.text, position),
                currency=(amount_node.get("Ccy") or "").upper(),
                booked_on=booked, value_date=valued,
                debtor_name=(text(tx, "c:RltdPties/c:Dbtr/c:Nm")  # .02
                             or text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm")) if tx is not None else None,
                debtor_iban=text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:IBAN") if tx is not None else None,
                remittance=" ".join(n.text.strip() for n in (tx.findall("c:RmtInf/c:Ustrd", ns)
                                                             if tx is not None else []) if n.text),
                creditor_reference=text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
                if tx is not None else None,
            ))
    return Statement(version=NAMESPACES[namespace],
                     message_id=text(root, "c:BkToCstmrStmt/c:GrpHdr/c:MsgId") or "",
                     statement_id=text(stmt, "c:Id") or "", account_iban=iban.replace(" ", ""),
                     credits=credits)


def _amount(raw: str, position: int) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise StatementUnreadable(f"entry {position} has an amount that is not a number") from None
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise StatementUnreadable(f"entry {position} has an amount that is not a positive "
                                  "amount of cents")
    return value


def _day(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementUnreadable(f"{raw!r} is not a date") from None
