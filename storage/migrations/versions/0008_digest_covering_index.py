"""digest covering index: the supports of a period read from the index alone

Revision ID: 0008
Revises: 0007

The staff digests count the supports of several weeks (who supported which idea, when);
bench/digest.py showed SQLite looking up each support's row after finding it by time in
ix_idea_supports_created_at. (created_at, idea_id, member_id) answers those reads alone and
serves every query the old index served.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_supports_created_at"))
        batch_op.create_index("ix_idea_supports_created_idea_member",
                              ["created_at", "idea_id", "member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_supports_created_idea_member")
        batch_op.create_index(batch_op.f("ix_idea_supports_created_at"), ["created_at"],
                              unique=False)
