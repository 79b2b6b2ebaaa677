"""digests

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import storage.models.core

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"],
                                name=op.f("fk_digest_runs_chat_id_chats")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint("chat_id", "kind", "period_end", name=op.f("uq_digest_runs_chat_id")),
    )
    op.create_table(
        "digest_settings",
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"],
                                name=op.f("fk_digest_settings_chat_id_chats")),
        sa.ForeignKeyConstraint(["updated_by"], ["members.id"],
                                name=op.f("fk_digest_settings_updated_by_members")),
        sa.PrimaryKeyConstraint("chat_id", "kind", name=op.f("pk_digest_settings")),
    )


def downgrade() -> None:
    op.drop_table("digest_settings")
    op.drop_table("digest_runs")
