"""Contracts between services: pydantic models of RPC inputs/outputs and of events.

RPC arguments and results travel as JSON-mode dicts (``Decimal`` as strings); both sides
validate them with these models.  Every event carries ``event_id``, ``occurred_at``,
``version`` and a snapshot of what changed, so a consumer never needs to call back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from services.common.countries import check_country
from services.common.errors import InvalidRequest
from services.common.money import Money

# Decimal is serialised as a plain string in JSON ("12.50"), never as a float.
Amount = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str, when_used="json")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


C = TypeVar("C", bound=Contract)


def parse(model: type[C], data: Any) -> C:
    """Validate an RPC argument; a bad one is the caller's mistake (``InvalidRequest`` naming
    each field), never an internal error."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [{"loc": list(p["loc"]), "msg": p["msg"], "type": p["type"]}
                    for p in error.errors(include_url=False, include_input=False)]
        raise InvalidRequest(f"not a valid {model.__name__}", problems) from None


def utcnow() -> datetime:
    return datetime.now(UTC)


class MoneyOut(Contract):
    amount: Amount
    currency: Currency

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=money.amount, currency=money.currency)

    @classmethod
    def minor(cls, minor: int, currency: str) -> MoneyOut:
        return cls.of(Money.from_minor(minor, currency))

    def money(self) -> Money:
        return Money(self.amount, self.currency)


def money_wire(minor: int, currency: str) -> dict[str, str]:
    """``MoneyOut.minor(...).wire()`` without building a model (for hot read paths)."""
    return {"amount": str(Money.from_minor(minor, currency).amount), "currency": currency}


def wire_minor(money: Mapping[str, str] | None) -> int:
    """The minor units of money in its wire form (``money_wire``'s inverse); none is 0."""
    return Money(Decimal(money["amount"]), money["currency"]).minor if money else 0


BASIS_POINTS_PER_PERCENT = Decimal(100)
# A VAT rate on the wire: a percent string with two decimals, "25.00".
Percent = Annotated[str, Field(pattern=r"^\d{1,3}\.\d{2}$")]


def percent(basis_points: int) -> str:
    return str((Decimal(basis_points) / BASIS_POINTS_PER_PERCENT).quantize(Decimal("0.01")))


def wire_time(at: datetime) -> str:
    """A UTC time as pydantic writes it in JSON (``...Z``), for hand-built answers."""
    return at.isoformat().replace("+00:00", "Z")


# -- billing ----------------------------------------------------------------------------------


class RegisterAccount(Contract):
    email: str
    password: str
    company_name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    organisation_number: str | None = None
    billing_address: str | None = None
    language: Literal["en", "sv", "ru"] = "en"
    currency: Currency = "EUR"


class Registered(Contract):
    account_id: str
    user_id: str


class Revoked(Contract):
    """A revocation the gateway applies: ``token:<jti>`` or ``user:<id>`` (every token of
    that user issued before ``not_before``)."""

    subject: str
    not_before: datetime
    expires_at: datetime


class Revocations(Contract):
    items: list[Revoked]
    cursor: int


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(check_country)]
DeliveryChannel = Literal["email_pdf", "letter", "einvoice"]
DeliveryStatus = Literal["pending", "emailed", "queued_for_print", "posted", "transmitted", "held",
                         "failed"]


class Address(Contract):
    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: CountryCode


def one_line(address: Mapping[str, str]) -> str:
    """An address on one line, as a label prints it: street, postal code and city, country."""
    return f"{address['street']}, {address['postal_code']} {address['city']}, {address['country']}"


class Company(Contract):
    legal_name: str = Field(min_length=1, max_length=200)
    organisation_number: str | None = Field(None, max_length=40)
    vat_number: str | None = Field(None, pattern=r"^[A-Z]{2}[0-9A-Z+*.]{2,13}$")
    country: CountryCode
    address: Address | None = None


