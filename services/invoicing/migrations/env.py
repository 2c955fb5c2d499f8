"""Alembic environment of the invoicing service (see services.common.migration_env)."""

from services.common.migration_env import run
from services.invoicing.models import Base

run(Base.metadata)
