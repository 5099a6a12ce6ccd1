"""The ticket page, its parts, in-place editing, replies, notes and preview."""

import pytest
from sqlalchemy import select

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import (
    CategorySource,
    LiveEvent,
    Message,
    MessageRole,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from helpdesk.tickets import NewMessage
from helpdesk.validation import InvalidValue

from .. import factories
from .conftest import HX, by_id, parse


@pytest.fixture
def ticket(org, available_agent):
    customer = factories.make_customer(org, external_id="user_42", email="ada@example.org", name="Ada")
    return factories.make_ticket(
        org,
        customer,
        subject="Payment failed",
        description="Payment failed with **CARD_DECLINED**.",
        priority=Priority.HIGH,
        category="Billing",
        metadata={"orderId": "12345", "amount": 99.9, "nested": {"a": [1, 2]}},
        messages=[
            NewMessage(MessageRole.CUSTOMER, "I was *charged*."),
            NewMessage(MessageRole.BOT, "An agent will look at it."),
        ],
    )


def current(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def test_page_shows_header_customer_description_thread_and_timeline(nina_client, ticket):
    response = nina_client.get(f"/tickets/{ticket.reference}")
    assert response.status_code == 200
    root = parse(response.text)
    head = by_id(root, "ticket-head").all_text()
    assert ticket.reference in head and "Payment failed" in head and "In Progress" in head
    customer = by_id(root, "ticket-customer").all_text()
    for text in ("user_42", "ada@example.org", "Ada", "orderId", "12345", "amount", "99.9", '{"a": [1, 2]}'):
        assert text in customer
    description = root.find_all(lambda n: n.get("class") == "prose" and n.parent.tag == "article")
    assert description[0].has("hx-disable")
    assert description[0].find_all(lambda n: n.tag == "strong")[0].all_text() == "CARD_DECLINED"
    thread = by_id(root, "thread")
    roles = [m.get("class") for m in thread.find_all(lambda n: n.tag == "article")]
    assert roles == ["message role-customer", "message role-bot"]
    timeline = by_id(root, "timeline").all_text()
    assert "created the ticket" in timeline and "assigned it to Nina" in timeline


def test_fields_carry_data_field_and_show_values(nina_client, ticket):
    root = parse(nina_client.get(f"/tickets/{ticket.reference}").text)
    fields = {node.get("data-field"): node for node in root.find_all(lambda n: n.has("data-field"))}
    assert set(fields) == {"status", "priority", "category", "assignee", "tags"}
    assert "High" in fields["priority"].all_text()
    assert "Billing" in fields["category"].all_text() and "api" in fields["category"].all_text()
    assert "Nina" in fields["assignee"].all_text()
    link = fields["priority"].find_all(lambda n: n.tag == "a")[0]
    assert link.get("href") == link.get("hx-get") == f"/tickets/{ticket.reference}/fields/priority/edit"
    assert link.get("hx-target") == "closest [data-field]"


@pytest.mark.parametrize("part", ["head", "fields", "customer", "thread", "timeline"])
def test_each_part_is_a_fragment_with_one_root(nina_client, ticket, part):
    response = nina_client.get(f"/tickets/{ticket.reference}/parts/{part}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    root = parse(response.text)
    elements = [child for child in root.children if child.tag != "#text"]
    assert len(elements) == 1 and elements[0].get("id").startswith(("ticket-", "thread", "timeline"))
    full = nina_client.get(f"/tickets/{ticket.reference}/parts/{part}")
    assert "<html" in full.text and 'id="ticket-page"' in full.text


def test_unknown_part_or_field_is_404(nina_client, ticket):
    assert nina_client.get(f"/tickets/{ticket.reference}/parts/secrets", headers=HX).status_code == 404
    assert nina_client.get(f"/tickets/{ticket.reference}/fields/subject/edit").status_code == 404
    assert nina_client.post(f"/tickets/{ticket.reference}/fields/subject", data={}).status_code == 404
    assert nina_client.get("/tickets/T-99999").status_code == 404
    assert nina_client.get("/tickets/not-a-ticket").status_code == 404


def test_edit_returns_the_control_inside_the_field(nina_client, ticket):
    response = nina_client.get(f"/tickets/{ticket.reference}/fields/priority/edit", headers=HX)
    root = parse(response.text)
    field = by_id(root, "field-priority")
    assert field.get("data-field") == "priority"
    select_ = field.find_all(lambda n: n.tag == "select")[0]
    assert select_.get("name") == "priority"
    selected = [o.get("value") for o in select_.children if o.tag == "option" and o.has("selected")]
    assert selected == ["HIGH"]
    form = field.find_all(lambda n: n.tag == "form")[0]
    assert form.get("hx-post") == f"/tickets/{ticket.reference}/fields/priority"


def test_edit_without_javascript_shows_the_page_with_the_control(nina_client, ticket):
    response = nina_client.get(f"/tickets/{ticket.reference}/fields/status/edit")
    assert "<html" in response.text
    root = parse(response.text)
    assert by_id(root, "field-status").find_all(lambda n: n.tag == "select")


def test_cancel_swaps_the_display_back(nina_client, ticket):
    response = nina_client.get(f"/tickets/{ticket.reference}/fields/priority", headers=HX)
    field = by_id(parse(response.text), "field-priority")
    assert "editing" not in field.get("class") and "High" in field.all_text()


@pytest.mark.parametrize(
    "field, value, check",
    [
        ("priority", "URGENT", lambda t: t.priority == Priority.URGENT),
        ("status", "WAITING", lambda t: t.status == Status.WAITING),
        ("tags", "vip, billing ,vip", lambda t: [tag.name for tag in t.tags] == ["billing", "vip"]),
    ],
)
def test_saving_a_field_swaps_the_display_back_and_records_it(nina_client, ticket, field, value, check):
    response = nina_client.post(
        f"/tickets/{ticket.reference}/fields/{field}", data={field: value}, headers=HX
    )
    assert response.status_code == 200
    root = parse(response.text)
    element = by_id(root, f"field-{field}")
    assert element.get("data-field") == field and "editing" not in element.get("class")
    assert f"ticket-changed-{ticket.id}" in response.headers["HX-Trigger-After-Settle"]
    assert check(current(ticket.id))
    event = db.session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.field == field)
    )
    assert event.actor_label == "Nina" and event.action == "changed"
    assert db.session.scalar(
        select(LiveEvent).where(LiveEvent.ticket_id == ticket.id, LiveEvent.kind == "ticket")
    )


def test_category_by_agent_is_marked_as_agent_confirmed(nina_client, org, ticket):
    with write_transaction():
        hardware = tickets.category_named(org.id, "Hardware")
    response = save(nina_client, ticket, "category", hardware.public_id)
    assert "Hardware" in response.text
    saved = current(ticket.id)
    assert saved.category.name == "Hardware" and saved.category_source == CategorySource.AGENT
    timeline = nina_client.get(f"/tickets/{ticket.reference}/parts/timeline", headers=HX).text
    assert "changed category Billing" in timeline and "Hardware" in timeline


def save(client, ticket, field, value, headers=HX):
    return client.post(f"/tickets/{ticket.reference}/fields/{field}", data={field: value}, headers=headers)


def message(client, ticket, body, kind="reply"):
    return client.post(f"/tickets/{ticket.reference}/messages", data={"body": body, "kind": kind}, headers=HX)


def test_reassign_and_unassign(nina_client, org, ticket):
    omar = factories.make_agent(org, name="Omar")
    save(nina_client, ticket, "assignee", omar.public_id)
    assert current(ticket.id).assignee.name == "Omar"
    save(nina_client, ticket, "assignee", "")
    saved = current(ticket.id)
    assert saved.assignee is None and saved.status == Status.OPEN


def test_saving_without_javascript_redirects_with_303(nina_client, ticket):
    response = nina_client.post(f"/tickets/{ticket.reference}/fields/priority", data={"priority": "LOW"})
    assert response.status_code == 303 and response.headers["Location"] == f"/tickets/{ticket.reference}"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("priority", "SEVERE", "Choose a priority"),
        ("priority", "", "Choose a priority"),
        ("status", "open", "Choose a status"),
        ("category", "00000000-0000-0000-0000-000000000000", "Choose one of the organization"),
        ("assignee", "nobody", "Choose an active agent"),
        ("tags", "x" * 61, "at most 60 characters"),
        ("tags", ",".join(f"t{n}" for n in range(21)), "At most 20 tags"),
    ],
)
def test_wrong_values_get_the_form_back_with_422_and_change_nothing(
    nina_client, ticket, field, value, message
):
    before = db.session.scalar(select(db.func.count(TicketEvent.id)))
    response = save(nina_client, ticket, field, value)
    assert response.status_code == 422
    element = by_id(parse(response.text), f"field-{field}")
    assert "editing" in element.get("class")
    assert message in element.all_text()
    assert db.session.scalar(select(db.func.count(TicketEvent.id))) == before
    saved = current(ticket.id)
    assert saved.priority == Priority.HIGH and saved.category.name == "Billing" and saved.tags == []


