"""Parallel clients against real gunicorn workers: numbers, balance, quota and idempotency.

Runs on the test database (SQLite file, or PostgreSQL with HELPDESK_TEST_DATABASE_URL).
"""

import threading
from collections import Counter

import pytest
import requests

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Availability, Organization, Ticket

from .. import factories

V1 = "/api/v1/tickets/api-create"
CLIENTS = 16


def fire(url: str, bodies_per_client: list[list[dict]], headers: dict) -> list[requests.Response]:
    """Each client posts its bodies in order on its own connection; all start together."""
    results: list[list] = [[] for _ in bodies_per_client]
    start = threading.Barrier(len(bodies_per_client))

    def client(index: int) -> None:
        with requests.Session() as session:
            start.wait()
            for body in bodies_per_client[index]:
                try:
                    results[index].append(session.post(url, json=body, headers=headers, timeout=60))
                except requests.RequestException as error:  # counted as a failure below
                    results[index].append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies_per_client))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return [response for per_client in results for response in per_client]


def statuses(responses) -> Counter:
    return Counter(getattr(r, "status_code", type(r).__name__) for r in responses)


@pytest.mark.slow
def test_16_clients_x_40_creations_number_consecutively_and_balance_4_agents(live_server, org):
    per_client = 40
    agents = [
        factories.make_agent(org, availability=Availability.AVAILABLE, capacity=1000) for _ in range(4)
    ]
    factories.make_agent(org, availability=Availability.AWAY, capacity=1000)  # never picked
    factories.make_customer(org, external_id="user_42")
    headers = {"X-API-Key": factories.make_api_key(org)[1]}
    bodies = [
        [{"customerExternalId": "user_42", "subject": f"c{c} #{n}", "description": "Down."}
         for n in range(per_client)]
        for c in range(CLIENTS)
    ]  # fmt: skip

    responses = fire(live_server.url + V1, bodies, headers)

    assert statuses(responses) == {201: CLIENTS * per_client}
    numbers = sorted(int(r.json()["data"]["ticketNumber"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(1, CLIENTS * per_client + 1))
    assert all(r.json()["data"]["status"] == "IN_PROGRESS" for r in responses)
    db.session.rollback()
    loads = Counter(db.session.scalars(db.select(Ticket.assignee_id)).all())
    assert None not in loads
    assert set(loads) == {agent.id for agent in agents}
    assert max(loads.values()) - min(loads.values()) <= 2, loads


@pytest.mark.slow
def test_monthly_quota_is_exact_under_concurrency(live_server, org):
    quota = 30
    with write_transaction():
        db.session.get(Organization, org.id).monthly_quota = quota
    factories.make_customer(org, external_id="user_42")
    headers = {"X-API-Key": factories.make_api_key(org)[1]}
    body = {"customerExternalId": "user_42", "subject": "Quota", "description": "x"}

    responses = fire(live_server.url + V1, [[body] * 4 for _ in range(CLIENTS)], headers)

    assert statuses(responses) == {201: quota, 403: CLIENTS * 4 - quota}
    refused = [r.json() for r in responses if r.status_code == 403]
    assert {r["error"]["code"] for r in refused} == {"PLAN_LIMIT_REACHED"}
    db.session.rollback()
    numbers = db.session.scalars(db.select(Ticket.number).order_by(Ticket.number)).all()
    assert numbers == list(range(1, quota + 1))


@pytest.mark.slow
@pytest.mark.parametrize("path", [V1, "/api/ext-v1/ticket/createTicket"])
def test_concurrent_retries_with_one_key_create_exactly_one_ticket(live_server, org, path):
    factories.make_customer(org, external_id="user_42")
    headers = {"X-API-Key": factories.make_api_key(org)[1], "Idempotency-Key": "retry-me"}
    body = (
        {"customerExternalId": "user_42", "subject": "Once", "description": "x"}
        if path == V1
        else {"title": "Once", "customerEmail": "new.customer@example.org"}
    )

    responses = fire(live_server.url + path, [[body] * 2 for _ in range(CLIENTS)], headers)

    assert len(statuses(responses)) == 1 and list(statuses(responses))[0] in (200, 201)
    assert len({r.text for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == CLIENTS * 2 - 1
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 1
