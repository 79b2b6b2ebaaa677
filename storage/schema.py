"""Every table the application knows, for Alembic and tests: a feature that adds tables
imports its models module here."""

from storage.models import core

metadata = core.Base.metadata
