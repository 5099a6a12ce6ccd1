"""The migrations build the same schema as the models, on an empty database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from helpdesk import config, create_app, search_index
from helpdesk.extensions import db

from .conftest import PG_URL, reset_postgres


@pytest.fixture
def empty_app(tmp_path, monkeypatch, pg_schema):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    url = PG_URL or f"sqlite:///{tmp_path / 'migrated.db'}"
    if PG_URL:
        reset_postgres(PG_URL)
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": url})
    yield app
    if PG_URL:
        # Leave the schema as the session fixture made it for the tests that follow.
        with app.app_context():
            db.engine.dispose()
        reset_postgres(PG_URL)
        with app.app_context():
            db.create_all()
            db.engine.dispose()


def test_upgrade_on_empty_database_matches_models(empty_app):
    with empty_app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
        tables = set(inspect(db.engine).get_table_names())
        assert {"tickets", "organizations", "outbox", "ticket_events"} <= tables
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": search_index.include_name}
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        db.engine.dispose()


def test_upgrade_twice_is_harmless(empty_app):
    with empty_app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
        upgrade(directory=str(config.MIGRATIONS))
        db.engine.dispose()


def test_migrations_do_not_import_application_code():
    for path in (config.MIGRATIONS / "versions").glob("*.py"):
        assert "helpdesk." not in path.read_text(), path.name





def test_search_migration_indexes_existing_tickets_and_keeps_up(empty_app):
    from sqlalchemy import text

    from helpdesk import search

    now = "2026-12-01 10:00:00"
    with empty_app.app_context():
        upgrade(directory=str(config.MIGRATIONS), revision="b13a0e000001")
        run = lambda sql, **p: db.session.execute(text(sql), p)  # noqa: E731
        run(
            "INSERT INTO organizations (id, public_id, name, slug, ticket_prefix, ticket_seq, created_at)"
            " VALUES (1, 'o1', 'Org', 'org', 'T', 1, :now)", now=now,
        )  # fmt: skip
        run(
            "INSERT INTO customers (id, public_id, org_id, name, created_at)"
            " VALUES (1, 'c1', 1, 'Hortense Mobley', :now)", now=now,
        )  # fmt: skip
        run(
            "INSERT INTO tickets (id, public_id, org_id, number, subject, description,"
            " description_html, status, priority, channel, level, metadata, customer_id,"
            " created_at, updated_at)"
            " VALUES (1, 't1', 1, 1, 'Printer', 'toner everywhere', '', 'CLOSED', 2, 'API', 'N1',"
            " '{}', 1, :now, :now)", now=now,
        )  # fmt: skip
        run(
            "INSERT INTO messages (id, public_id, org_id, ticket_id, role, body, body_html, internal,"
            " created_at)"
            " VALUES (1, 'm1', 1, 1, 'CUSTOMER', 'the drum squeaks', '', false, :now)", now=now,
        )  # fmt: skip
        db.session.commit()

        upgrade(directory=str(config.MIGRATIONS))
        for word in ("toner", "squeaks", "mobley", "printer"):
            assert [row.id for row in search.search(1, word).tickets] == [1], word
        run(
            "INSERT INTO messages (id, public_id, org_id, ticket_id, role, body, body_html, internal,"
            " created_at)"
            " VALUES (2, 'm2', 1, 1, 'AGENT', 'replaced the fuser', '', true, :now)", now=now,
        )  # fmt: skip
        db.session.commit()
        assert [row.id for row in search.search(1, "fuser").tickets] == [1]
        db.session.remove()
        db.engine.dispose()
