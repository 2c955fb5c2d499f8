"""Alembic environment of the orders service (see services.common.migration_env)."""

from services.orders.models import Base
from services.common.migration_env import run

run(Base.metadata)
