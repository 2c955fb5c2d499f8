"""Alembic environment of the invoicing service (see services.common.migration_env)."""

from services.invoicing.models import Base
from services.common.migration_env import run

run(Base.metadata)
