"""Bulk actions: all selected tickets change in one transaction, or none do."""

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketEvent

from .. import factories
from .conftest import HX, by_id, parse


def state(*tickets):
    db.session.expire_all()
    return [(t.priority, t.status, t.assignee_id, sorted(tag.name for tag in t.tags))
            for t in (db.session.get(Ticket, ticket.id) for ticket in tickets)]  # fmt: skip


def event_count() -> int:
    return db.session.scalar(select(func.count(TicketEvent.id)))


def versions(client, url="/?queue=open"):
    page = parse(client.get(url).text)
    return {
        n.get("name"): n.get("value")
        for n in page.find_all(lambda n: (n.get("name") or "").startswith("seen-"))
    }


def test_assign_prioritise_and_tag_several_tickets_at_once(nina_client, org, available_agent):
    first, second, untouched = (factories.make_ticket(org, priority="LOW") for _ in range(3))
    seen = versions(nina_client)
    before = event_count()
    response = nina_client.post(
        "/tickets/bulk?queue=open",
        data={"ticket": [first.public_id, second.public_id], "priority": "URGENT", "tag": "outage",
              "assignee": "none", **seen},
        headers=HX | {"HX-Current-URL": "http://localhost/?queue=unassigned"},
    )  # fmt: skip
    assert response.status_code == 200
    queue = by_id(parse(response.text), "queue")
    assert "Updated 2 tickets." in queue.all_text()
    # The answer is the queue the agent was looking at (the unassigned tab), now with both.
    rows = queue.find_all(lambda n: n.tag == "tr" and n.has("data-ticket"))
    assert {row.get("data-ticket") for row in rows} == {first.reference, second.reference}
    assert state(first, second) == [("URGENT", "OPEN", None, ["outage"])] * 2
    assert state(untouched)[0][0] == "LOW"
    # One audit event per change per ticket: priority, tags and assignee, on each.
    assert event_count() - before == 6


def bad_forms(org):
    elsewhere = factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")
    theirs = factories.make_ticket(elsewhere)
    return [
        ({"priority": "SOON"}, "priority", None),
        ({"priority": "HIGH", "extra": theirs.public_id}, "ticket", None),
        ({}, "action", None),
        ({"priority": "HIGH", "ticket": []}, "ticket", "no selection"),
        ({"priority": "HIGH", "many": True}, "ticket", None),
        ({"status": "RESOLVED", "seen-bad": "x"}, "seen", None),
    ]


def test_bad_input_changes_nothing_and_names_the_field(nina_client, org):
    first, second = factories.make_ticket(org, priority="LOW"), factories.make_ticket(org, priority="LOW")
    initial = state(first, second)
    for form, field, _ in bad_forms(org):
        data = {key: value for key, value in form.items() if key not in ("extra", "many", "seen-bad")}
        data.setdefault("ticket", [first.public_id, second.public_id])
        if "extra" in form:
            data["ticket"] = data["ticket"] + [form["extra"]]
        if "many" in form:
            data["ticket"] = [first.public_id] * 1 + [f"id-{n}" for n in range(101)]
        if "seen-bad" in form:
            data[f"seen-{second.public_id}"] = form["seen-bad"]
        before = event_count()
        response = nina_client.post("/tickets/bulk?queue=open", data=data, headers=HX)
        assert response.status_code == 422, form
        assert f"{field}:" in by_id(parse(response.text), "queue").all_text(), form
        assert event_count() == before
        assert state(first, second) == initial


def test_a_stale_selection_is_refused_whole(app, nina_client, org):
    first, second = factories.make_ticket(org, priority="LOW"), factories.make_ticket(org, priority="LOW")
    seen = versions(nina_client)
    omar = app.test_client(user=factories.make_agent(org, name="Omar"))
    omar.post(f"/tickets/{second.reference}/fields/priority", data={"priority": "CRITICAL"}, headers=HX)
    before = event_count()
    response = nina_client.post(
        "/tickets/bulk?queue=open",
        data={"ticket": [first.public_id, second.public_id], "priority": "HIGH", **seen}, headers=HX,
    )  # fmt: skip
    assert response.status_code == 409
    queue = by_id(parse(response.text), "queue")
    assert "Omar changed a selected ticket" in queue.all_text() and "nothing was changed" in queue.all_text()
    # The selection survives the refusal, so the agent can look and apply again.
    checked = queue.find_all(lambda n: n.get("name") == "ticket" and n.has("checked"))
    assert {n.get("value") for n in checked} == {first.public_id, second.public_id}
    assert event_count() == before
    assert [s[0] for s in state(first, second)] == ["LOW", "CRITICAL"]


def test_without_javascript_a_bulk_action_returns_to_the_queue(nina_client, org):
    ticket = factories.make_ticket(org, priority="LOW")
    response = nina_client.post(
        "/tickets/bulk?queue=open", data={"ticket": ticket.public_id, "status": "WAITING"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/?queue=open"
    assert state(ticket)[0][1] == "WAITING"


@pytest.mark.parametrize("partial", [False, True])
def test_the_queue_offers_selection_and_the_bar(nina_client, org, partial):
    ticket = factories.make_ticket(org)
    page = nina_client.get("/?queue=open", headers=HX if partial else {})
    root = parse(page.text)
    boxes = root.find_all(lambda n: n.get("name") == "ticket")
    assert [n.get("value") for n in boxes] == [ticket.public_id] and boxes[0].get("form") == "bulk"
    assert bool(root.find_all(lambda n: n.get("id") == "bulk")) is not partial  # the bar is not refreshed
