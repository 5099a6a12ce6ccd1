"""search: the full-text index of tickets (FTS5 on SQLite, tsvector and GIN on
PostgreSQL), its triggers on tickets, messages and customers, and every existing
ticket's row

Revision ID: f17a0e000001
Revises: b13a0e000001
Create Date: 2026-12-07 15:30:00.000000

The statements are those of helpdesk/search_index.py as this revision was written
(migrations do not import the application).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f17a0e000001'
down_revision = 'b13a0e000001'
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search USING fts5(facets, subject, customer, description, conversation, tokenize = 'porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_insert AFTER INSERT ON tickets BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_update
    AFTER UPDATE OF org_id, subject, description, status, priority, customer_id ON tickets
    WHEN OLD.subject IS NOT NEW.subject OR OLD.description IS NOT NEW.description
      OR OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority
      OR OLD.customer_id IS NOT NEW.customer_id OR OLD.org_id IS NOT NEW.org_id
    BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_delete AFTER DELETE ON tickets BEGIN
        DELETE FROM ticket_search WHERE rowid = OLD.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_message_insert AFTER INSERT ON messages BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id = NEW.ticket_id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_message_update
    AFTER UPDATE OF body, ticket_id ON messages
    WHEN OLD.body IS NOT NEW.body OR OLD.ticket_id IS NOT NEW.ticket_id
    BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id IN (OLD.ticket_id, NEW.ticket_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_message_delete AFTER DELETE ON messages BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id = OLD.ticket_id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_customer_update
    AFTER UPDATE OF name, email, external_id ON customers
    WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email
      OR OLD.external_id IS NOT NEW.external_id
    BEGIN
        
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.org_id = NEW.org_id AND t.customer_id = NEW.id;
    END""",
]

SQLITE_BUILD = """
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE 1;"""

POSTGRESQL = [
    """CREATE TABLE IF NOT EXISTS ticket_search (
        ticket_id integer PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
        org_id integer NOT NULL,
        document tsvector NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS ix_ticket_search_document ON ticket_search USING gin (document)""",
    """CREATE INDEX IF NOT EXISTS ix_ticket_search_org ON ticket_search (org_id, ticket_id)""",
    """CREATE OR REPLACE FUNCTION ticket_search_refresh(changed integer) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO ticket_search (ticket_id, org_id, document)
        SELECT t.id, t.org_id,
               setweight(to_tsvector('english', t.subject), 'A')
            || setweight(to_tsvector('english', concat_ws(' ', c.name, c.email, c.external_id)), 'A')
            || setweight(to_tsvector('english', left(t.description, 100000)), 'B')
            || setweight(to_tsvector('english', coalesce(right((
                   SELECT string_agg(m.body, E'\\n' ORDER BY m.id) FROM messages m WHERE m.ticket_id = t.id
               ), 150000), '')), 'C')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.id = changed
        ON CONFLICT (ticket_id) DO UPDATE SET org_id = excluded.org_id, document = excluded.document
    $$""",
    """CREATE OR REPLACE FUNCTION ticket_search_ticket_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION ticket_search_message_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM ticket_search_refresh(OLD.ticket_id);
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.ticket_id <> OLD.ticket_id) THEN
            PERFORM ticket_search_refresh(NEW.ticket_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION ticket_search_customer_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(t.id) FROM tickets t
        WHERE t.org_id = NEW.org_id AND t.customer_id = NEW.id;
        RETURN NULL;
    END $$""",
    """DROP TRIGGER IF EXISTS ticket_search_ticket_insert ON tickets""",
    """CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket_changed()""",
    """DROP TRIGGER IF EXISTS ticket_search_ticket_update ON tickets""",
    """CREATE TRIGGER ticket_search_ticket_update
    AFTER UPDATE OF org_id, subject, description, customer_id ON tickets FOR EACH ROW
    WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.customer_id IS DISTINCT FROM NEW.customer_id OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION ticket_search_ticket_changed()""",
    """DROP TRIGGER IF EXISTS ticket_search_message_change ON messages""",
    """CREATE TRIGGER ticket_search_message_change
    AFTER INSERT OR DELETE OR UPDATE OF body, ticket_id ON messages
    FOR EACH ROW EXECUTE FUNCTION ticket_search_message_changed()""",
    """DROP TRIGGER IF EXISTS ticket_search_customer_update ON customers""",
    """CREATE TRIGGER ticket_search_customer_update
    AFTER UPDATE OF name, email, external_id ON customers FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
          OR OLD.external_id IS DISTINCT FROM NEW.external_id)
    EXECUTE FUNCTION ticket_search_customer_changed()""",
]

POSTGRESQL_BUILD = """
    INSERT INTO ticket_search (ticket_id, org_id, document)
    SELECT t.id, t.org_id,
           setweight(to_tsvector('english', t.subject), 'A')
        || setweight(to_tsvector('english', concat_ws(' ', c.name, c.email, c.external_id)), 'A')
        || setweight(to_tsvector('english', left(t.description, 100000)), 'B')
        || setweight(to_tsvector('english', coalesce(right(m.conversation, 150000), '')), 'C')
    FROM tickets t JOIN customers c ON c.id = t.customer_id
    LEFT JOIN (
        SELECT ticket_id, string_agg(body, E'\\n' ORDER BY id) AS conversation
        FROM messages GROUP BY ticket_id
    ) m ON m.ticket_id = t.id
    ON CONFLICT (ticket_id) DO UPDATE SET org_id = excluded.org_id, document = excluded.document
"""

SQLITE_TRIGGERS = [
    'ticket_search_ticket_insert', 'ticket_search_ticket_update', 'ticket_search_ticket_delete',
    'ticket_search_message_insert', 'ticket_search_message_update', 'ticket_search_message_delete',
    'ticket_search_customer_update',
]
POSTGRESQL_TRIGGERS = [
    ('ticket_search_ticket_insert', 'tickets'), ('ticket_search_ticket_update', 'tickets'),
    ('ticket_search_message_change', 'messages'), ('ticket_search_customer_update', 'customers'),
]
POSTGRESQL_FUNCTIONS = [
    'ticket_search_refresh(integer)', 'ticket_search_ticket_changed()',
    'ticket_search_message_changed()', 'ticket_search_customer_changed()',
]


def upgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for statement in SQLITE if sqlite else POSTGRESQL:
        op.execute(statement)
    op.execute(SQLITE_BUILD if sqlite else POSTGRESQL_BUILD)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    else:
        for name, table in POSTGRESQL_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
        for function in POSTGRESQL_FUNCTIONS:
            op.execute(f'DROP FUNCTION IF EXISTS {function}')
    op.execute('DROP TABLE IF EXISTS ticket_search')
