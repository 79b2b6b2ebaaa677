"""digest indexes: the digests' period queries over all territories at once (staff)

Revision ID: 0007
Revises: 0006

bench/digest.py showed these tables read whole for a staff digest (1,000 territories,
100,000 ideas, 1,000,000 supports): supports, answers and meetup answers of a period, the
ideas of a period, and the ideas still waiting for an answer.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idea_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idea_events_created_at"), ["created_at"],
                              unique=False)
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idea_supports_created_at"), ["created_at"],
                              unique=False)
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_ideas_status_hidden_created",
                              ["status", "hidden", "created_at"], unique=False)
    with op.batch_alter_table("meetup_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetup_answers_answered_at"), ["answered_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meetup_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetup_answers_answered_at"))
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_status_hidden_created")
        batch_op.drop_index("ix_ideas_created_at")
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_supports_created_at"))
    with op.batch_alter_table("idea_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_events_created_at"))
