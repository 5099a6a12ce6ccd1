"""API fixtures: an organization with a key, agents who can take tickets, a customer."""

import pytest

from helpdesk.extensions import db
from helpdesk.models import Availability, Ticket

from .. import factories


@pytest.fixture
def secret(org):
    """A live API key of `org`."""
    return factories.make_api_key(org)[1]


@pytest.fixture
def headers(secret):
    return {"X-API-Key": secret}


@pytest.fixture
def n1_agent(org):
    return factories.make_agent(
        org, name="Agent N1", email="agent@acme.com", availability=Availability.AVAILABLE
    )


@pytest.fixture
def customer(org):
    return factories.make_customer(org, external_id="user_42", email="john@acme.com")


@pytest.fixture
def api(client, headers):
    """POST/GET JSON with the key: api.post(path, json=…), api.get(path)."""

    class Api:
        def post(self, path, json=None, data=None, extra=None, **kw):
            sent = headers | (extra or {})
            if data is not None:
                return client.post(path, data=data, headers=sent | {"Content-Type": "application/json"}, **kw)
            return client.post(path, json=json, headers=sent, **kw)

        def get(self, path, **kw):
            return client.get(path, headers=headers, **kw)

    return Api()


def ticket_count() -> int:
    db.session.rollback()  # a fresh read: the app committed in its own transaction
    return db.session.scalar(db.select(db.func.count(Ticket.id)))
