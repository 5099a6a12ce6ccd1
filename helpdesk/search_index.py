"""The full-text index of tickets, kept in step by database triggers.

One row per ticket, `ticket_search`, holding its subject, its customer's name, email and
externalId, its description and every message and internal note. Triggers on `tickets`,
`messages` and `customers` rewrite a ticket's row whenever any of that changes, in the
transaction of the change, so no service has to know the index exists (and nothing that
writes with plain SQL can leave it behind).

SQLite: an FTS5 table whose rowid is the ticket's id. Its `facets` column holds the
organization, status and priority as words (`o12 sopen p3`), so that a search matches
within one organization and filter inside the index itself, and a page can stop after
the newest matches (see search.py) without reading other organizations' rows.

PostgreSQL: a table of (ticket_id, org_id, document tsvector) with a GIN index. The
document spans four tables, which a generated column or an expression index cannot
(they see one row), so triggers maintain it. Subject and customer weigh most (A), the
description next (B), the conversation least (C). A tsvector holds at most 1 MB of
lexemes: a document takes the first 100,000 characters of the description and the
latest 150,000 of the conversation, so a huge thread never fails a reply.

`install` runs after `db.create_all()` (a DDL event on the metadata); the migration
f17a0e000001 creates the same and builds the index for existing tickets. The index is no
model: Alembic's comparison skips it (`include_name`). A migration that rebuilds
`tickets`, `messages` or `customers` (batch mode on SQLite) drops their triggers and must
call `install` again.
"""

from sqlalchemy import Connection

TABLE = "ticket_search"
TRIGGER_PREFIX = "ticket_search_"


def include_name(name, type_, parent_names) -> bool:
    """For Alembic: the index and FTS5's own tables are not in the models."""
    return not (type_ == "table" and name and name.startswith(TABLE))


def _sqlite_refresh(where: str) -> str:
    """Rewrite the index row of the tickets `where` selects (aliases t, c)."""
    return f"""
        INSERT OR REPLACE INTO ticket_search (rowid, facets, subject, customer, description, conversation)
        SELECT t.id,
               'o' || t.org_id || ' s' || lower(replace(t.status, '_', '')) || ' p' || t.priority,
               t.subject,
               coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.external_id, ''),
               t.description,
               coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.ticket_id = t.id), '')
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE {where};"""


SQLITE = [
    # Porter stemming: "refunds" finds "refund"; remove_diacritics: "cafe" finds "café".
    "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search USING fts5("
    "facets, subject, customer, description, conversation,"
    " tokenize = 'porter unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_insert AFTER INSERT ON tickets BEGIN
        {_sqlite_refresh("t.id = NEW.id")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_update
    AFTER UPDATE OF org_id, subject, description, status, priority, customer_id ON tickets
    WHEN OLD.subject IS NOT NEW.subject OR OLD.description IS NOT NEW.description
      OR OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority
      OR OLD.customer_id IS NOT NEW.customer_id OR OLD.org_id IS NOT NEW.org_id
    BEGIN
        {_sqlite_refresh("t.id = NEW.id")}
    END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_search_ticket_delete AFTER DELETE ON tickets BEGIN
        DELETE FROM ticket_search WHERE rowid = OLD.id;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_message_insert AFTER INSERT ON messages BEGIN
        {_sqlite_refresh("t.id = NEW.ticket_id")}
    END""",
    # A message moved to another ticket (a merge) leaves one index row and joins another.
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_message_update
    AFTER UPDATE OF body, ticket_id ON messages
    WHEN OLD.body IS NOT NEW.body OR OLD.ticket_id IS NOT NEW.ticket_id
    BEGIN
        {_sqlite_refresh("t.id IN (OLD.ticket_id, NEW.ticket_id)")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_message_delete AFTER DELETE ON messages BEGIN
        {_sqlite_refresh("t.id = OLD.ticket_id")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS ticket_search_customer_update
    AFTER UPDATE OF name, email, external_id ON customers
    WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email
      OR OLD.external_id IS NOT NEW.external_id
    BEGIN
        {_sqlite_refresh("t.org_id = NEW.org_id AND t.customer_id = NEW.id")}
    END""",
]

SQLITE_TRIGGERS = [
    "ticket_search_ticket_insert", "ticket_search_ticket_update", "ticket_search_ticket_delete",
    "ticket_search_message_insert", "ticket_search_message_update", "ticket_search_message_delete",
    "ticket_search_customer_update",
]  # fmt: skip

# Every ticket's row, in one statement: for existing data, and after a bulk load.
SQLITE_BUILD = _sqlite_refresh("1")

POSTGRESQL = [
    """CREATE TABLE IF NOT EXISTS ticket_search (
        ticket_id integer PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
        org_id integer NOT NULL,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_document ON ticket_search USING gin (document)",
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_org ON ticket_search (org_id, ticket_id)",
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
    "DROP TRIGGER IF EXISTS ticket_search_ticket_insert ON tickets",
    """CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket_changed()""",
    "DROP TRIGGER IF EXISTS ticket_search_ticket_update ON tickets",
    """CREATE TRIGGER ticket_search_ticket_update
    AFTER UPDATE OF org_id, subject, description, customer_id ON tickets FOR EACH ROW
    WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.customer_id IS DISTINCT FROM NEW.customer_id OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION ticket_search_ticket_changed()""",
    "DROP TRIGGER IF EXISTS ticket_search_message_change ON messages",
    """CREATE TRIGGER ticket_search_message_change
    AFTER INSERT OR DELETE OR UPDATE OF body, ticket_id ON messages
    FOR EACH ROW EXECUTE FUNCTION ticket_search_message_changed()""",
    "DROP TRIGGER IF EXISTS ticket_search_customer_update ON customers",
    """CREATE TRIGGER ticket_search_customer_update
    AFTER UPDATE OF name, email, external_id ON customers FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
          OR OLD.external_id IS DISTINCT FROM NEW.external_id)
    EXECUTE FUNCTION ticket_search_customer_changed()""",
]

# The same document as ticket_search_refresh, for every ticket in one statement.
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


def install(connection: Connection) -> None:
    """Create the index and its triggers if missing (idempotent)."""
    statements = SQLITE if connection.dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        connection.exec_driver_sql(statement)


def build(connection: Connection) -> None:
    """Write every ticket's index row (after a bulk load that bypassed the triggers)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DELETE FROM ticket_search")
        connection.exec_driver_sql(SQLITE_BUILD)
    else:
        connection.exec_driver_sql(POSTGRESQL_BUILD)


def drop_triggers(connection: Connection) -> None:
    """For bulk loads: no per-row index upkeep; call `build` and `install` afterwards."""
    if connection.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, table in (
            ("ticket_search_ticket_insert", "tickets"), ("ticket_search_ticket_update", "tickets"),
            ("ticket_search_message_change", "messages"), ("ticket_search_customer_update", "customers"),
        ):  # fmt: skip
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")


def after_create(_metadata, connection: Connection, **_kw) -> None:
    """`db.create_all()` (tests, a fresh schema) gets the index too."""
    install(connection)
