"""conversation: emailed messages, deliveries of a message, mail that failed to ingest

Revision ID: g14a0e000001
Revises: f17a0e000002
Create Date: 2026-12-07 23:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'g14a0e000001'
down_revision = 'f17a0e000002'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE and CREATE INDEX, not batch mode: on SQLite batch mode rebuilds the
    # table, which would drop the full-text index's triggers on messages.
    op.add_column('messages', sa.Column('email_message_id', sa.String(length=255), nullable=True))
    op.add_column('messages', sa.Column('original', sa.Text(), nullable=True))
    op.create_index(
        'uq_messages_org_id_email_message_id', 'messages', ['org_id', 'email_message_id'], unique=True
    )
    op.add_column('outbox', sa.Column('message_id', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_message', 'outbox', ['message_id'], unique=False)
    op.create_table('ingest_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('email_message_id', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_ingest_failures_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_failures'))
    )
    op.create_index(op.f('ix_ingest_failures_org_id'), 'ingest_failures', ['org_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ingest_failures_org_id'), table_name='ingest_failures')
    op.drop_table('ingest_failures')
    op.drop_index('ix_outbox_message', table_name='outbox')
    op.drop_column('outbox', 'message_id')
    op.drop_index('uq_messages_org_id_email_message_id', table_name='messages')
    op.drop_column('messages', 'original')
    op.drop_column('messages', 'email_message_id')
