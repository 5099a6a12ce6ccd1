"""canned replies and ticket viewers: saved replies of an organization and of each agent,
and who has a ticket open

Revision ID: c15a0e000001
Revises: e16b0e000001
Create Date: 2026-12-07 06:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c15a0e000001'
down_revision = 'e16b0e000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'canned_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('public_id'),
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index('ix_canned_replies_org', ['org_id', 'agent_id'], unique=False)


    op.create_table(
        'ticket_viewers',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'agent_id'),
    )


def downgrade():
    op.drop_table('ticket_viewers')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index('ix_canned_replies_org')
    op.drop_table('canned_replies')
