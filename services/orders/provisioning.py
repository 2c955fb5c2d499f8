"""The provisioning adapter: what implements a paid service or licence line.  Its built-in
simulator is deterministic and configured by operators per SKU (``PUT
/admin/provisioning-simulator/{sku}``) and per order awaiting payment (``PUT
/admin/provisioning-simulator/orders/{order_id}``, all its lines or one SKU's; it wins over
the SKU's rule): ``succeed`` (the default for a SKU without a rule),
``fail`` (every unit), ``fail_units`` (``failed_units`` of them), after ``delay_seconds``, and
``cancel_fails`` (the system's automatic cancel of the failed units fails, so a manual one is
needed).  A real adapter would call the platform's API with the same answers."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from services.orders.models import SimulatedOutcome

OUTCOMES = ("succeed", "fail", "fail_units")
EVERY_LINE = "*"
KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def failed_units(rule: SimulatedOutcome | None, quantity: int) -> int:
    """How many of ``quantity`` units the platform fails to implement."""
    if rule is None or rule.outcome == "succeed":
        return 0
    if rule.outcome == "fail":
        return quantity
    return min(max(rule.failed_units, 0), quantity)


def delay(rules: Mapping[str, SimulatedOutcome]) -> float:
    return max((rule.delay_seconds for rule in rules.values()), default=0.0)


def licence_key() -> str:
    """A licence key: four groups of four characters that cannot be misread (no 0/O, 1/I)."""
    return "-".join("".join(secrets.choice(KEY_ALPHABET) for _ in range(4)) for _ in range(4))
