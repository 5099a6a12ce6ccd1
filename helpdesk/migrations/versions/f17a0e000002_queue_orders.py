"""queue orders: open tickets by last update, and tickets of one status in either order

Revision ID: f17a0e000002
Revises: f17a0e000001
Create Date: 2026-12-07 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f17a0e000002'
down_revision = 'f17a0e000001'
branch_labels = None
depends_on = None

# The open statuses (OPEN_SQL in the models) as they were when this revision was written.
OPEN = sa.text("status IN ('OPEN', 'IN_PROGRESS', 'WAITING')")


def upgrade():
    # Plain CREATE INDEX, not batch mode: on SQLite batch mode rebuilds the table, which
    # would drop the full-text index's triggers on it.
    op.create_index(
        'ix_tickets_open_updated', 'tickets', ['org_id', 'updated_at', 'id'],
        unique=False, sqlite_where=OPEN, postgresql_where=OPEN,
    )
    op.create_index(
        'ix_tickets_open_assignee_updated', 'tickets', ['org_id', 'assignee_id', 'updated_at', 'id'],
        unique=False, sqlite_where=OPEN, postgresql_where=OPEN,
    )
    op.create_index(
        'ix_tickets_status_order', 'tickets',
        ['org_id', 'status', sa.text('priority DESC'), 'created_at', 'id'], unique=False,
    )
    op.create_index(
        'ix_tickets_status_updated', 'tickets', ['org_id', 'status', 'updated_at', 'id'], unique=False,
    )


def downgrade():
    op.drop_index('ix_tickets_status_updated', table_name='tickets')
    op.drop_index('ix_tickets_status_order', table_name='tickets')
    op.drop_index('ix_tickets_open_assignee_updated', table_name='tickets')
    op.drop_index('ix_tickets_open_updated', table_name='tickets')
