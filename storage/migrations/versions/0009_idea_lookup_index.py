"""idea lookup index: each support's idea, its territory and visibility from an index

Revision ID: 0009
Revises: 0008

The staff digests join every support of eight weeks to its idea for the idea's territory and
whether it is hidden. Looked up in the table, each is a read of a wide row (the idea's
text); (id, hidden, territory_id) answers it from a narrow index (bench/README.md,
session 7). SQLite's planner, without statistics, still picks the table; the query names
the index (`bot.ideas.digest`).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_id_hidden_territory", ["id", "hidden", "territory_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_id_hidden_territory")