def test_another_organizations_agent_and_category_are_refused(nina_client, ticket, other_org):
    stranger = factories.make_agent(other_org)
    with write_transaction():
        foreign = tickets.category_named(other_org.id, "Foreign")
    for field, value in (("assignee", stranger.public_id), ("category", foreign.public_id)):
        response = save(nina_client, ticket, field, value)
        assert response.status_code == 422
    saved = current(ticket.id)
    assert saved.assignee.name == "Nina" and saved.category.name == "Billing"


def test_a_bad_edit_without_javascript_shows_the_page_with_the_error(nina_client, ticket):
    response = nina_client.post(f"/tickets/{ticket.reference}/fields/priority", data={"priority": "NOPE"})
    assert response.status_code == 422 and "<html" in response.text
    assert "Choose a priority" in by_id(parse(response.text), "field-priority").all_text()


def test_reply_and_internal_note(nina_client, ticket):
    reply = message(nina_client, ticket, "We *refunded* you.")
    assert reply.status_code == 200
    form = by_id(parse(reply.text), "reply")
    assert form.find_all(lambda n: n.tag == "textarea")[0].all_text() == ""  # cleared
    assert f"ticket-changed-{ticket.id}" in reply.headers["HX-Trigger-After-Settle"]
    message(nina_client, ticket, "Check Stripe", kind="note")
    messages = db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()
    assert [(m.role, m.internal, m.author.name if m.author else None) for m in messages[-2:]] == [
        (MessageRole.AGENT, False, "Nina"), (MessageRole.AGENT, True, "Nina"),
    ]
    thread = parse(nina_client.get(f"/tickets/{ticket.reference}/parts/thread", headers=HX).text)
    classes = [m.get("class") for m in thread.find_all(lambda n: n.tag == "article")]
    assert classes[-2:] == ["message role-agent", "message role-agent internal"]
    assert "Internal note" in thread.find_all(lambda n: n.tag == "article")[-1].all_text()
    timeline = nina_client.get(f"/tickets/{ticket.reference}/parts/timeline", headers=HX).text
    assert "added an internal note" in timeline and "replied" in timeline


