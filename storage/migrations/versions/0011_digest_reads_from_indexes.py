"""digest reads from indexes: supports keep their idea's territory; covering indexes

Revision ID: 0011
Revises: 0010

The staff digests count weeks of supports by territory and member. Each support was looked
up in `ideas` for its territory and whether the idea is hidden: half the counting time of
the weekly staff digest at full scale (bench/README.md, session 10). A support now holds its
idea's territory (an idea never changes territory), filled in here from the ideas, and the
few hidden ideas are found from a partial index. The ideas proposed, the poll answers and
the meetup answers of a period are read from indexes that hold what the digests count, not
looked up row by row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HIDDEN = sa.text("hidden IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("territory_id", sa.Integer(), nullable=True))
    op.execute("UPDATE idea_supports SET territory_id = "
               "(SELECT ideas.territory_id FROM ideas WHERE ideas.id = idea_supports.idea_id)")
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.alter_column("territory_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_idea_supports_territory_id_territories"),
                                    "territories", ["territory_id"], ["id"])
        batch_op.drop_index("ix_idea_supports_created_idea_member")
        batch_op.create_index("ix_idea_supports_created",
                              ["created_at", "territory_id", "member_id", "idea_id"])
        batch_op.create_index("ix_idea_supports_territory",
                              ["territory_id", "created_at", "member_id"])
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_created_at")
        batch_op.drop_index("ix_ideas_id_hidden_territory")
        batch_op.create_index("ix_ideas_created",
                              ["created_at", "territory_id", "author_id", "hidden"])
        batch_op.create_index("ix_ideas_hidden", ["id"], sqlite_where=HIDDEN,
                              postgresql_where=HIDDEN)
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_votes_voted_at")
        batch_op.create_index("ix_poll_votes_voted", ["voted_at", "poll_id", "member_id"])
    with op.batch_alter_table("meetup_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_meetup_answers_answered_at")
        batch_op.create_index("ix_meetup_answers_answered",
                              ["answered_at", "meetup_id", "member_id"])


def downgrade() -> None:
    with op.batch_alter_table("meetup_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_meetup_answers_answered")
        batch_op.create_index("ix_meetup_answers_answered_at", ["answered_at"])
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_votes_voted")
        batch_op.create_index("ix_poll_votes_voted_at", ["voted_at"])
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_hidden")
        batch_op.drop_index("ix_ideas_created")
        batch_op.create_index("ix_ideas_id_hidden_territory", ["id", "hidden", "territory_id"])
        batch_op.create_index("ix_ideas_created_at", ["created_at"])
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_supports_territory")
        batch_op.drop_index("ix_idea_supports_created")
        batch_op.create_index("ix_idea_supports_created_idea_member",
                              ["created_at", "idea_id", "member_id"])
        batch_op.drop_constraint("fk_idea_supports_territory_id_territories",
                                 type_="foreignkey")
        batch_op.drop_column("territory_id")
