"""Bodies the API accepts.  Unknown fields are refused (``extra="forbid"``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.common.contracts import Currency, OrderLineIn


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Body):
    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=10, max_length=200)
    company_name: str = Field(min_length=1, max_length=200)
    organisation_number: str | None = Field(None, max_length=40)
    billing_address: str | None = Field(None, max_length=500)
    currency: Currency = "EUR"


class LoginIn(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class TokenOut(Body):
    token: str
    token_type: str = "bearer"
    expires_at: int
    account_id: str | None
    role: str


class TopUpIn(Body):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: Currency
    reference: str = Field("operator top-up", min_length=1, max_length=200)


class OrderIn(Body):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    po_number: str | None = Field(None, max_length=64, description="your own purchase order number")
    payment_method: str = Field("balance", pattern="^balance$")


class ApplicationIn(Body):
    order_ids: list[str] = Field(min_length=1, max_length=100)