class BankAccount(Contract):
    iban: str = Field(pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
    bic: str | None = Field(None, pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class BillingInfo(Contract):
    """What invoices are made out to."""

    legal_name: str = Field(min_length=1, max_length=200)
    tax_id: str = Field(min_length=1, max_length=40)
    address: Address
    bank_account: BankAccount | None = None


class MailingInfo(Contract):
    """Where documents go."""

    recipient: str = Field(min_length=1, max_length=200)
    phone: str = Field(pattern=r"^\+?[0-9][0-9 ()\-]{4,24}$")
    address: Address
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountOut(Contract):
    id: str
    company_name: str
    email: str
    organisation_number: str | None
    billing_address: str | None
    currency: str
    cash_balance: MoneyOut
    created_at: datetime
    voucher_balance: MoneyOut | None = None
    credit_limit: MoneyOut | None = None
    in_arrears: bool = False
    arrears_amount: MoneyOut | None = None
    open_invoices: MoneyOut | None = Field(
        None, description="what remains to be paid on the account's open payment invoices")
    country: str | None = None
    vat_number: str | None = None
    billing_info_complete: bool = False
    mailing_info_complete: bool = False
    missing: list[str] = Field(default_factory=list, description="what the profile still lacks")
    delivery_channel: DeliveryChannel = "email_pdf"
    einvoice_capable: bool = False
    einvoice_participant_id: str | None = None
    notifications_enabled: bool = True
    language: Literal["en", "sv", "ru"] = "en"
    payment_reference: str | None = None


class PrincipalOut(Contract):
    user_id: str
    account_id: str | None
    email: str
    role: Literal["customer", "operator"]


class CreditBalance(Contract):
    account_id: str
    amount: Amount
    currency: Currency
    reference: str
    idempotency_key: str


class ChargeOrder(Contract):
    account_id: str
    order_id: str
    amount: Amount
    currency: Currency
    payment_method: Literal["balance", "voucher", "balance+voucher"] = "balance"


class RefundOrder(Contract):
    """Give back part of what an order was paid, each part to the wallet it came from.
    ``refund_id`` is the request key: a repeat answers the first refund."""

    refund_id: str = Field(min_length=1, max_length=100)
    account_id: str
    order_id: str
    cash: Amount
    voucher: Amount
    currency: Currency


class RefundLine(Contract):
    line_no: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1_000_000)


class RefundUnits(Contract):
    """An operator refunds implemented units of an order (a later cancellation, a
    correction): what they paid goes back to the wallets it came from."""

    lines: list[RefundLine] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)


class CreateVoucher(Contract):
    code: str | None = Field(None, pattern=r"^[A-Z0-9-]{4,40}$")
    amount: Amount
    currency: Currency
    expires_on: date
    uses: int = Field(1, ge=1, le=1_000_000)
    account_id: str | None = None
    created_by: str


class VoucherOut(Contract):
    code: str
    amount: MoneyOut
    expires_on: date
    uses: int
    used: int
    account_id: str | None
    created_at: datetime


class ErrorOut(Contract):
    """A business refusal as data (in events): the same code the API answers with."""

    code: str
    message: str
    details: Any = None


class LedgerEntryOut(Contract):
    """One movement of an account's money.  ``cash`` and ``voucher`` say what it moved in each
    wallet (into it positive); ``balance`` and ``voucher_balance`` are the wallets after it."""

    entry_id: str
    account_id: str
    kind: str
    amount: MoneyOut
    reference: str
    balance: MoneyOut
    created_at: datetime
    cash: MoneyOut | None = None
    voucher: MoneyOut | None = None
    voucher_balance: MoneyOut | None = None
    order_id: str | None = None


# -- orders -----------------------------------------------------------------------------------


ProductKind = Literal["service", "licence", "goods"]
VatCategory = Literal["S", "Z", "E", "AE", "O"]
Translations = dict[Literal["en", "sv", "ru"], Annotated[str, Field(min_length=1, max_length=2000)]]


class Certificate(Contract):
    """A certificate a good carries (printed on the inventory and certificates document)."""

    name: str = Field(min_length=1, max_length=200)
    number: str = Field(min_length=1, max_length=100)
    issued_by: str | None = Field(None, max_length=200)
    valid_until: date | None = None


