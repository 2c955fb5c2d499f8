"""Alembic environment of the orders service (see services.common.migration_env)."""

from services.common.migration_env import run
from services.orders.models import Base

run(Base.metadata)
