"""Fixtures: a fresh app and database per test, on SQLite or PostgreSQL.

Set HELPDESK_TEST_DATABASE_URL to a PostgreSQL URL to run every database test there;
without it each test gets its own SQLite file.
"""

import os

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from helpdesk import auth, classify, create_app
from helpdesk.db import write_transaction
from helpdesk.extensions import db

from . import factories

PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (a file per test)'}"


@pytest.fixture(scope="session")
def pg_schema():
    """On PostgreSQL: an empty public schema with the tables, made once per session."""
    if not PG_URL:
        yield None
        return
    reset_postgres(PG_URL)
    app = create_app({"SECRET_KEY": "test", "TESTING": True, "DATABASE_URL": PG_URL})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield PG_URL


def reset_postgres(url: str) -> None:
    """Drop every table in the public schema."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def app_config(tmp_path, database_url=None) -> dict:
    return {
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://helpdesk.test",
        # Real hashing, at a cost fit for tests (production uses scrypt).
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


class SignedInClient(FlaskClient):
    """`app.test_client(user=agent)`: a client signed in as `agent` through a real
    server-side session (what Flask-Login's FlaskLoginClient does, for our sessions)."""

    def __init__(self, *args, user=None, fresh_login=True, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            with write_transaction():
                agent = db.session.merge(user)
                auth.start_session(agent)
            with self.session_transaction() as session:
                session["_user_id"] = agent.session_key
                session["_fresh"] = fresh_login


@pytest.fixture
def database_url(tmp_path, pg_schema):
    return pg_schema or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, database_url))
    app.test_client_class = SignedInClient
    with app.app_context():
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()
        classify.forget()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def org(app):
    return factories.make_org()


@pytest.fixture
def agent(org):
    return factories.make_agent(org=org)


@pytest.fixture
def agent_client(app, agent):
    return app.test_client(user=agent)


@pytest.fixture
def live_server(app, database_url, tmp_path):
    """Gunicorn (2 workers × 4 threads) serving the test's own database; yields its URL.

    Data made with the factories before or during the test is what the server sees.
    Call `live_server.restart(**settings)` for other HELPDESK_* settings.
    """
    from . import servers

    class Live:
        url: str

    live = Live()
    stack = []

    def start(**settings):
        env = servers.helpdesk_env(tmp_path / "instance", database_url, **settings)
        env.setdefault("HELPDESK_RATELIMIT_ENABLED", "0")
        env.setdefault("HELPDESK_BASE_URL", "http://helpdesk.test")
        manager = servers.gunicorn(env, log=tmp_path / "gunicorn.log")
        live.url = manager.__enter__()
        stack.append(manager)

    def restart(**settings):
        while stack:
            stack.pop().__exit__(None, None, None)
        start(**settings)
        return live.url

    live.restart = restart
    start()
    yield live
    while stack:
        stack.pop().__exit__(None, None, None)
