"""tickets: the Message-ID of the email that opened one

Revision ID: g14a0e000002
Revises: g14a0e000001
Create Date: 2026-12-07 23:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'g14a0e000002'
down_revision = 'g14a0e000001'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE and CREATE INDEX, not batch mode: on SQLite batch mode rebuilds the
    # table, which would drop the full-text index's triggers on tickets.
    op.add_column('tickets', sa.Column('email_message_id', sa.String(length=255), nullable=True))
    op.create_index(
        'uq_tickets_org_id_email_message_id', 'tickets', ['org_id', 'email_message_id'], unique=True
    )


def downgrade():
    op.drop_index('uq_tickets_org_id_email_message_id', table_name='tickets')
    op.drop_column('tickets', 'email_message_id')