class ProductIn(Contract):
    """A product as an operator writes it.  VAT: category ``S`` (standard) takes a rate above
    zero; ``Z``, ``E``, ``AE`` (reverse charge) and ``O`` (outside scope) take 0.  Goods may
    give ``units_per_box``, ``characteristics`` and ``certificates``; services and licences
    may not (they have no stock either)."""

    sku: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    names: Translations = Field(default_factory=dict, description="the name in sv / ru")
    description: str | None = Field(None, max_length=2000)
    descriptions: Translations = Field(default_factory=dict)
    kind: ProductKind
    price: MoneyOut
    vat_category: VatCategory = "S"
    vat_rate: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
    active: bool = True
    units_per_box: int | None = Field(None, ge=1, le=100_000)
    characteristics: dict[Annotated[str, Field(min_length=1, max_length=100)],
                          Annotated[str, Field(max_length=500)]] = Field(default_factory=dict,
                                                                         max_length=50)
    certificates: list[Certificate] = Field(default_factory=list, max_length=20)


class StockOut(Contract):
    on_hand: int
    available: int


class ProductOut(Contract):
    sku: str
    name: str
    price: MoneyOut
    vat_rate: Percent
    kind: ProductKind = "service"
    vat_category: VatCategory = "S"
    active: bool = True
    names: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    descriptions: dict[str, str] = Field(default_factory=dict)
    stock: StockOut | None = None
    units_per_box: int | None = None
    characteristics: dict[str, str] = Field(default_factory=dict)
    certificates: list[Certificate] = Field(default_factory=list)


class OrderLineIn(Contract):
    sku: str
    quantity: int = Field(gt=0, le=10_000)


class PlaceOrder(Contract):
    """Lines, or ``from_cart`` (the user's cart, emptied by the order): one of the two."""

    lines: list[OrderLineIn] = Field(default_factory=list, max_length=100)
    from_cart: bool = False
    po_number: str | None = Field(None, max_length=64)
    payment_method: Literal["balance", "voucher", "balance+voucher", "card", "wire_transfer"] = "balance"

    @model_validator(mode="after")
    def _lines_or_cart(self) -> PlaceOrder:
        if bool(self.lines) == self.from_cart:
            raise ValueError("give the lines, or from_cart, not both")
        return self


class OrderLineOut(Contract):
    id: str | None = None  # the line's number, as the goods routes address it
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    vat_rate: Percent
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    paid_cash: MoneyOut
    paid_voucher: MoneyOut | None = None
    implementation: str
    kind: str = "service"
    vat_category: VatCategory = "S"
    failed_quantity: int = 0
    returned_quantity: int = 0
    licence_key: str | None = None
    refunded_cash: MoneyOut | None = None
    refunded_voucher: MoneyOut | None = None
    approved_quantity: int | None = None
    rejection_reason: str | None = None


class OrderOut(Contract):
    id: str
    account_id: str
    status: str
    net: MoneyOut
    vat: MoneyOut
    total: MoneyOut
    paid_cash: MoneyOut
    paid_voucher: MoneyOut | None = None
    payment_method: str = "balance"
    card_payment_id: str | None = None
    payment_invoice_id: str | None = None
    confirmed_by: str | None = None
    cancel_status: str | None = None
    status_history: list[dict[str, str]] = Field(default_factory=list)
    delete_at: datetime | None = None
    merged_into: str | None = None
    po_number: str | None
    payment_refusal: ErrorOut | None = None
    lines: list[OrderLineOut]
    created_at: datetime
    updated_at: datetime


# -- invoicing --------------------------------------------------------------------------------


class InvoiceableOrderOut(Contract):
    order_id: str
    invoiceable: bool
    invoiceable_amount: MoneyOut
    reason: str | None
    po_number: str | None
    net: MoneyOut
    vat: MoneyOut
    implemented_at: datetime


class InvoiceLineOut(Contract):
    """A line of an invoice or credit note: net = quantity × unit price, rounded half-up; the
    VAT shown is the line's share (the invoice's VAT is computed per category and rate)."""

    order_id: str
    description: str
    quantity: int
    unit_price: MoneyOut
    vat_rate: Percent
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    sku: str | None = None
    vat_category: VatCategory = "S"


class VatBreakdownOut(Contract):
    """One VAT category and rate of a document (EN 16931 BG-23): its lines' net, less what a
    voucher paid of them (a document-level allowance), is the taxable amount; the VAT is the
    rate on that sum, rounded half-up."""

    category: VatCategory
    rate: Percent
    lines_net: MoneyOut
    allowance: MoneyOut
    taxable: MoneyOut
    vat: MoneyOut
    exemption_reason_code: str | None = None
    exemption_reason: str | None = None


