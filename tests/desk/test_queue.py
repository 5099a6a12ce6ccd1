"""The queues: which tickets each shows, filters, search, order, pages, full page vs fragment."""

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.db import write_transaction
from helpdesk.desk.pages import ago
from helpdesk.desk.queue import PAGE_SIZE
from helpdesk.extensions import db
from helpdesk.models import Status, Ticket, utcnow

from .. import factories
from .conftest import HX, by_id, parse


def refs(response) -> list[str]:
    """Ticket references in the queue's table, in order."""
    root = parse(response.text)
    return [row.get("data-ticket") for row in root.find_all(lambda n: n.tag == "tr" and n.has("data-ticket"))]


def counts(response) -> dict[str, int]:
    root = parse(response.text)
    return {
        node.get("data-queue-count"): int(node.all_text())
        for node in root.find_all(lambda n: n.has("data-queue-count"))
    }


@pytest.fixture
def board(org, available_agent):
    """Two tickets of Nina's, two unassigned, one resolved, one of another agent's."""
    omar = factories.make_agent(org, name="Omar", availability="available")
    mine_high = factories.make_ticket(
        org, subject="Printer on fire", priority="HIGH", category="Hardware"
    )
    with write_transaction():
        db.session.merge(omar).availability = "offline"
    mine_low = factories.make_ticket(org, subject="Font too small", priority="LOW")
    with write_transaction():
        db.session.merge(available_agent).availability = "offline"
    customer = factories.make_customer(org, external_id="acme-7", email="ops@acme.test")
    waiting_urgent = factories.make_ticket(org, customer, subject="Site down", priority="URGENT")
    waiting_medium = factories.make_ticket(
        org, subject="Refund please", tag_ids=[], category="Billing", metadata={"order": "1"}
    )
    resolved = factories.make_ticket(org, subject="Old thing")
    with write_transaction():
        db.session.merge(resolved).status = Status.RESOLVED
    tickets = dict(
        mine_high=mine_high, mine_low=mine_low, unassigned_urgent=waiting_urgent,
        unassigned_medium=waiting_medium, resolved=resolved,
    )
    return {name: ticket.reference for name, ticket in tickets.items()}


def test_mine_is_the_default_queue(nina_client, board):
    response = nina_client.get("/")
    assert response.status_code == 200
    assert refs(response) == [board["mine_high"], board["mine_low"]]
    assert counts(response) == {"mine": 2, "unassigned": 2, "open": 4}


def test_unassigned_queue_sorted_by_priority(nina_client, board):
    expected = [board["unassigned_urgent"], board["unassigned_medium"]]
    assert refs(nina_client.get("/?queue=unassigned")) == expected


def test_all_open_sorted_by_priority_then_age(nina_client, board):
    assert refs(nina_client.get("/?queue=open")) == [
        board["unassigned_urgent"], board["mine_high"], board["unassigned_medium"], board["mine_low"],
    ]


def test_status_filter_can_show_resolved_tickets(nina_client, board):
    response = nina_client.get("/?queue=open&status=RESOLVED")
    assert refs(response) == [board["resolved"]]
    assert counts(response)["open"] == 1


@pytest.mark.parametrize(
    "query, expected",
    [
        ("priority=LOW", ["mine_low"]),
        ("priority=urgent", ["unassigned_urgent"]),
        ("category=hardware", ["mine_high"]),
        ("category=Billing", ["unassigned_medium"]),
        ("q=fire", ["mine_high"]),
        ("q=PRINTER", ["mine_high"]),
        ("q=acme-7", ["unassigned_urgent"]),
        ("q=ops@acme", ["unassigned_urgent"]),
        ("q={unassigned_urgent}", ["unassigned_urgent"]),
        ("q=%25", []),
        ("q=ops_acme", []),  # "_" is no wildcard
        ("q=nothing+like+this", []),
    ],
)
def test_filters_and_search(nina_client, board, query, expected):
    query = query.format(**board)
    assert refs(nina_client.get(f"/?queue=open&{query}")) == [board[name] for name in expected]


def test_search_by_bare_number_finds_the_ticket(nina_client, board):
    number = board["unassigned_urgent"].rsplit("-", 1)[1]
    assert board["unassigned_urgent"] in refs(nina_client.get(f"/?queue=open&q={number}"))


def test_tag_filter(nina_client, org, available_agent):
    tagged = factories.make_ticket(org, subject="Tagged")
    factories.make_ticket(org, subject="Plain")
    nina_client.post(f"/tickets/{tagged.reference}/fields/tags", data={"tags": "vip, billing"})
    assert refs(nina_client.get("/?queue=open&tag=vip")) == [tagged.reference]
    page = nina_client.get("/?queue=open")
    assert '<option value="vip"' in page.text  # offered in the filter


@pytest.mark.parametrize(
    "query, field",
    [("queue=everything", "queue"), ("status=DONE", "status"), ("priority=P1", "priority"),
     ("page=0", "page"), ("page=x", "page")],
)
def test_bad_filter_values_are_a_422_naming_the_field(nina_client, query, field):
    response = nina_client.get(f"/?{query}")
    assert response.status_code == 422
    assert f"{field}:" in response.text


