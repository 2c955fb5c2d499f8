"""Alembic environment of the billing service (see services.common.migration_env)."""

from services.billing.models import Base
from services.common.migration_env import run

run(Base.metadata)
