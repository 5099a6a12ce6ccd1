"""Who else has a ticket open, through the live signals."""

from datetime import timedelta

from sqlalchemy import func, select, update

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import LiveEvent, TicketViewer, utcnow

from .. import factories
from .conftest import HX, by_id, parse


def viewers_signals() -> int:
    return db.session.scalar(select(func.count(LiveEvent.id)).where(LiveEvent.kind == "viewers"))


def test_an_agent_sees_who_else_has_the_ticket_open(app, org):
    nina = factories.make_agent(org, name="Nina")
    omar = factories.make_agent(org, name="Omar")
    ticket = factories.make_ticket(org)
    nina_client, omar_client = app.test_client(user=nina), app.test_client(user=omar)
    url = f"/tickets/{ticket.reference}/viewing"

    alone = nina_client.post(url, headers=HX)
    assert alone.status_code == 200 and "viewing" not in by_id(parse(alone.text), "ticket-viewers").all_text()
    assert viewers_signals() == 1  # Nina arrived: the others' pages are told
    nina_client.post(url, headers=HX)
    assert viewers_signals() == 1  # a heartbeat of someone already there says nothing new

    seen_by_omar = omar_client.post(url, headers=HX)
    assert "Nina is viewing" in " ".join(by_id(parse(seen_by_omar.text), "ticket-viewers").all_text().split())
    events = omar_client.get(
        f"/events/?after={db.session.scalar(select(func.min(LiveEvent.id))) - 1}", headers=HX
    )
    assert f"viewers-changed-{ticket.id}" in events.headers["HX-Trigger"]

    # Nina closed the page long ago: her row is stale and she no longer counts.
    with write_transaction():
        db.session.execute(
            update(TicketViewer)
            .where(TicketViewer.agent_id == nina.id)
            .values(seen_at=utcnow() - timedelta(minutes=5))
        )
    assert "Nina" not in omar_client.post(url, headers=HX).text


def test_the_ticket_page_says_it_is_open(nina_client, org):
    ticket = factories.make_ticket(org)
    viewers = by_id(parse(nina_client.get(f"/tickets/{ticket.reference}").text), "ticket-viewers")
    assert viewers.get("hx-post") == f"/tickets/{ticket.reference}/viewing"
    assert "load" in viewers.get("hx-trigger") and f"viewers-changed-{ticket.id} from:body" in viewers.get(
        "hx-trigger"
    )
