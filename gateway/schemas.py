"""Bodies the API accepts and the error body it answers with.  Unknown fields are refused;
money is ``{"amount": "12.50", "currency": "EUR"}`` with a decimal string; integers are JSON
integers (see ``gateway.validation``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from gateway.validation import Body, MoneyIn, PositiveMoneyIn, StrictQuantity
from services.common.contracts import (
    Address,
    BankAccount,
    BillingInfo,
    Certificate,
    Company,
    Currency,
    MailingInfo,
)
from services.common.countries import check_country

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2",
                               examples=["SE"]), AfterValidator(check_country)]


class RegisterIn(Body):
    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(max_length=200, description="at least 12 characters, not a common "
                          "password and not the e-mail address (else 422 `password_rejected`)")
    company_name: str = Field(min_length=1, max_length=200)
    country: Country
    organisation_number: str | None = Field(None, max_length=40)
    language: Literal["en", "sv", "ru"] = Field("en", description="of mails and documents")
    billing_address: str | None = Field(None, max_length=500)
    currency: Currency = "EUR"


class RegisteredOut(BaseModel):
    account_id: str
    user_id: str


class TokenIn(Body):
    token: str = Field(min_length=1, max_length=200, description="from the mail's link")


class EmailIn(Body):
    email: str = Field(max_length=254)


class PasswordResetIn(Body):
    token: str = Field(min_length=1, max_length=200, description="from the mail's link")
    password: str = Field(max_length=200)


class VerifiedOut(BaseModel):
    user_id: str
    account_id: str | None
    email: str


class LoginIn(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: int = Field(description="when the token stops working (Unix seconds)")
    account_id: str | None
    user_id: str
    role: str


class TopUpIn(Body):
    amount: PositiveMoneyIn
    reference: str = Field("operator top-up", min_length=1, max_length=200)


class OrderLineIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    quantity: StrictQuantity


class CartItemIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    quantity: StrictQuantity


class QuantityIn(Body):
    quantity: StrictQuantity


class OrderIn(Body):
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=100,
                                     description="or from_cart")
    from_cart: StrictBool = Field(False, description="order what is in your cart (it is emptied)")
    po_number: str | None = Field(None, max_length=64, description="your own purchase order number")
    payment_method: Literal["balance", "voucher", "balance+voucher", "card", "wire_transfer"] = Field(
        "balance", description="balance+voucher spends the voucher wallet first, line by line; "
        "card answers with the card payment's pay_url; wire_transfer gets a payment invoice "
        "(payment_invoice_id) and is implemented when it is paid")

    @model_validator(mode="after")
    def _lines_or_cart(self) -> OrderIn:
        if bool(self.lines) == self.from_cart:
            raise ValueError("give the lines, or from_cart: true, not both")
        return self


class ProductBodyIn(Body):
    """A product as an operator writes it (`PUT` replaces every field)."""

    name: str = Field(min_length=1, max_length=200)
    names: dict[Literal["sv", "ru", "en"], str] = Field(
        default_factory=dict, description="the name in other languages")
    description: str | None = Field(None, max_length=2000)
    descriptions: dict[Literal["sv", "ru", "en"], str] = Field(default_factory=dict)
    kind: Literal["service", "licence", "goods"]
    price: MoneyIn
    vat_category: Literal["S", "Z", "E", "AE", "O"] = Field(
        "S", description="EN 16931: S standard, Z zero, E exempt, AE reverse charge, O outside scope")
    vat_rate: str = Field(pattern=r"^\d{1,3}(\.\d{1,2})?$", description='percent, e.g. "25" or "12.50"')
    active: StrictBool = True
    units_per_box: StrictInt | None = Field(None, ge=1, le=100_000, description="goods only")
    characteristics: dict[str, str] = Field(default_factory=dict, description="goods only")
    certificates: list[Certificate] = Field(default_factory=list, max_length=20,
                                            description="goods only")


class NewProductIn(ProductBodyIn):
    sku: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,63}$", examples=["SSD-2T"])


class StockIn(Body):
    on_hand: StrictInt = Field(ge=0, le=10**9)


class BoxLineIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    quantity: StrictQuantity


class BoxIn(Body):
    number: StrictInt = Field(ge=1, le=100_000)
    lines: list[BoxLineIn] = Field(min_length=1, max_length=100)


class ShipmentStatusIn(Body):
    status: Literal["assembled", "shipped"]
    boxes: list[BoxIn] | None = Field(None, max_length=1000, description="with assembled; "
                                      "else packed by each product's units per box")


class MergeIn(Body):
    order_ids: list[str] = Field(min_length=2, max_length=50)


class ProvisioningRuleIn(Body):
    outcome: Literal["succeed", "fail", "fail_units"]
    failed_units: StrictInt | None = Field(None, ge=1, le=10_000, description="with fail_units")
    delay_seconds: float = Field(0, ge=0, le=600)
    cancel_fails: StrictBool = Field(False, description="the automatic cancel of the failed "
                                     "units fails (a manual POST /orders/{id}/cancel still works)")


class OrderProvisioningRuleIn(ProvisioningRuleIn):
    sku: str | None = Field(None, min_length=1, max_length=64,
                            description="one of the order's SKUs; omitted: all its lines")


class ApplicationIn(Body):
    order_ids: list[str] = Field(min_length=1, max_length=100)
    channel: Literal["email_pdf", "letter", "einvoice"] | None = Field(
        None, description="this invoice's delivery channel (default: the account's)")


class RejectionIn(Body):
    reason: str = Field(min_length=1, max_length=500)


class CreditNoteIn(Body):
    reason: str = Field(min_length=1, max_length=500, description="printed on the credit note")


class RefundLineIn(Body):
    line_no: StrictInt = Field(ge=1)
    quantity: StrictInt = Field(ge=1, le=1_000_000, description="implemented units to refund")


class RefundIn(Body):
    """Refund implemented units of an order (a later cancellation, a correction)."""

    lines: list[RefundLineIn] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)


class AccessPointSimulatorIn(Body):
    outcome: Literal["accept", "fail", "reject"] = Field(
        description="accept; fail: an outage (retried with backoff); reject: a permanent refusal")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``?cursor=`` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None


# -- the profile ----------------------------------------------------------------------------------



# The profile's parts are the shared contracts themselves (unknown fields refused, every part
# validated), so the gateway and billing cannot disagree on them.
AddressIn = Address
CompanyIn = Company
BankAccountIn = BankAccount
BillingInfoIn = BillingInfo
MailingInfoIn = MailingInfo


class ProfileOut(BaseModel):
    company: Company
    billing_info: BillingInfo | None
    mailing_info: MailingInfo | None


class DeliveryIn(Body):
    channel: Literal["email_pdf", "letter", "einvoice"]


class NotificationsIn(Body):
    enabled: StrictBool


class LanguageIn(Body):
    language: Literal["en", "sv", "ru"]


class ParticipantIn(Body):
    name: str = Field(min_length=1, max_length=200)


class ParticipantOut(BaseModel):
    participant_id: str
    name: str
    updated_at: str


# -- vouchers and the ledger -----------------------------------------------------------------------


class VoucherIn(Body):
    code: str | None = Field(None, pattern=r"^[A-Z0-9-]{4,40}$", description="made up when left out")
    amount: PositiveMoneyIn
    expires_on: date = Field(description="the last day it can be redeemed")
    uses: StrictInt = Field(1, ge=1, le=1_000_000, description="how many accounts may redeem it")
    account_id: str | None = Field(None, max_length=36, description="only this account may")


class RedeemIn(Body):
    code: str = Field(min_length=1, max_length=60)


class LedgerLineOut(BaseModel):
    id: str
    entry_id: str
    kind: str
    wallet: Literal["cash", "voucher"]
    amount: dict[str, str]
    reference: str
    order_id: str | None
    balance_after: dict[str, str] | None
    at: str


class CreditLimitIn(Body):
    amount: MoneyIn = Field(description="zero or more")


class PaymentInvoiceIn(Body):
    """An invoice for payment: for chosen shipped shipments (`shipment_ids`), or for any
    `amount` (an advance); exactly one of the two."""

    shipment_ids: list[str] | None = Field(None, min_length=1, max_length=100)
    amount: PositiveMoneyIn | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> PaymentInvoiceIn:
        if (self.shipment_ids is None) == (self.amount is None):
            raise ValueError("give either shipment_ids or amount")
        return self


class CardPaymentIn(Body):
    """A top-up (`amount`) or the payment of what remains on an open payment invoice
    (`payment_invoice_id`): exactly one of the two."""

    amount: PositiveMoneyIn | None = None
    payment_invoice_id: str | None = Field(None, min_length=1, max_length=36)

    @model_validator(mode="after")
    def _one_purpose(self) -> CardPaymentIn:
        if (self.amount is None) == (self.payment_invoice_id is None):
            raise ValueError("give either amount (a top-up) or payment_invoice_id")
        return self


class CardPaymentOut(BaseModel):
    id: str
    status: Literal["pending", "succeeded", "declined", "cancelled"]
    amount: dict[str, str]
    decline_reason: str | None
    payment_invoice_id: str | None
    pay_url: str
    created_at: str
    settled_at: str | None


class CardCallbackIn(BaseModel):
    payment_id: str = Field(max_length=36)
    status: Literal["pending", "succeeded", "declined"]
    decline_reason: str | None = Field(None, max_length=60)
    processor_reference: str | None = Field(None, max_length=100)


class MatchIn(Body):
    """What the credit pays: an account's cash wallet, or a payment invoice (the surplus above
    what remains on it goes to its account's cash wallet); exactly one of the two."""

    account_id: str | None = Field(None, min_length=1, max_length=36)
    payment_invoice_id: str | None = Field(None, min_length=1, max_length=36)

    @model_validator(mode="after")
    def _one_target(self) -> MatchIn:
        if (self.account_id is None) == (self.payment_invoice_id is None):
            raise ValueError("give either account_id or payment_invoice_id")
        return self


class DecisionIn(Body):
    decision: Literal["matched", "rejected"]
    reason: str | None = Field(None, max_length=2000, description="required with rejected")
    bank_transaction_id: str | None = Field(None, max_length=36)


class ReportIn(Body):
    """A report to produce (seed 003's Documents): ``receivables`` as of today;
    ``settlements`` for a period from at most a year back; ``sales`` and ``realizations`` from
    at most half a year back; ``packing_list`` for chosen shipments in a ``layout``;
    ``inventory_certificates`` for a shipped order."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["receivables", "settlements", "sales", "realizations", "packing_list",
                  "inventory_certificates"]
    format: Literal["pdf", "csv", "xlsx"] = "pdf"
    period_from: date | None = Field(None, alias="from", description="first day, YYYY-MM-DD")
    to: date | None = Field(None, description="last day, YYYY-MM-DD (at most today)")
    shipment_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, min_length=1, max_length=100, description="packing lists: the shipments")
    order_id: str | None = Field(None, min_length=1, max_length=64,
                                 description="inventory and certificates: the shipped order")
    layout: Literal["by_article", "box_nomenclature", "box_characteristic"] | None = Field(
        None, description="packing lists (default by_article)")
