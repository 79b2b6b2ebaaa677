"""meetups: the meetups, members' answers, reminders, per-territory settings

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import storage.models.core


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meetup_settings',
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('reminder_minutes', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_meetup_settings_territory_id_territories')),
    sa.PrimaryKeyConstraint('territory_id', name=op.f('pk_meetup_settings'))
    )
    op.create_table('meetups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('starts_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('cancel_reason', sa.String(length=300), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('concluded_at', storage.models.core.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organiser_id'], ['members.id'], name=op.f('fk_meetups_organiser_id_members')),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_meetups_territory_id_territories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetups')),
    sa.UniqueConstraint('uid', name=op.f('uq_meetups_uid'))
    )
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetups_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetups_territory_id'), ['territory_id'], unique=False)

    op.create_table('meetup_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('queue', sa.Integer(), nullable=True),
    sa.Column('answered_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_meetup_answers_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_meetup_answers_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetup_answers')),
    sa.UniqueConstraint('meetup_id', 'member_id', name=op.f('uq_meetup_answers_meetup_id'))
    )
    with op.batch_alter_table('meetup_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetup_answers_meetup_id'), ['meetup_id'], unique=False)

    op.create_table('meetup_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('offset_minutes', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.models.core.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.models.core.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_meetup_reminders_meetup_id_meetups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetup_reminders')),
    sa.UniqueConstraint('meetup_id', 'offset_minutes', name=op.f('uq_meetup_reminders_meetup_id'))
    )
    with op.batch_alter_table('meetup_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_meetup_reminders_pending', ['sent_at', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meetup_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_meetup_reminders_pending')

    op.drop_table('meetup_reminders')
    with op.batch_alter_table('meetup_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetup_answers_meetup_id'))

    op.drop_table('meetup_answers')
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetups_territory_id'))
        batch_op.drop_index(batch_op.f('ix_meetups_starts_at'))

    op.drop_table('meetups')
    op.drop_table('meetup_settings')