"""Email to the assignee, through the worker to a real SMTP server."""

from datetime import timedelta

import pytest

from helpdesk import audit
from helpdesk.customers import CustomerRef
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import MessageRole, OutboxMessage, OutboxStatus, Ticket, utcnow
from helpdesk.tickets import NewTicket, add_message, create_ticket
from helpdesk.worker import Worker, claim

from .. import factories
from .conftest import outbox_rows


def run_worker(app) -> int:
    return Worker(app).run_once()


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_assignment_emails_the_assignee_with_both_parts_and_a_link(
    notify_app, smtp_server, org, available_agent
):
    ticket = factories.make_ticket(org, subject="Payment failed for order #12345",
                                   description="Card was **declined**.")
    [row] = outbox_rows(kind="email")
    assert row.status == OutboxStatus.PENDING  # written with the ticket, not sent yet
    assert smtp_server.mailbox.messages == []

    assert run_worker(notify_app) >= 1
    [message] = smtp_server.mailbox.wait_for(1)
    assert message["To"] == available_agent.email
    assert smtp_server.mailbox.envelopes[0][1] == [available_agent.email]
    assert message["From"] == "desk@helpdesk.test"
    assert message["Subject"] == f"[{ticket.reference}] Assigned to you: Payment failed for order #12345"
    assert message["Message-ID"] == f"<outbox-{row.id}@helpdesk.test>"
    assert message["X-Helpdesk-Ticket"] == ticket.reference
    text, html = parts(message)
    link = f"http://helpdesk.test/tickets/{ticket.reference}"
    assert link in text and "Card was **declined**." in text
    assert f'href="{link}"' in html and "<strong>declined</strong>" in html
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, None)
    assert row.sent_at is not None and row.locked_until is None


def test_customer_reply_emails_the_assignee_with_the_reply(notify_app, smtp_server, org, available_agent):
    ticket = factories.make_ticket(org)
    run_worker(notify_app)
    smtp_server.mailbox.wait_for(1)
    with write_transaction():
        add_message(db.session.merge(ticket), MessageRole.CUSTOMER, rendered("Still *broken* <b>today</b>"),
                    audit.Actor(label="api"))
    run_worker(notify_app)
    reply = smtp_server.mailbox.wait_for(2)[1]
    assert reply["To"] == available_agent.email
    assert reply["Subject"] == f"[{ticket.reference}] Customer replied: {ticket.subject}"
    text, html = parts(reply)
    assert "Still *broken* <b>today</b>" in text
    assert "<em>broken</em>" in html and "<b>" not in html  # sanitized Markdown, escaped HTML
    # Both emails thread under the ticket in mail clients.
    first = smtp_server.mailbox.messages[0]
    assert reply["References"] == first["References"] == f"<ticket-{ticket.public_id}@helpdesk.test>"


def test_agent_replies_and_internal_notes_email_no_agent(notify_app, smtp_server, org, available_agent):
    ticket = factories.make_ticket(org)
    with write_transaction():
        add_message(db.session.merge(ticket), MessageRole.AGENT, rendered("On it"), audit.Actor(label="a"))
        add_message(db.session.merge(ticket), MessageRole.CUSTOMER, rendered("note"), audit.Actor(label="a"),
                    internal=True)
    # The assignment, and the reply to the customer (tests/notify/test_replies.py).
    assert [row.payload["to"] for row in outbox_rows(kind="email")] == [
        available_agent.email, ticket.customer.email,
    ]  # fmt: skip


def test_unassigned_ticket_emails_nobody(notify_app, org):
    factories.make_ticket(org)
    assert outbox_rows(kind="email") == []


def test_subject_with_line_breaks_cannot_inject_headers(notify_app, smtp_server, org, available_agent):
    factories.make_ticket(org, subject="Hi\r\nBcc: victim@example.com\nX: y")
    run_worker(notify_app)
    [message] = smtp_server.mailbox.wait_for(1)
    assert message["Bcc"] is None and message["X"] is None
    assert "Hi Bcc: victim@example.com X: y" in message["Subject"]


def test_a_rolled_back_creation_leaves_no_outbox_row(notify_app, org, available_agent):
    customer = factories.make_customer(org)
    with pytest.raises(RuntimeError), write_transaction():
        create_ticket(
            db.session.merge(org),
            NewTicket(subject="x", customer=CustomerRef(public_id=customer.public_id)),
            audit.Actor(label="t"),
        )
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 1
        raise RuntimeError("the request failed after the ticket was written")
    assert outbox_rows() == []
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_smtp_down_retries_with_backoff_then_delivers_with_the_same_message_id(
    notify_app, smtp_server, org, available_agent
):
    factories.make_ticket(org)
    smtp_server.stop()
    notify_app.config.update(OUTBOX_BACKOFF_SECONDS=30, OUTBOX_BACKOFF_MAX_SECONDS=60)
    run_worker(notify_app)
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, 1, None)
    assert "SMTP" in row.last_error and "refused" in row.last_error.lower()
    # First retry after 30 s halved and jittered: between 15 and 30 s from now.
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 14 < wait <= 30
    assert run_worker(notify_app) == 0  # not due yet

    smtp_server.start()
    with write_transaction():
        db.session.get(OutboxMessage, row.id).next_attempt_at = utcnow() - timedelta(seconds=1)
    run_worker(notify_app)
    [message] = smtp_server.mailbox.wait_for(1)
    assert message["Message-ID"] == f"<outbox-{row.id}@helpdesk.test>"
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


def test_gives_up_after_max_attempts_keeping_the_last_error(notify_app, smtp_server, org, available_agent):
    notify_app.config.update(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=0, OUTBOX_BACKOFF_MAX_SECONDS=0)
    factories.make_ticket(org)
    smtp_server.stop()
    for _ in range(5):
        run_worker(notify_app)
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert "refused" in row.last_error.lower()


def test_a_refused_recipient_fails_at_once(notify_app, smtp_server, org):
    factories.make_agent(org, email="nobody@example.com", availability="available")
    factories.make_ticket(org)
    run_worker(notify_app)
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert "550" in row.last_error


def test_without_smtp_host_emails_fail_saying_so(app, org, available_agent):
    factories.make_ticket(org)
    run_worker(app)
    [row] = outbox_rows(kind="email")
    assert row.status == OutboxStatus.FAILED
    assert "HELPDESK_SMTP_HOST" in row.last_error


def test_a_claimed_row_is_leased_until_its_lease_runs_out(notify_app, org, available_agent):
    factories.make_ticket(org)
    [first] = claim(10, lease_seconds=60)
    assert claim(10, lease_seconds=60) == []  # leased: no other worker takes it
    with write_transaction():
        db.session.get(OutboxMessage, first.id).locked_until = utcnow() - timedelta(seconds=1)
    [again] = claim(10, lease_seconds=60)  # its worker "died": the lease ran out
    assert again.id == first.id and again.attempts == 2
