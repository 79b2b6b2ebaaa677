"""Every table the application knows, for Alembic and tests: a feature that adds tables
imports its models module here."""

from storage.models import (
    audit,  # noqa: F401
    core,
    digests,  # noqa: F401 (registers the tables)
    ideas,  # noqa: F401
    meetups,  # noqa: F401
    polls,  # noqa: F401
)

metadata = core.Base.metadata