class ApplyForInvoice(Contract):
    order_ids: list[str] = Field(min_length=1, max_length=100)
    channel: DeliveryChannel | None = None  # this invoice's delivery (default: the account's)


class InvoiceApplicationOut(Contract):
    """An invoice application; while ``awaiting_confirmation`` it is the confirmation page:
    who the invoice is made out to, where it goes and by which channel, and its lines."""

    id: str
    account_id: str
    status: str
    order_ids: list[str]
    net: MoneyOut
    vat: MoneyOut
    total: MoneyOut
    invoice_id: str | None
    created_at: datetime
    channel: DeliveryChannel | None = None
    reason: str | None = None
    status_history: list[dict[str, str]] = Field(default_factory=list)
    billing_info: BillingInfo | None = None
    mailing_info: MailingInfo | None = None
    lines: list[InvoiceLineOut] = Field(default_factory=list)
    vat_breakdown: list[VatBreakdownOut] = Field(default_factory=list)
    allowances: MoneyOut | None = None
    delivery_status: DeliveryStatus | None = None


class PartySnapshot(Contract):
    """Seller or buyer as the document was issued to them (never changed afterwards)."""

    name: str
    address: str | None  # on one line, as printed
    vat_id: str | None = None
    email: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    organisation_number: str | None = None
    endpoint_id: str | None = None  # the e-invoice participant id, ``scheme:number``
    iban: str | None = None
    bic: str | None = None
    bank_name: str | None = None


class InvoiceOut(Contract):
    """An issued invoice or credit note, immutable.  ``net`` is the taxable amount (lines less
    allowances, BT-109), ``vat`` the VAT on it (BT-110), ``total`` their sum (BT-112); what the
    account's cash already paid is ``prepaid`` (BT-113) and ``rounding`` (BT-114) the cent the
    per-category VAT differs from the per-line amounts paid, so ``amount_due`` (BT-115) is
    exact: nothing, for an invoice of paid orders."""

    id: str
    number: str
    account_id: str
    status: str
    net: MoneyOut
    vat: MoneyOut
    total: MoneyOut
    po_numbers: list[str]
    seller: PartySnapshot
    buyer: PartySnapshot
    lines: list[InvoiceLineOut]
    issue_date: str
    pdf_status: str
    issued_at: datetime
    kind: Literal["invoice", "credit_note"] = "invoice"
    currency: str | None = None
    lines_net: MoneyOut | None = None
    allowances: MoneyOut | None = None
    prepaid: MoneyOut | None = None
    rounding: MoneyOut | None = None
    amount_due: MoneyOut | None = None
    vat_breakdown: list[VatBreakdownOut] = Field(default_factory=list)
    supply_date: str | None = None
    due_date: str | None = None
    payment_terms: str | None = None
    payment_reference: str | None = None
    order_ids: list[str] = Field(default_factory=list)
    credited_invoice_id: str | None = None
    credited_invoice_number: str | None = None
    credit_reason: str | None = None
    delivery_channel: DeliveryChannel | None = None
    delivery_status: DeliveryStatus | None = None
    mailing_address: list[str] = Field(default_factory=list,
                                       description="the envelope window's lines")
    language: Literal["en", "sv", "ru"] = "en"


class CreatePaymentInvoice(Contract):
    """An invoice for payment on request (seed 003): for chosen realizations (shipped
    shipments; their totals, VAT included), or for any amount (an advance)."""

    shipment_ids: list[str] | None = Field(None, min_length=1, max_length=100)
    amount: Amount | None = None
    currency: Currency | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> CreatePaymentInvoice:
        if (self.shipment_ids is None) == (self.amount is None):
            raise ValueError("give either shipment_ids or amount")
        if self.amount is not None and (self.amount <= 0 or self.currency is None):
            raise ValueError("an amount is positive, with its currency")
        return self


class PaymentInvoiceLineOut(Contract):
    """What a payment invoice bills: an order's line, or a realization's."""

    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    vat_rate: Percent
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut


