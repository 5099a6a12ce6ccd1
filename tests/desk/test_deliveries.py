"""The ticket page says whether each reply reached the customer, and retries a failed one."""

from sqlalchemy import select

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import LiveEvent, Message, OutboxMessage, OutboxStatus
from helpdesk.worker import Claim, claim, mark_failed, mark_sent, release

from .. import factories
from .conftest import HX, by_id, parse


def send_reply(client, ticket, body="We refunded you."):
    response = client.post(
        f"/tickets/{ticket.reference}/messages", data={"body": body, "kind": "reply"}, headers=HX
    )
    assert response.status_code == 200
    db.session.rollback()
    message = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    delivery = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id == message.id, OutboxMessage.kind == "email")
    ).first()
    return message, delivery


def state(client, ticket, message) -> str:
    thread = parse(client.get(f"/tickets/{ticket.reference}/parts/thread", headers=HX).text)
    footer = by_id(thread, f"message-{message.public_id}").find_all(lambda n: n.tag == "footer")
    return footer[0].all_text() if footer else ""


def claimed(delivery) -> Claim:
    """The delivery as the worker leases it (other rows are handed back)."""
    claims = claim(100, 60)
    release([c for c in claims if c.id != delivery.id])
    [mine] = [c for c in claims if c.id == delivery.id]
    return mine


def test_a_reply_shows_queued_then_sent_and_the_page_is_told(nina_client, org):
    ticket = factories.make_ticket(org)
    message, delivery = send_reply(nina_client, ticket)
    assert "Email queued" in state(nina_client, ticket, message)
    signals = db.session.scalar(select(db.func.count(LiveEvent.id)).where(LiveEvent.ticket_id == ticket.id))
    mark_sent(claimed(delivery))
    assert "Emailed to the customer" in state(nina_client, ticket, message)
    db.session.rollback()
    assert (
        db.session.scalar(select(db.func.count(LiveEvent.id)).where(LiveEvent.ticket_id == ticket.id))
        > signals
    )


def test_a_failed_reply_shows_the_reason_and_retries(nina_client, org):
    ticket = factories.make_ticket(org)
    message, delivery = send_reply(nina_client, ticket)
    mark_failed(claimed(delivery), "SMTP refused: 550 mailbox unavailable", permanent=True)
    shown = state(nina_client, ticket, message)
    assert "Email failed: SMTP refused: 550 mailbox unavailable" in shown and "Retry" in shown
    retried = nina_client.post(f"/tickets/{ticket.reference}/deliveries/{delivery.id}/retry", headers=HX)
    assert retried.status_code == 200 and "Email queued" in retried.text
    db.session.rollback()
    row = db.session.get(OutboxMessage, delivery.id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)


def test_a_failed_email_on_pending_retry_says_so(nina_client, org):
    ticket = factories.make_ticket(org)
    message, delivery = send_reply(nina_client, ticket)
    mark_failed(claimed(delivery), "SMTP 127.0.0.1:25: Connection refused", permanent=False)
    assert "retrying: SMTP 127.0.0.1:25: Connection refused" in state(nina_client, ticket, message)


def test_a_customer_without_email_is_said_to_get_only_integrations(nina_client, org):
    chat = factories.make_customer(org, external_id="chat_9", email=None)
    ticket = factories.make_ticket(org, chat)
    page = parse(nina_client.get(f"/tickets/{ticket.reference}").text)
    assert "only through your integrations" in by_id(page, "reply-reach").all_text()
    message, delivery = send_reply(nina_client, ticket)
    assert delivery is None
    assert "Not emailed: the customer has no email address" in state(nina_client, ticket, message)
    with_email = factories.make_ticket(org)
    assert "reply-reach" not in nina_client.get(f"/tickets/{with_email.reference}").text


def test_notes_and_customer_messages_show_no_delivery(nina_client, org):
    ticket = factories.make_ticket(org)
    nina_client.post(
        f"/tickets/{ticket.reference}/messages", data={"body": "internal", "kind": "note"}, headers=HX
    )
    db.session.rollback()
    note = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert note.internal and state(nina_client, ticket, note) == ""


def test_another_organizations_delivery_cannot_be_retried(nina_client, org, other_org):
    ours = factories.make_ticket(org)
    theirs = factories.make_ticket(other_org)
    agent = factories.make_agent(other_org)
    client = nina_client.application.test_client(user=agent)
    _, delivery = send_reply(client, theirs)
    mark_failed(claimed(delivery), "down", permanent=True)
    for reference in (ours.reference, theirs.reference):
        response = nina_client.post(f"/tickets/{reference}/deliveries/{delivery.id}/retry", headers=HX)
        assert response.status_code == 404
    with write_transaction():
        assert db.session.get(OutboxMessage, delivery.id).status == OutboxStatus.FAILED
