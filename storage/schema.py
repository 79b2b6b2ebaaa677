"""Every table the application knows, for Alembic and tests: a feature that adds tables
imports its models module here."""

from storage.models import core
from storage.models import digests  # noqa: F401 (registers the tables)
from storage.models import meetups  # noqa: F401

metadata = core.Base.metadata