class PaymentInvoiceOut(Contract):
    """An invoice for payment: paid by a wire quoting its ``number`` or ``wire_reference`` (an
    ISO 11649 RF creditor reference), or by card; ``open`` → ``paid``, or ``void``."""

    id: str
    kind: Literal["payment_invoice"] = "payment_invoice"
    number: str
    account_id: str
    order_id: str | None
    status: Literal["open", "overdue", "paid", "void"]
    total: MoneyOut
    paid_amount: MoneyOut
    remaining: MoneyOut
    wire_reference: str
    po_number: str | None
    lines: list[PaymentInvoiceLineOut]
    issue_date: str
    due_date: str
    created_at: datetime
    shipment_ids: list[str] = Field(default_factory=list)
    claim: bool = True
    pay_url: str | None = Field(None, description="the console's page where it is paid by card")


# -- documents --------------------------------------------------------------------------------


class DocumentOut(Contract):
    id: str
    kind: str
    reference: str
    status: str
    content_type: str
    filename: str
    size: int | None
    sha256: str | None
    content_b64: str | None = None


ReportKind = Literal["receivables", "settlements", "sales", "realizations", "packing_list",
                     "inventory_certificates"]


class ReportRequest(Contract):
    """A report asked for by a customer's user (``email``: theirs, where it goes when the
    account gave no mailing e-mail); ``request_key`` makes a repeat answer the first job."""

    account_id: str
    request_key: str = Field(min_length=1, max_length=200)
    email: str | None = None
    kind: ReportKind
    format: Literal["pdf", "csv", "xlsx"] = "pdf"
    period_from: str | None = None
    period_to: str | None = None
    shipment_ids: list[str] | None = None
    order_id: str | None = None
    layout: str | None = None


class ReportOut(Contract):
    """A report job: ``queued`` → ``running`` (``progress`` 0–100) → ``ready`` (its file is
    ``file_id``) or ``failed`` (``error`` says why)."""

    id: str
    kind: str
    format: str
    status: Literal["queued", "running", "ready", "failed"]
    progress: int
    parameters: dict[str, Any]
    file_id: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class FileOut(Contract):
    """A file in the Files centre: an issued document or a report's file."""

    id: str
    kind: str
    filename: str
    content_type: str
    size: int
    period: dict[str, str | None] | None
    created_at: datetime
    expires_at: datetime | None


# -- events -----------------------------------------------------------------------------------


class Event(Contract):
    """Base of every event.  ``source`` and ``type`` say where it is published."""

    source: ClassVar[str]
    type: ClassVar[str]

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class AccountSnapshot(Contract):
    account_id: str
    company_name: str
    email: str
    country: str | None
    organisation_number: str | None
    language: str


class AccountRegistered(Event):
    source = "billing"
    type = "account_registered"
    account: AccountSnapshot
    user_id: str


class ProfileChanged(Event):
    """The profile as it is now (every part), after any change to it."""

    source = "billing"
    type = "profile_changed"
    account_id: str
    company: Company
    billing_info: BillingInfo | None
    mailing_info: MailingInfo | None
    delivery_channel: DeliveryChannel
    einvoice_capable: bool
    notifications_enabled: bool
    language: Literal["en", "sv", "ru"]
    profile_version: int


class EmailVerified(Event):
    source = "billing"
    type = "email_verified"
    account_id: str | None
    user_id: str
    email: str


class BalanceCredited(Event):
    source = "billing"
    type = "balance_credited"
    entry: LedgerEntryOut


class Standing(Contract):
    """An account's standing: its wallets, how far it may go below zero, and whether it is in
    arrears (cash below zero, or a payment invoice overdue) and by how much."""

    account_id: str
    cash_balance: MoneyOut
    voucher_balance: MoneyOut
    credit_limit: MoneyOut
    overdue_invoices: MoneyOut
    in_arrears: bool
    arrears_amount: MoneyOut
    version: int


class ArrearsChanged(Event):
    """Whether an account is in arrears, or how much it owes, changed; ``standing.version``
    rises with every change so a consumer keeps the newest."""

    source = "billing"
    type = "arrears_changed"
    standing: Standing


class PaymentInvoiceOverdue(Event):
    """The invoicing service's word that a payment invoice passed its due date unpaid."""

    source = "invoicing"
    type = "payment_invoice_overdue"
    payment_invoice_id: str
    account_id: str
    amount_due: MoneyOut


class PaymentInvoiceSettled(Event):
    """An overdue (or open) payment invoice was paid in full, credited or voided."""

    source = "invoicing"
    type = "payment_invoice_settled"
    payment_invoice_id: str
    account_id: str


