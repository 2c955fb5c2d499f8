"""Voucher rules: codes, and whether a voucher can be redeemed by an account today."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.models import Account, Voucher, VoucherRedemption
from services.common.contracts import MoneyOut, VoucherOut
from services.common.errors import CurrencyNotSupported, VoucherExpired, VoucherInvalid, VoucherUsed
from services.common.money import Money

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper


def new_code() -> str:
    """Sixteen random characters (80 bits) in groups of four: ``K7QM-2XPD-...``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def check_redeemable(voucher: Voucher | None, account: Account, session: Session, today: date) -> Money:
    """The amount a redemption credits, or the refusal: an unknown code and another account's
    voucher are both ``voucher_invalid`` (a code tells nothing about other accounts)."""
    if voucher is None or (voucher.account_id is not None and voucher.account_id != account.id):
        raise VoucherInvalid()
    if voucher.expires_on < today:
        raise VoucherExpired(details={"expired_on": voucher.expires_on.isoformat()})
    already = session.scalar(select(VoucherRedemption.code).where(
        VoucherRedemption.code == voucher.code, VoucherRedemption.account_id == account.id))
    if already is not None or voucher.used >= voucher.uses:
        raise VoucherUsed()
    if voucher.currency != account.currency:
        raise CurrencyNotSupported(f"the voucher is in {voucher.currency}; the account keeps "
                                   f"its balance in {account.currency}")
    return Money.from_minor(voucher.amount_minor, voucher.currency)


def voucher_out(voucher: Voucher) -> VoucherOut:
    return VoucherOut(code=voucher.code, amount=MoneyOut.minor(voucher.amount_minor, voucher.currency),
                      expires_on=voucher.expires_on, uses=voucher.uses, used=voucher.used,
                      account_id=voucher.account_id, created_at=voucher.created_at)
