import pytest

from helpdesk import create_app


def test_test_config_overrides_defaults(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret"
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HELPDESK_SECRET_KEY", "from-env")
    monkeypatch.setenv("HELPDESK_BASE_URL", "https://support.example.com")
    monkeypatch.setenv("HELPDESK_RATELIMIT_ENABLED", "0")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["BASE_URL"] == "https://support.example.com"
    assert not app.config["RATELIMIT_ENABLED"]
    assert app.instance_path == str(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'helpdesk.db'}"


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("HELPDESK_SECRET_KEY", raising=False)
    (tmp_path / "config.py").write_text('SECRET_KEY = "from-file"\nBASE_URL = "https://x.test"\n')
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["BASE_URL"] == "https://x.test"


def test_missing_secret_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("HELPDESK_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="secret key"):
        create_app()


def test_postgres_urls_use_psycopg3(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "postgresql://u@127.0.0.1/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_sqlite_connections_are_tuned(app):
    from helpdesk.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas apply to SQLite only")
    with db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30000
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("wal_autocheckpoint") == 0  # the Checkpointer thread does it


def test_the_write_ahead_log_stops_growing_under_continuous_writes(app, org):
    """No commit checkpoints, yet the log is copied back and restarted, not grown forever."""
    import os
    import time

    from helpdesk.db import Checkpointer, checkpointers, write_transaction
    from helpdesk.extensions import db
    from helpdesk.models import LiveEvent

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    wal = db.engine.url.database + "-wal"

    def write_many(count: int) -> None:
        for _ in range(count):
            with write_transaction():
                db.session.add(LiveEvent(org_id=org.id, kind="x" * 20))
                db.session.add_all(LiveEvent(org_id=org.id, kind="queue") for _ in range(50))
            time.sleep(0.002)  # leave the checkpointer its turns, as real traffic does

    write_many(Checkpointer.EVERY * 2)
    settled = os.path.getsize(wal)
    write_many(Checkpointer.EVERY * 8)
    # Four times the writes again, yet the log is no bigger than a few rounds' worth.
    assert os.path.getsize(wal) <= settled * 2
    checkpointed = checkpointers[db.engine].thread
    assert checkpointed is not None and checkpointed.name == "wal-checkpoint"


def test_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # The login form carries a CSRF token: never cached. Static files may be.
    assert response.headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    assert static.status_code == 200
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_queue_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_passwords_are_hashed_with_scrypt_outside_tests(tmp_path, monkeypatch):
    from helpdesk import accounts
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db

    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    with app.app_context():
        db.create_all()
        with write_transaction():
            org = accounts.create_org("P", "p", "P")
            agent = accounts.create_agent(org, email="p@example.com", name="P", password="long-enough")
        assert agent.password_hash.startswith("scrypt:")
        db.engine.dispose()