class PaymentInvoiceOpened(Event):
    """The invoicing service issued a payment invoice: billing takes payments for it (by wire
    quoting its ``number`` or ``wire_reference``, or by card).  A ``claim`` bills a sale (the
    customer owes ``total`` from now on: a receivable); otherwise it asks for an advance, and
    what is paid for it goes to the customer's cash wallet."""

    source = "invoicing"
    type = "payment_invoice_opened"
    payment_invoice_id: str
    account_id: str
    number: str
    wire_reference: str
    total: MoneyOut
    due_on: date
    claim: bool = True
    order_id: str | None = None


class PaymentInvoiceVoided(Event):
    """The invoicing service voided a payment invoice: nothing more is owed on it; what was
    already paid for it goes to the customer's cash wallet."""

    source = "invoicing"
    type = "payment_invoice_voided"
    payment_invoice_id: str
    account_id: str


class PayableOut(Contract):
    """A payment invoice as billing sees it: what it asks for, what has been paid for it."""

    payment_invoice_id: str
    account_id: str
    number: str
    wire_reference: str
    total: MoneyOut
    paid: MoneyOut
    remaining: MoneyOut
    status: Literal["open", "paid", "void"]
    claim: bool


class CardPaymentOut(Contract):
    id: str
    account_id: str
    status: Literal["pending", "succeeded", "declined", "cancelled"]
    amount: MoneyOut
    decline_reason: str | None
    payment_invoice_id: str | None
    created_at: datetime
    settled_at: datetime | None


class PaymentReceived(Event):
    """Money came in from outside (card, wire) and was credited: to a payment invoice it paid
    (up to what remained on it) and the rest to the cash wallet."""

    source = "billing"
    type = "payment_received"
    entry: LedgerEntryOut
    method: Literal["card", "wire", "payment_order"]
    payment_id: str
    payable: PayableOut | None = None
    """The payment invoice it paid (after this payment), if it paid one."""
    applied: MoneyOut | None = None
    """How much of it went to that payment invoice; the rest went to the cash wallet."""


class PaymentOrderUploaded(Event):
    source = "billing"
    type = "payment_order_uploaded"
    payment_order_id: str
    account_id: str
    amount: MoneyOut
    paid_on: date


class PaymentOrderDecided(Event):
    source = "billing"
    type = "payment_order_decided"
    payment_order_id: str
    account_id: str
    status: Literal["matched", "rejected"]
    reason: str | None
    bank_transaction_id: str | None


class RefundIssued(Event):
    source = "billing"
    type = "refund_issued"
    entry: LedgerEntryOut
    order_id: str
    refund_id: str


class VoucherRedeemed(Event):
    source = "billing"
    type = "voucher_redeemed"
    entry: LedgerEntryOut
    code: str


class OrderCharged(Event):
    source = "billing"
    type = "order_charged"
    entry: LedgerEntryOut
    order_id: str


class OrderChargeRefused(Event):
    source = "billing"
    type = "order_charge_refused"
    order_id: str
    account_id: str
    error: ErrorOut


class OrderEvent(Event):
    """Something happened to an order; the event carries the whole order as it is after it."""

    source = "orders"
    order: OrderOut


class OrderPlaced(OrderEvent):
    """A new order: services and licences awaiting payment, or goods checked against stock
    (a draft)."""

    type = "order_placed"


class OrderImplemented(OrderEvent):
    type = "order_implemented"


class PaymentInvoiceRequested(OrderEvent):
    """A service or licence order is to be paid by wire transfer: the invoicing service issues
    the payment invoice with this ``payment_invoice_id`` (chosen here, so the order shows it at
    once) for the order's total; when billing reports it paid, the order is implemented."""

    type = "payment_invoice_requested"
    payment_invoice_id: str


class OrderPaid(OrderEvent):
    """An order's payment is settled; its lines are being implemented."""

    type = "order_paid"


class OrderPartiallyFailed(OrderEvent):
    """Some units failed to be implemented (each line's ``failed_quantity``); the failed part
    is cancelled and refunded next."""

    type = "order_partially_failed"


class OrderFailed(OrderEvent):
    type = "order_failed"


