"""Our creation's statements without the framework: a reference side for bench/api_create.py.

It runs the SQL that POST /api/v1/tickets/api-create runs for the bench's body, on the
same schema and the same seeded database, with the same write handling (helpdesk.db's
`write_lock`, then BEGIN IMMEDIATE), and renders the description with the same
Markdown renderer. It skips what the framework adds: SQLAlchemy's sessions and statement
execution, pydantic, Flask's extensions. Its validation is a few checks by hand and it
serves only the bench's case (a known customer, no rules, agents available); it is not a
second way to create tickets, only a measure of how fast our statements can run here.

Served by gunicorn from bench/api_create.py --raw:
`gunicorn 'bench.raw_create:create_app()'` with RAW_DATABASE (a database `seed` made).
"""

import hashlib
import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request

from helpdesk.db import write_lock
from helpdesk.markdown import render_markdown
from helpdesk.models import Priority

READS = {
    "key": "SELECT id, org_id, name, revoked_at FROM api_keys WHERE key_hash = ?",
    "customer": "SELECT id, public_id, external_id, email, name FROM customers "
    "WHERE org_id = ? AND external_id = ?",
    "rules": "SELECT name, conditions, actions, stop FROM routing_rules "
    "WHERE org_id = ? AND active IS 1 ORDER BY position, id",
    "webhooks": "SELECT id, events FROM webhooks WHERE org_id = ? AND active IS 1",
}
NEXT_NUMBER = (
    "UPDATE organizations SET ticket_seq = ticket_seq + 1 WHERE id = ? "
    "RETURNING ticket_seq, ticket_prefix, monthly_quota"
)
PICK_AGENT = (
    "SELECT agents.id, agents.public_id, agents.name, agents.email FROM agents "
    "LEFT OUTER JOIN tickets ON tickets.org_id = agents.org_id "
    "AND tickets.assignee_id = agents.id AND tickets.status IN ('OPEN', 'IN_PROGRESS', 'WAITING') "
    "WHERE agents.org_id = ? AND agents.active IS 1 AND agents.level = 'N1' "
    "AND agents.availability = 'available' GROUP BY agents.id "
    "HAVING count(tickets.id) < agents.capacity "
    "ORDER BY count(tickets.id), agents.last_assigned_at ASC NULLS FIRST, agents.id LIMIT 1"
)
INSERT_TICKET = (
    "INSERT INTO tickets (public_id, org_id, number, subject, description, description_html, "
    "status, priority, channel, level, metadata, customer_id, assignee_id, created_at, "
    "updated_at, assigned_at) VALUES (?, ?, ?, ?, ?, ?, 'IN_PROGRESS', ?, 'API', 'N1', ?, ?, ?, ?, ?, ?)"
)
INSERT_EVENT = (
    "INSERT INTO ticket_events (org_id, ticket_id, actor_label, action, field, new_value, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ASSIGNED_LAST = "UPDATE agents SET last_assigned_at = ? WHERE id = ?"
INSERT_NOTIFICATION = (
    "INSERT INTO notifications (org_id, agent_id, ticket_id, kind, text, created_at) "
    "VALUES (?, ?, ?, 'assigned', ?, ?)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (org_id, kind, payload, status, attempts, next_attempt_at, created_at) "
    "VALUES (?, 'email', ?, 'pending', 0, ?, ?)"
)
INSERT_LIVE = (
    "INSERT INTO live_events (org_id, agent_id, kind, ticket_id, created_at) "
    "VALUES (?, ?, 'assigned', ?, ?)"
)
def iso(stored: str) -> str:
    """'2026-11-24 06:37:27.150760' as the contract writes times: '2026-11-24T06:37:27.150Z'."""
    return f"{stored[:10]}T{stored[11:23]}Z"


def write(db: sqlite3.Connection, org_id: int, key_name: str, body: dict, customer_id: int, html: str):
    """The statements of the write transaction; the ticket's id, reference, agent, time."""
    number, prefix, _quota = db.execute(NEXT_NUMBER, (org_id,)).fetchone()
    agent = db.execute(PICK_AGENT, (org_id,)).fetchone()
    now, public_id = datetime.now(UTC).replace(tzinfo=None).isoformat(" "), str(uuid.uuid4())
    reference = f"{prefix}-{number}"
    ticket = (
        public_id, org_id, number, body["subject"], body["description"], html,
        Priority(body.get("priority", "MEDIUM")).rank, json.dumps(body.get("metadata") or {}),
        customer_id, agent[0], now, now, now,
    )  # fmt: skip
    ticket_id = db.execute(INSERT_TICKET, ticket).lastrowid
    db.execute(INSERT_EVENT, (org_id, ticket_id, f"API key {key_name}", "created", None, reference, now))
    db.execute(ASSIGNED_LAST, (now, agent[0]))
    db.execute(INSERT_EVENT, (org_id, ticket_id, "Auto-assignment", "assigned", "assignee", agent[2], now))
    text = f"{reference} assigned to you: {body['subject']}"
    db.execute(INSERT_NOTIFICATION, (org_id, agent[0], ticket_id, text, now))
    email = {"template": "assigned", "to": agent[3], "agent_id": agent[0], "ticket_id": ticket_id}
    db.execute(INSERT_OUTBOX, (org_id, json.dumps(email), now, now))
    db.execute(INSERT_LIVE, (org_id, agent[0], ticket_id, now))
    return public_id, reference, agent, now


def create_app() -> Flask:
    app = Flask(__name__)
    database = os.environ["RAW_DATABASE"]
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                local.connection.execute(f"PRAGMA {pragma}")
        return local.connection

    def invalid(field: str):
        return jsonify({"success": False, "error": {"code": "VALIDATION_ERROR", "field": field}}), 400

    @app.post("/api/v1/tickets/api-create")
    def create():
        db = connection()
        secret = request.headers.get("X-API-Key", "")
        db.execute("BEGIN")
        try:
            key = db.execute(READS["key"], (hashlib.sha256(secret.encode()).hexdigest(),)).fetchone()
            if key is None or key[3] is not None:
                return jsonify({"success": False, "error": {"code": "UNAUTHORIZED"}}), 401
            org_id, body = key[1], request.get_json()
            for field in ("customerExternalId", "subject", "description"):
                if not isinstance(body.get(field), str) or not body[field].strip():
                    return invalid(field)
            if body.get("priority", "MEDIUM") not in Priority.__members__:
                return invalid("priority")
            customer = db.execute(READS["customer"], (org_id, body["customerExternalId"])).fetchone()
            db.execute(READS["rules"], (org_id,)).fetchall()
            db.execute(READS["webhooks"], (org_id,)).fetchall()
        finally:
            db.execute("COMMIT")
        html = render_markdown(body["description"])
        with write_lock(database):
            db.execute("BEGIN IMMEDIATE")
            try:
                public_id, reference, agent, now = write(db, org_id, key[2], body, customer[0], html)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        customer_out = {"id": customer[1], "externalId": customer[2], "email": customer[3]}
        agent_out = {"id": agent[1], "name": agent[2], "email": agent[3]}
        data = {
            "id": public_id, "ticketNumber": reference, "subject": body["subject"],
            "status": "IN_PROGRESS", "priority": body.get("priority", "MEDIUM"), "channel": "API",
            "customer": customer_out, "assignedAgent": agent_out, "createdAt": iso(now),
        }  # fmt: skip
        return jsonify({"success": True, "data": data, "timestamp": iso(now)}), 201

    return app
