"""open ticket indexes: the queues' order among open tickets

Revision ID: 5b1e0c7d9a21
Revises: cda24c6ac54c
Create Date: 2026-11-24 03:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b1e0c7d9a21'
down_revision = 'cda24c6ac54c'
branch_labels = None
depends_on = None

# The open statuses (OPEN_SQL in the models) as they were when this revision was written.
OPEN = sa.text("status IN ('OPEN', 'IN_PROGRESS', 'WAITING')")


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tickets_open', ['org_id', sa.text('priority DESC'), 'created_at', 'id'],
            unique=False, sqlite_where=OPEN, postgresql_where=OPEN,
        )
        batch_op.create_index(
            'ix_tickets_open_assignee',
            ['org_id', 'assignee_id', sa.text('priority DESC'), 'created_at', 'id'],
            unique=False, sqlite_where=OPEN, postgresql_where=OPEN,
        )


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_open_assignee')
        batch_op.drop_index('ix_tickets_open')
