"""Markdown is rendered before the write lock is taken, on every path that stores some.

The flood test (tests/api/test_no_stall.py) shows what is at stake through real gunicorn;
this one checks every entry point cheaply: each sanitizer call records whether the SQLite
write lock was held at that moment.
"""

from contextlib import contextmanager

import pytest

from helpdesk import db as helpdesk_db
from helpdesk import markdown
from helpdesk.extensions import db
from helpdesk.models import Message

from . import factories
from .conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the write lock is SQLite's; PostgreSQL locks rows")


@pytest.fixture
def renders(monkeypatch):
    """Whether the write lock was held, one entry per sanitizer call."""
    held, calls = [False], []
    write_lock, sanitize = helpdesk_db.write_lock, markdown.sanitize

    @contextmanager
    def watched_lock(database):
        with write_lock(database):
            held[0] = True
            try:
                yield
            finally:
                held[0] = False

    def watched_sanitize(html):
        calls.append(held[0])
        return sanitize(html)

    monkeypatch.setattr(helpdesk_db, "write_lock", watched_lock)
    monkeypatch.setattr(markdown, "sanitize", watched_sanitize)
    return calls


def test_the_apis_render_before_they_lock(app, client, org, renders):
    factories.make_customer(org, external_id="user_42")
    headers = {"X-API-Key": factories.make_api_key(org)[1]}
    created = client.post(
        "/api/v1/tickets/api-create", headers=headers,
        json={"customerExternalId": "user_42", "subject": "Down", "description": "It is *down*."},
    )  # fmt: skip
    assert created.status_code == 201
    reference = created.get_json()["data"]["ticketNumber"]
    message = {"role": "customer", "content": "Still **down**"}
    added = client.post(f"/api/v1/tickets/{reference}/messages", headers=headers, json=message)
    assert added.status_code == 201
    telemetron = client.post(
        "/api/ext-v1/ticket/createTicket", headers=headers,
        json={"title": "Hot", "customerEmail": "a@example.com",
              "messages": [{"role": "customer", "content": "Very *hot*"}]},
    )  # fmt: skip
    assert telemetron.status_code == 200
    assert len(renders) >= 4 and not any(renders), renders


def test_the_desks_reply_and_note_render_before_they_lock(app, org, renders):
    agent = factories.make_agent(org)
    ticket = factories.make_ticket(org)
    renders.clear()
    client = app.test_client(user=agent)
    for kind in ("reply", "note"):
        answer = client.post(f"/tickets/{ticket.reference}/messages", data={"body": "On *it*", "kind": kind})
        assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Message.id))) == 2
    assert len(renders) == 2 and not any(renders), renders
