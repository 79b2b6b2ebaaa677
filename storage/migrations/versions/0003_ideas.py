"""ideas: ideas, their themes, supports, reports and history

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import storage.models.core


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ideas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('hidden', sa.String(length=12), nullable=True),
    sa.Column('created_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['members.id'], name=op.f('fk_ideas_author_id_members')),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_ideas_territory_id_territories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ideas'))
    )
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.create_index('ix_ideas_author_created', ['author_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ideas_territory_created', ['territory_id', 'created_at'], unique=False)

    op.create_table('idea_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_idea_events_actor_id_members')),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_events_idea_id_ideas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_events'))
    )
    with op.batch_alter_table('idea_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_events_idea_id'), ['idea_id'], unique=False)

    op.create_table('idea_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('created_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', storage.models.core.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_reports_idea_id_ideas')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_idea_reports_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_reports')),
    sa.UniqueConstraint('idea_id', 'member_id', name=op.f('uq_idea_reports_idea_id'))
    )
    with op.batch_alter_table('idea_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_reports_idea_id'), ['idea_id'], unique=False)

    op.create_table('idea_supports',
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_supports_idea_id_ideas')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_idea_supports_member_id_members')),
    sa.PrimaryKeyConstraint('idea_id', 'member_id', name=op.f('pk_idea_supports'))
    )
    op.create_table('idea_themes',
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_themes_idea_id_ideas')),
    sa.PrimaryKeyConstraint('idea_id', 'theme', name=op.f('pk_idea_themes'))
    )
    with op.batch_alter_table('idea_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_themes_theme'), ['theme'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('idea_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idea_themes_theme'))

    op.drop_table('idea_themes')
    op.drop_table('idea_supports')
    with op.batch_alter_table('idea_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idea_reports_idea_id'))

    op.drop_table('idea_reports')
    with op.batch_alter_table('idea_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idea_events_idea_id'))

    op.drop_table('idea_events')
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.drop_index('ix_ideas_territory_created')
        batch_op.drop_index('ix_ideas_author_created')

    op.drop_table('ideas')