def test_fragment_on_htmx_full_page_otherwise(nina_client, board):
    full = nina_client.get("/?queue=open")
    assert "<html" in full.text and 'id="queue-filters"' in full.text and 'id="bell"' in full.text
    fragment = nina_client.get("/?queue=open", headers=HX)
    assert "<html" not in fragment.text and 'id="queue-filters"' not in fragment.text
    root = parse(fragment.text)
    queue = by_id(root, "queue")
    assert [child for child in root.children if child.tag != "#text"] == [queue]
    assert refs(fragment) == refs(full)
    # The fragment re-fetches itself with the same filters when the queue changes.
    assert queue.get("hx-get") == "/?queue=open"
    assert "queue-changed from:body" in queue.get("hx-trigger")


def test_boosted_and_history_restore_requests_get_the_full_page(nina_client, board):
    boosted = nina_client.get("/", headers=HX | {"HX-Boosted": "true"})
    restore = nina_client.get("/", headers=HX | {"HX-History-Restore-Request": "true"})
    assert "<html" in boosted.text and "<html" in restore.text


def test_pages_are_stable_and_complete(nina_client, org, available_agent):
    with write_transaction():
        db.session.merge(available_agent).availability = "offline"
    total = PAGE_SIZE * 2 + 3
    customer = factories.make_customer(org)
    for n in range(total):
        factories.make_ticket(org, customer, subject=f"Bulk {n}", priority=["LOW", "HIGH"][n % 2])
    # Same creation time for many tickets: the id must keep the order stable.
    with write_transaction():
        first = db.session.scalar(db.select(Ticket).order_by(Ticket.id))
        for ticket in db.session.scalars(db.select(Ticket)):
            ticket.created_at = first.created_at + timedelta(seconds=ticket.id % 3)
    seen = []
    for page in (1, 2, 3):
        response = nina_client.get(f"/?queue=unassigned&page={page}", headers=HX)
        seen += refs(response)
    assert len(seen) == total == len(set(seen))
    again = refs(nina_client.get("/?queue=unassigned&page=2"))
    assert again == seen[PAGE_SIZE: 2 * PAGE_SIZE]
    listed = db.session.execute(
        db.select(Ticket.number).order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
    ).scalars().all()
    assert seen == [f"{org.ticket_prefix}-{number}" for number in listed]
    last = nina_client.get("/?queue=unassigned&page=3")
    assert 'rel="next"' not in last.text and 'rel="prev"' in last.text
    assert "Page 3 of 3" in last.text


def test_filters_survive_in_tab_and_page_links(nina_client, board):
    root = parse(nina_client.get("/?queue=open&priority=HIGH&q=fire").text)
    tabs = root.find_all(lambda n: n.tag == "a" and n.parent and n.parent.get("class") == "tabs")
    assert [tab.get("href") for tab in tabs] == [
        "/?queue=mine&priority=HIGH&q=fire",
        "/?queue=unassigned&priority=HIGH&q=fire",
        "/?queue=open&priority=HIGH&q=fire",
    ]
    hidden = root.find_all(lambda n: n.tag == "input" and n.get("form") == "queue-filters")
    assert [(node.get("name"), node.get("value")) for node in hidden] == [("queue", "open")]


def test_empty_queue_says_so(nina_client):
    assert "Nothing assigned to you" in nina_client.get("/").text


def test_each_row_shows_its_age_with_the_exact_moment(nina_client, org, available_agent):
    """The Age column: 'N min ago' for people, the UTC moment for machines and on hover."""
    ticket = factories.make_ticket(org, subject="Old news")
    opened = utcnow() - timedelta(hours=3, minutes=5)
    with write_transaction():
        db.session.merge(ticket).created_at = opened
    root = parse(nina_client.get("/?queue=open").text)
    age = by_id(root, "queue").find_all(lambda n: n.tag == "td" and n.get("class") == "age")
    (moment,) = age[0].find_all(lambda n: n.tag == "time")
    assert moment.all_text() == "3 h ago"
    assert datetime.fromisoformat(moment.get("datetime")) == opened
    assert moment.get("title") == opened.strftime("%Y-%m-%d %H:%M UTC")


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=7), "7 min ago"),
        (timedelta(hours=5), "5 h ago"),
        (timedelta(days=1, hours=2), "1 day ago"),
        (timedelta(days=3), "3 days ago"),
    ],
)
def test_ages_read_naturally(age, shown):
    assert ago(utcnow() - age) == shown


def test_ages_past_a_week_are_dates():
    assert ago(datetime(2026, 3, 9, 15, 0, tzinfo=UTC)) == "09 Mar 2026"


def test_with_nothing_of_their_own_an_agent_lands_on_all_open(app, org):
    admin = factories.make_agent(org, name="Ada Admin", role="admin")
    factories.make_ticket(org, subject="Broken printer")
    client = app.test_client(user=admin)
    landing = parse(client.get("/").text)
    current = [tab.get("href") for tab in landing.find_all(lambda n: n.get("aria-current") == "page")]
    assert current == ["/?queue=open"]
    assert "Broken printer" in client.get("/").text
    assert "Nothing assigned to you" in client.get("/?queue=mine").text  # asked for, it is Mine
