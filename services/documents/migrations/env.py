"""Alembic environment of the documents service (see services.common.migration_env)."""

from services.common.migration_env import run
from services.documents.models import Base

run(Base.metadata)
