"""former prefixes: an organization remembers the ticket prefixes it had, so that
references made before a prefix change keep resolving

Revision ID: b13a0e000001
Revises: d13a0e000001
Create Date: 2026-12-07 12:05:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b13a0e000001'
down_revision = 'd13a0e000001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('organizations', sa.Column('former_prefixes', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('former_prefixes')
