"""Every table the application knows: the core's and each feature's, for Alembic and tests.

A feature that adds tables imports its models module here.
"""

from storage import models

metadata = models.Base.metadata
