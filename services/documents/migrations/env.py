"""Alembic environment of the documents service (see services.common.migration_env)."""

from services.documents.models import Base
from services.common.migration_env import run

run(Base.metadata)