class OrderCancelled(OrderEvent):
    """An order was cancelled.  ``failed_lines``: the failed part of a paid order was cancelled
    and refunded (each line's refunded cash and voucher; ``order_refunded`` says the refund);
    what remains of it is its successful part.  ``payment_expired``: it was not paid in time,
    nothing was charged, and its payment invoice (if any) is void.  ``payment_refused``:
    billing refused its payment (``payment_refusal`` says why).  ``withdrawn``: a goods order
    given up before shipment (its stock returned)."""

    type = "order_cancelled"
    reason: Literal["failed_lines", "payment_expired", "payment_refused",
                    "withdrawn"] = "failed_lines"


class OrderRefunded(OrderEvent):
    """Billing refunded part of an order's payment, each part to the wallet it came from."""

    type = "order_refunded"
    refund_id: str
    cash: MoneyOut
    voucher: MoneyOut
    reason: str | None = None


class BoxLine(Contract):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=100_000)


class Box(Contract):
    number: int = Field(ge=1, le=100_000)
    lines: list[BoxLine] = Field(min_length=1, max_length=100)


class ShipmentLineOut(Contract):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    vat_rate: Percent
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut


class ShipmentOut(Contract):
    """A locked goods order on its way; once ``shipped`` it is a realization: its number,
    date, lines, amounts and boxes are what invoices, packing lists and reports use."""

    id: str
    number: str
    order_id: str
    account_id: str
    status: Literal["to_warehouse", "assembled", "shipped"]
    boxes: list[Box]
    lines: list[ShipmentLineOut]
    net: MoneyOut
    vat: MoneyOut
    total: MoneyOut
    po_number: str | None
    created_at: datetime
    shipped_at: datetime | None


class ShipmentStatusChanged(Event):
    source = "orders"
    type = "shipment_status_changed"
    shipment: ShipmentOut


class InvoiceIssued(Event):
    source = "invoicing"
    type = "invoice_issued"
    invoice: InvoiceOut


class CreditNoteIssued(Event):
    """A credit note issued for (part of) an invoice: ``invoice`` is the credit note, its
    ``credited_invoice_id`` the invoice it credits."""

    source = "invoicing"
    type = "credit_note_issued"
    invoice: InvoiceOut


class DocumentReady(Event):
    source = "documents"
    type = "document_ready"
    document: DocumentOut
    account_id: str


# -- mail (sent by the documents service on behalf of any service) -------------------------------

Language = Literal["en", "sv", "ru"]
MailTemplate = Literal["verify_email", "reset_password", "einvoice_unavailable",
                       "payment_order_decided", "invite_member", "order_placed",
                       "order_completed", "shipment_status", "order_status", "invoice_issued",
                       "letter_posted"]


class Attachment(Contract):
    """A stored document to attach to a mail: the documents service's ``kind`` and
    ``reference`` (an issued invoice's PDF: ``invoice`` and the invoice's id)."""

    kind: Literal["invoice"]
    reference: str = Field(min_length=1, max_length=64)


class MailRequested(Event):
    """Ask the documents service to send one e-mail, once.  ``mail_id`` is the requester's
    idempotency key for this mail (a redelivery or a repeated request sends nothing more);
    ``context`` holds the template's values, already in the reader's terms (names, links)."""

    source = "billing"
    type = "mail_requested"
    mail_id: str = Field(min_length=1, max_length=200)
    to: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    language: Language = "en"
    template: MailTemplate
    context: dict[str, str] = Field(default_factory=dict)
    account_id: str | None = None
    # the mail carries a secret (a one-time link): its body is not kept once it is sent
    sensitive: bool = False
    attachments: list[Attachment] = Field(default_factory=list, max_length=5)
    # announce what became of it (``mail_sent`` or ``mail_failed``), for a requester that tracks it
    reports: bool = False


class InvoiceMailRequested(MailRequested):
    """The same request, from the invoicing service (an issued document by e-mail)."""

    source = "invoicing"


class MailSent(Event):
    """A mail that asked for a report was accepted by the relay."""

    source = "documents"
    type = "mail_sent"
    mail_id: str
    message_id: str


class MailFailed(Event):
    """A mail that asked for a report could not be sent (refused, or after its last retry)."""

    source = "documents"
    type = "mail_failed"
    mail_id: str
    error: str


class OrderMailRequested(MailRequested):
    """The same request, from the orders service (order and shipment mails)."""

    source = "orders"
