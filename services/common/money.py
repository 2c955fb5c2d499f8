"""Money: an immutable amount with its currency, exact to the minor unit (beancount's Amount).

Amounts are ``Decimal`` in code and integer minor units in databases; never ``float``.
Rounding is half-up, applied per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MINOR_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0}
CURRENCIES = frozenset({"EUR", "SEK", "USD", "GBP", "NOK", "DKK", "RUB", "CHF", "PLN", "JPY"})


class CurrencyMismatch(ValueError):
    pass


def exponent(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


def quantize(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("money is never a float")
        try:
            amount = Decimal(self.amount)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {self.amount!r}") from exc
        if not amount.is_finite():
            raise ValueError("amount must be finite")
        object.__setattr__(self, "amount", quantize(amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(Decimal(minor).scaleb(-exponent(currency)), currency)

    @property
    def minor(self) -> int:
        return int(self.amount.scaleb(exponent(self.currency)))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} do not mix")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def times(self, factor: Decimal | int) -> Money:
        """Multiply and round half-up to the minor unit (a line total, a tax amount)."""
        if isinstance(factor, float):
            raise TypeError("money is never multiplied by a float")
        return Money(self.amount * Decimal(factor), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def person_decides(rule: str, amount: Money) -> bool:
    """Whether a person (a manager, an operator) decides rather than the system, by a rule
    of the form ``never``, ``always`` or ``above:<amount>`` (``amount`` above it)."""
    if rule == "always":
        return True
    if rule.startswith("above:"):
        return amount.amount > Decimal(rule.split(":", 1)[1])
    return False