def test_empty_or_huge_reply_is_a_422_keeping_the_text(nina_client, ticket):
    empty = nina_client.post(f"/tickets/{ticket.reference}/messages", data={"body": "  "}, headers=HX)
    assert empty.status_code == 422 and "Write a message first" in empty.text
    count = db.session.scalar(select(db.func.count(Message.id)))
    huge = nina_client.post(
        f"/tickets/{ticket.reference}/messages", data={"body": "a" * (64 * 1024 + 1)}, headers=HX
    )
    assert huge.status_code in (413, 422)
    assert db.session.scalar(select(db.func.count(Message.id))) == count


def test_reply_without_javascript_redirects_to_the_thread(nina_client, ticket):
    response = nina_client.post(f"/tickets/{ticket.reference}/messages", data={"body": "Hi"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tickets/{ticket.reference}#thread"


def test_preview_renders_markdown_safely(nina_client):
    response = nina_client.post("/preview", data={"body": "**bold** <script>alert(1)</script>"}, headers=HX)
    root = parse(response.text)
    preview = by_id(root, "preview")
    prose = preview.find_all(lambda n: n.get("class") == "prose")[0]
    assert prose.has("hx-disable")
    assert prose.find_all(lambda n: n.tag == "strong")[0].all_text() == "bold"
    assert not root.find_all(lambda n: n.tag == "script")
    assert "<html" in nina_client.post("/preview", data={"body": "x"}).text


class TestServices:
    """The editing services, without HTTP."""

    def test_unchanged_values_record_nothing(self, ticket, available_agent):
        actor = audit.Actor.of(available_agent)
        with write_transaction():
            saved = db.session.merge(ticket)
            assert not tickets.change_priority(saved, Priority.HIGH, actor)
            assert not tickets.change_status(saved, Status.IN_PROGRESS, actor)
            assert not tickets.set_tags(saved, [], actor)
            assert not tickets.reassign(saved, saved.assignee, actor)
        assert not db.session.scalar(select(TicketEvent).where(TicketEvent.action == "changed"))

    def test_each_change_is_one_audit_event(self, ticket, available_agent):
        actor = audit.Actor.of(available_agent)
        with write_transaction():
            saved = db.session.merge(ticket)
            tickets.change_priority(saved, Priority.CRITICAL, actor)
            tickets.change_status(saved, Status.RESOLVED, actor)
        events = db.session.scalars(
            select(TicketEvent).where(TicketEvent.action == "changed").order_by(TicketEvent.id)
        ).all()
        assert [(e.field, e.old_value, e.new_value, e.actor_label) for e in events] == [
            ("priority", "HIGH", "CRITICAL", "Nina"), ("status", "IN_PROGRESS", "RESOLVED", "Nina"),
        ]

    def test_a_failed_change_rolls_back_entirely(self, ticket, available_agent, other_org):
        stranger = factories.make_agent(other_org)
        actor = audit.Actor.of(available_agent)
        with pytest.raises(InvalidValue), write_transaction():
            saved = db.session.merge(ticket)
            tickets.change_priority(saved, Priority.LOW, actor)
            tickets.reassign(saved, db.session.merge(stranger), actor)
        assert current(ticket.id).priority == Priority.HIGH
