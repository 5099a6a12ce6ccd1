"""admin: key scopes, archived categories, last sign-in, classifier threshold, the admin
audit log, and category and tag names unique per organization ignoring case (today's
case duplicates merge into the oldest of each)

Revision ID: d13a0e000001
Revises: c15a0e000001
Create Date: 2026-12-07 06:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd13a0e000001'
down_revision = 'c15a0e000001'
branch_labels = None
depends_on = None


def _merge_case_duplicates(connection, table, ticket_column=None, link_table=None):
    """Give every row its lower-cased `name_key`; fold duplicates into the oldest row.

    Tickets (through `ticket_column` on tickets, or the `link_table` of tags) move to the
    kept row; the duplicates are deleted.
    """
    rows = connection.execute(sa.text(f"SELECT id, org_id, name FROM {table} ORDER BY id")).all()
    kept = {}
    for row in rows:
        key = row.name.strip().lower()
        survivor = kept.setdefault((row.org_id, key), row.id)
        if survivor == row.id:
            connection.execute(
                sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id"), {"key": key, "id": row.id}
            )
            continue
        ids = {"old": row.id, "new": survivor}
        if ticket_column is not None:
            connection.execute(
                sa.text(f"UPDATE tickets SET {ticket_column} = :new WHERE {ticket_column} = :old"), ids
            )
        if link_table is not None:
            connection.execute(
                sa.text(
                    f"INSERT INTO {link_table} (ticket_id, tag_id) SELECT ticket_id, :new FROM {link_table} "
                    f"WHERE tag_id = :old AND ticket_id NOT IN "
                    f"(SELECT ticket_id FROM {link_table} WHERE tag_id = :new)"
                ),
                ids,
            )
            connection.execute(sa.text(f"DELETE FROM {link_table} WHERE tag_id = :old"), ids)
        connection.execute(sa.text(f"DELETE FROM {table} WHERE id = :old"), ids)


def upgrade():
    op.create_table(
        'admin_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sa.String(length=120), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('old_value', sa.Text(), nullable=True),
        sa.Column('new_value', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['agents.id'], name=op.f('fk_admin_events_actor_id_agents')),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_admin_events_org_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_events')),
    )
    op.create_index('ix_admin_events_org', 'admin_events', ['org_id', 'id'], unique=False)

    # Plain ADD COLUMNs and indexes: on SQLite anything more rebuilds the table, which
    # cannot drop a table that tickets refer to while foreign keys are on.
    op.add_column('api_keys', sa.Column('scope', sa.String(length=20), server_default='tickets', nullable=False))
    op.add_column('agents', sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('organizations', sa.Column('classifier_threshold', sa.Float(), nullable=True))
    op.add_column('categories', sa.Column('name_key', sa.String(length=100), nullable=True))
    op.add_column('categories', sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tags', sa.Column('name_key', sa.String(length=60), nullable=True))

    connection = op.get_bind()
    _merge_case_duplicates(connection, 'categories', ticket_column='category_id')
    _merge_case_duplicates(connection, 'tags', link_table='ticket_tags')

    op.create_index('uq_categories_org_name_key', 'categories', ['org_id', 'name_key'], unique=True)
    op.create_index('uq_tags_org_name_key', 'tags', ['org_id', 'name_key'], unique=True)


def downgrade():
    op.drop_index('uq_tags_org_name_key', table_name='tags')
    op.drop_index('uq_categories_org_name_key', table_name='categories')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_column('name_key')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('name_key')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('classifier_threshold')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('last_sign_in_at')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('scope')
    op.drop_index('ix_admin_events_org', table_name='admin_events')
    op.drop_table('admin_events')
