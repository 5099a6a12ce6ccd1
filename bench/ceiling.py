"""The naive ceiling for ticket creation: a bare Flask endpoint that parses the JSON and
inserts one row with SQLAlchemy (BEGIN IMMEDIATE, per-org MAX(number)+1, WAL).

Writers wait for SQLite's lock in its busy handler, as most apps do. Served by gunicorn
from bench/api_create.py: `gunicorn 'bench.ceiling:create_app()'` with CEILING_DATABASE.
"""

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, event, text

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    subject VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (org_id, number)
)
"""


def create_app() -> Flask:
    """One endpoint, one table, one row per request."""
    app = Flask(__name__)
    engine = create_engine("sqlite:///" + os.environ["CEILING_DATABASE"])

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    with engine.connect() as connection:
        connection.exec_driver_sql(SCHEMA)

    @app.post("/create")
    def create():
        payload = request.get_json()
        with engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                number = connection.execute(
                    text("SELECT COALESCE(MAX(number), 0) + 1 FROM tickets WHERE org_id = 1")
                ).scalar_one()
                connection.execute(
                    text(
                        "INSERT INTO tickets (org_id, number, subject, description) "
                        "VALUES (1, :number, :subject, :description)"
                    ),
                    {"number": number, "subject": payload["subject"], "description": payload["description"]},
                )
                connection.exec_driver_sql("COMMIT")
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
        return jsonify({"success": True, "number": number}), 201

    return app
