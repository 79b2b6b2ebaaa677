"""meetup times: meetups proposed in a period found from an index

Revision ID: 0010
Revises: 0009

The staff digests count the meetups proposed in their periods, and who proposed them. With
no index on `created_at` that read every meetup ever proposed: a digest's cost grew with
the cooperative's history rather than with the period's activity (bench/README.md,
session 9).
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetups", schema=None) as batch_op:
        batch_op.create_index("ix_meetups_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meetups", schema=None) as batch_op:
        batch_op.drop_index("ix_meetups_created_at")
