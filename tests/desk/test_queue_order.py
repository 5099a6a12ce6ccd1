"""The queues' "Last updated first" order, their category and update columns, and capped counts."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from helpdesk.db import write_transaction
from helpdesk.desk import queue
from helpdesk.extensions import db
from helpdesk.models import Status, Ticket, utcnow

from .. import factories
from .conftest import HX, by_id, parse


def refs(response) -> list[str]:
    assert response.status_code == 200, response.text
    rows = by_id(parse(response.text), "queue").find_all(lambda n: n.tag == "tr" and n.has("data-ticket"))
    return [row.get("data-ticket") for row in rows]


def touched(ticket, minutes_ago: int) -> None:
    with write_transaction():
        db.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(updated_at=utcnow() - timedelta(minutes=minutes_ago))
        )


@pytest.fixture
def three(org):
    urgent = factories.make_ticket(org, subject="Urgent one", priority="URGENT", category="Billing")
    low = factories.make_ticket(org, subject="Low one", priority="LOW")
    high = factories.make_ticket(org, subject="High one", priority="HIGH", category="Hardware")
    touched(urgent, 30)
    touched(low, 1)
    touched(high, 10)
    return urgent, low, high


@pytest.mark.parametrize("partial", [False, True])
def test_last_updated_first(agent_client, three, partial):
    urgent, low, high = three
    headers = HX if partial else {}
    assert refs(agent_client.get("/?queue=open", headers=headers)) == [
        urgent.reference,
        high.reference,
        low.reference,
    ]
    assert refs(agent_client.get("/?queue=open&sort=updated", headers=headers)) == [
        low.reference, high.reference, urgent.reference
    ]  # fmt: skip
    assert refs(agent_client.get("/?queue=unassigned&sort=updated", headers=headers))[0] == low.reference


def test_last_updated_first_with_a_status_filter(agent_client, three):
    urgent, low, high = three
    with write_transaction():
        db.session.execute(update(Ticket).where(Ticket.id != high.id).values(status=Status.CLOSED))
    touched(urgent, 0)
    assert refs(agent_client.get("/?queue=open&status=CLOSED&sort=updated")) == [
        urgent.reference,
        low.reference,
    ]
    assert refs(agent_client.get("/?queue=open&status=CLOSED")) == [urgent.reference, low.reference]


def test_the_order_survives_tabs_and_pages(agent_client, three):
    root = parse(agent_client.get("/?queue=open&sort=updated").text)
    tabs = root.find_all(lambda n: n.tag == "a" and n.parent and n.parent.get("class") == "tabs")
    assert all("sort=updated" in tab.get("href") for tab in tabs)
    (option,) = root.find_all(
        lambda n: n.tag == "option" and n.has("selected") and n.get("value") == "updated"
    )
    assert option.all_text() == "Last updated first"


def test_a_bad_order_is_a_422_naming_it(agent_client):
    response = agent_client.get("/?sort=sideways")
    assert response.status_code == 422 and "sort:" in response.text


def test_category_and_update_columns(agent_client, three):
    root = parse(agent_client.get("/?queue=open").text)
    table = by_id(root, "queue")
    headers = [th.all_text() for th in table.find_all(lambda n: n.tag == "th")][1:]
    assert headers == [
        "Ticket",
        "Subject",
        "Customer",
        "Category",
        "Priority",
        "Status",
        "Assignee",
        "Age",
        "Updated",
    ]
    categories = [
        td.all_text() for td in table.find_all(lambda n: n.tag == "td" and n.get("class") == "category")
    ]
    assert categories == ["Billing", "Hardware", "—"]
    updated = [
        td.all_text() for td in table.find_all(lambda n: n.tag == "td" and n.get("class") == "updated")
    ]
    assert updated == ["30 min ago", "10 min ago", "1 min ago"]


def test_counts_stop_at_the_cap_and_pages_go_on(agent_client, org, monkeypatch):
    made = [factories.make_ticket(org, subject=f"T {n}") for n in range(7)]
    monkeypatch.setattr(queue, "COUNT_CAP", 4)
    monkeypatch.setattr(queue, "PAGE_SIZE", 3)
    page = agent_client.get("/?queue=open")
    root = parse(page.text)
    count = root.find_all(lambda n: n.get("data-queue-count") == "open")[0].all_text()
    assert count == "4+"
    assert "Page 1</span>" in page.text and "Page 1 of" not in page.text
    assert 'rel="next"' in page.text
    seen = [ref for number in (1, 2, 3) for ref in refs(agent_client.get(f"/?queue=open&page={number}"))]
    assert sorted(seen) == sorted(ticket.reference for ticket in made)
    last = agent_client.get("/?queue=open&page=3")
    assert 'rel="next"' not in last.text and 'rel="prev"' in last.text
    monkeypatch.setattr(queue, "COUNT_CAP", 1000)
    assert "Page 1 of 3" in agent_client.get("/?queue=open").text
