"""The migrations build the same schema as the models, on an empty database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from helpdesk import config, create_app
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
            context = MigrationContext.configure(connection, opts={"compare_type": True})
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



