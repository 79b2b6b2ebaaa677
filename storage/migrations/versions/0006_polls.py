"""polls: the poll, its options, members' answers, the chats it was posted in

Revision ID: 0006
Revises: 0005
Depends on: 0002 (a poll links to the meetup it became)
"""

import sqlalchemy as sa
from alembic import op

import storage.models.core

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("hidden_results", sa.Boolean(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("closes_at", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_at", storage.models.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", storage.models.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_at", storage.models.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("final_voters", sa.Integer(), nullable=True),
        sa.Column("meetup_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["closed_by"], ["members.id"],
                                name=op.f("fk_polls_closed_by_members")),
        sa.ForeignKeyConstraint(["creator_id"], ["members.id"],
                                name=op.f("fk_polls_creator_id_members")),
        sa.ForeignKeyConstraint(["meetup_id"], ["meetups.id"],
                                name=op.f("fk_polls_meetup_id_meetups")),
        sa.ForeignKeyConstraint(["territory_id"], ["territories.id"],
                                name=op.f("fk_polls_territory_id_territories")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_polls_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index("ix_polls_status_closes", ["status", "closes_at"], unique=False)
        batch_op.create_index("ix_polls_territory_status", ["territory_id", "status"],
                              unique=False)

    op.create_table(
        "poll_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("starts_at", storage.models.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("final_yes", sa.Integer(), nullable=True),
        sa.Column("final_maybe", sa.Integer(), nullable=True),
        sa.Column("final_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"],
                                name=op.f("fk_poll_options_poll_id_polls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_options")),
        sa.UniqueConstraint("poll_id", "position", name=op.f("uq_poll_options_poll_id")),
    )

    op.create_table(
        "poll_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=5), nullable=False),
        sa.Column("voted_at", storage.models.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_poll_votes_member_id_members")),
        sa.ForeignKeyConstraint(["option_id"], ["poll_options.id"],
                                name=op.f("fk_poll_votes_option_id_poll_options")),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"],
                                name=op.f("fk_poll_votes_poll_id_polls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint("option_id", "member_id", name=op.f("uq_poll_votes_option_id")),
    )
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.create_index("ix_poll_votes_poll_member", ["poll_id", "member_id"],
                              unique=False)
        batch_op.create_index("ix_poll_votes_voted_at", ["voted_at"], unique=False)

    op.create_table(
        "poll_posts",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"],
                                name=op.f("fk_poll_posts_chat_id_chats")),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"],
                                name=op.f("fk_poll_posts_poll_id_polls")),
        sa.PrimaryKeyConstraint("poll_id", "chat_id", name=op.f("pk_poll_posts")),
    )


def downgrade() -> None:
    op.drop_table("poll_posts")
    op.drop_table("poll_votes")
    op.drop_table("poll_options")
    op.drop_table("polls")
