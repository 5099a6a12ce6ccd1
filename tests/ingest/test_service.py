"""Ingestion: answers thread onto their ticket, other mail opens one, automatic mail is
ignored and bad mail is kept as a failure, each with nothing half-written."""

import pytest

from helpdesk import audit, ingest, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import (
    Availability,
    Channel,
    Customer,
    IngestFailure,
    Level,
    Message,
    MessageRole,
    Notification,
    Status,
    Ticket,
    TicketEvent,
)

from .. import factories
from ..test_routing import add_rule
from .conftest import counts, eml


def messages_of(ticket) -> list[Message]:
    db.session.rollback()
    query = db.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    return list(db.session.scalars(query))


def agent_reply(ticket, agent) -> Message:
    """An agent's reply as the outbound side stores it: its Message-ID on the message."""
    with write_transaction():
        merged = db.session.get(Ticket, ticket.id)
        message = tickets.add_message(
            merged, MessageRole.AGENT, rendered("Please restart it."), audit.Actor.of(agent)
        )
        message.email_message_id = f"<m-{message.public_id}@helpdesk.test>"
    return message


# Threading


def test_an_answer_threads_by_in_reply_to_and_keeps_the_original(take_in, ticket, agent, answer):
    reply = agent_reply(ticket, agent)
    outcome = take_in(answer("gmail_reply.eml", message_id=reply.public_id))
    assert (outcome.action, outcome.ticket) == ("added", ticket.reference)
    stored = messages_of(ticket)[-1]
    assert stored.role == MessageRole.CUSTOMER and stored.author_id is None
    assert stored.body == "Thanks, restarting fixed it for a day but it jams again now.\n\nCarla"
    assert stored.email_message_id == "<CAF=gmail-reply-0001@mail.gmail.com>"
    assert "> Please restart the printer" in stored.original and "wrote:" in stored.original


def test_an_answer_threads_by_a_stored_message_id_in_references(take_in, ticket, answer):
    with write_transaction():
        db.session.get(Ticket, ticket.id).email_message_id = "<first-mail@example.org>"
    raw = answer("new_ticket.eml").replace(
        b"Message-ID: <new-ticket-0001@newcustomer.example>",
        b"Message-ID: <second@example.org>\r\nReferences: <unknown@x> <first-mail@example.org>",
    )
    assert take_in(raw).ticket == ticket.reference


def test_an_answer_threads_by_the_reply_to_token(take_in, ticket, answer):
    """Outlook keeps no In-Reply-To here; the +TOKEN of our Reply-To is in Delivered-To."""
    outcome = take_in(answer("outlook_reply.eml"))
    assert outcome.ticket == ticket.reference
    body = messages_of(ticket)[-1].body
    assert body.startswith("Still broken here, the display shows error E-42. Grüße aus Köln")
    assert "30 €" in body  # windows-1252, quoted-printable
    assert "Sent: Monday" not in body


def test_an_answer_threads_by_subject_from_the_ticket_s_customer(take_in, ticket, answer):
    outcome = take_in(answer("outlook_original_message.eml"))
    assert outcome.ticket == ticket.reference
    body = messages_of(ticket)[-1].body
    assert body == "Hello, it still does not print. Voilà the log: déjà vu."  # iso-8859-1


def test_a_subject_reference_from_another_sender_opens_a_new_ticket(take_in, ticket, answer):
    raw = answer("outlook_original_message.eml").replace(
        b"From: carla@example.org", b"From: mallory@evil.example"
    )
    outcome = take_in(raw)
    assert outcome.action == "opened" and outcome.ticket != ticket.reference
    assert [m.role for m in messages_of(ticket)] == []


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("apple_mail_reply.eml", "It works now, thank you!"),
        ("thunderbird_koi8r.eml", "Добрый день! Принтер снова не печатает."),
    ],
)
def test_clients_quotes_and_signatures_are_stripped(take_in, ticket, answer, fixture, expected):
    assert take_in(answer(fixture)).ticket == ticket.reference
    assert messages_of(ticket)[-1].body == expected


@pytest.mark.parametrize("status", [Status.WAITING, Status.RESOLVED, Status.CLOSED])
def test_an_answer_reopens_the_ticket_with_an_audit_event(take_in, ticket, answer, status):
    with write_transaction():
        db.session.get(Ticket, ticket.id).status = status
    take_in(answer("apple_mail_reply.eml"))
    assert db.session.get(Ticket, ticket.id).status == Status.OPEN
    event = db.session.scalars(
        db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.field == "status")
    ).one()
    assert (event.old_value, event.new_value) == (str(status), "OPEN")
    assert event.actor_label == "Email from carla@example.org"


def test_an_answer_tells_the_assignee(take_in, org, customer, answer):
    agent = factories.make_agent(org, availability=Availability.AVAILABLE)
    assigned = factories.make_ticket(org, customer)
    raw = eml("apple_mail_reply.eml", ticket_id=assigned.public_id, ticket_ref=assigned.reference,
              customer_email=customer.email)
    take_in(raw)
    notes = db.session.scalars(db.select(Notification).where(Notification.agent_id == agent.id)).all()
    assert any("Customer replied" in note.text for note in notes)
    assert db.session.get(Ticket, assigned.id).status == Status.IN_PROGRESS  # not reopened


# New tickets


def test_mail_matching_no_ticket_opens_one_routed_and_assigned(take_in, org):
    n2 = factories.make_agent(org, availability=Availability.AVAILABLE, level=Level.N2)
    add_rule(org, [{"field": "subject", "op": "contains", "value": "fire"}],
             {"set_priority": "CRITICAL", "target_level": "N2"})
    outcome = take_in(eml("new_ticket.eml"))
    assert outcome.action == "opened"
    ticket = db.session.scalars(db.select(Ticket)).one()
    assert (ticket.channel, ticket.subject, ticket.priority) == (Channel.EMAIL, "Printer on fire", "CRITICAL")
    assert (ticket.assignee_id, ticket.status) == (n2.id, Status.IN_PROGRESS)
    assert ticket.description == "Our office printer is on fire, smoke everywhere.\n\nNora"
    assert ticket.email_message_id == "<new-ticket-0001@newcustomer.example>"
    customer = db.session.get(Customer, ticket.customer_id)
    assert (customer.email, customer.name) == ("nora@newcustomer.example", "Nora New")


def test_a_new_ticket_in_shift_jis_with_encoded_headers(take_in):
    take_in(eml("new_ticket_shift_jis.eml"))
    ticket = db.session.scalars(db.select(Ticket)).one()
    assert ticket.subject == "請求書が開けません"
    assert ticket.description == "請求書が開けません。至急確認してください。"
    assert db.session.get(Customer, ticket.customer_id).name == "山田"


def test_html_only_mail_becomes_safe_text(take_in):
    take_in(eml("html_only.eml"))
    ticket = db.session.scalars(db.select(Ticket)).one()
    assert ticket.description == (
        "The invoice PDF will not open & shows a blank page.\n\nClick here for the screenshot.\n\n"
        "> An older mail quoted here."
    )
    for unsafe in ("<script", "alert", "javascript:", "onclick", "onerror", "<img", "color: red"):
        assert unsafe not in ticket.description and unsafe not in ticket.description_html


# The same mail twice


def test_the_same_answer_twice_is_stored_once(take_in, ticket, answer):
    raw = answer("apple_mail_reply.eml")
    assert take_in(raw).action == "added"
    assert take_in(raw).action == "duplicate"
    assert len(messages_of(ticket)) == 1


def test_the_same_new_mail_twice_opens_one_ticket_even_after_the_key_expired(take_in):
    raw = eml("new_ticket.eml")
    assert take_in(raw).action == "opened"
    from helpdesk.models import IdempotencyKey

    with write_transaction():
        db.session.execute(db.delete(IdempotencyKey))  # as the worker does after 24 hours
    assert take_in(raw).action == "duplicate"
    assert counts()["tickets"] == 1


def test_an_answer_to_the_mail_that_opened_a_ticket_threads_onto_it(take_in):
    take_in(eml("new_ticket.eml"))
    follow_up = eml("new_ticket.eml").replace(
        b"Message-ID: <new-ticket-0001@newcustomer.example>",
        b"Message-ID: <new-ticket-0002@newcustomer.example>\r\n"
        b"In-Reply-To: <new-ticket-0001@newcustomer.example>",
    )
    outcome = take_in(follow_up)
    assert outcome.action == "added"
    assert counts()["tickets"] == 1


# Ignored


@pytest.mark.parametrize(
    "fixture, reason",
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("bulk.eml", "Precedence: bulk"),
        ("bounce.eml", "Auto-Submitted"),
    ],
)
def test_automatic_mail_is_ignored_and_writes_nothing(take_in, answer, fixture, reason):
    before = counts()
    outcome = take_in(answer(fixture))
    assert outcome.action == "ignored" and reason in outcome.detail
    assert counts() == before


@pytest.mark.parametrize(
    "change",
    [
        (b"Auto-Submitted: auto-replied\r\n", b""),  # the bounce by its Return-Path <>
        (b"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
         b"To: support@helpdesk.test\r\n", b"From: postmaster@mx.example.org\r\n"),  # by sender
    ],
)
def test_bounces_are_recognised_without_auto_submitted(take_in, change):
    before = counts()
    raw = eml("bounce.eml").replace(b"Auto-Submitted: auto-replied\r\n", b"").replace(*change)
    outcome = take_in(raw)
    assert outcome.action == "ignored" and "bounce" in outcome.detail
    assert counts() == before


def test_a_multipart_report_is_a_bounce(take_in):
    raw = (eml("bounce.eml").replace(b"Auto-Submitted: auto-replied\r\n", b"")
           .replace(b"Return-Path: <>\r\n", b"").replace(b"MAILER-DAEMON", b"relay"))
    assert take_in(raw).detail == "a bounce (delivery status notification)"


@pytest.mark.parametrize(
    "sender", ["helpdesk@localhost", "support@helpdesk.test", "support+abc@helpdesk.test"]
)
def test_our_own_mail_is_ignored(app, take_in, sender):
    app.config["SUPPORT_ADDRESS"] = "Support <support@helpdesk.test>"
    raw = eml("new_ticket.eml").replace(b"Nora New <nora@newcustomer.example>", sender.encode())
    outcome = take_in(raw)
    assert outcome.action == "ignored" and "sent by this helpdesk" in outcome.detail
    assert counts()["tickets"] == 0


def test_a_flooding_sender_is_ignored_once_over_the_limit(app, take_in):
    app.config["INGEST_FLOOD_LIMIT"] = 3
    outcomes = []
    for n in range(5):
        raw = eml("new_ticket.eml").replace(b"new-ticket-0001", f"flood-{n}".encode())
        outcomes.append(take_in(raw).action)
    assert outcomes == ["opened", "opened", "opened", "ignored", "ignored"]
    assert counts()["tickets"] == 3


# Failures


@pytest.mark.parametrize(
    "raw, reason",
    [
        (eml("garbage.eml"), "From: missing"),
        (eml("bad_charset.eml"), "body: undecodable charset"),
        (b"Subject: no sender\r\n\r\nHello\r\n", "From: missing"),
        (b"From: not an address at all\r\nSubject: x\r\n\r\nHello\r\n", "From:"),
    ],
)
def test_bad_mail_is_kept_as_a_failure_and_nothing_else(take_in, raw, reason):
    before = counts()
    outcome = take_in(raw)
    assert outcome.action == "failed" and reason in outcome.detail
    after = counts()
    assert after == before | {"failures": before["failures"] + 1}
    failure = db.session.scalars(db.select(IngestFailure)).one()
    assert reason in failure.reason and failure.raw


def test_oversized_mail_is_a_failure(app, take_in):
    app.config["INGEST_MAX_BYTES"] = 1000
    raw = eml("new_ticket.eml") + b"x" * 2000
    outcome = take_in(raw)
    assert outcome.action == "failed" and "more than the 1000 allowed" in outcome.detail
    failure = db.session.scalars(db.select(IngestFailure)).one()
    assert (failure.sender, failure.subject) == ("Nora New <nora@newcustomer.example>", "Printer on fire")
    assert len(failure.raw) <= ingest.RAW_KEPT
    assert counts()["tickets"] == 0


def test_a_crash_while_storing_an_answer_leaves_nothing_half_written(take_in, ticket, answer, monkeypatch):
    """The message is added, then reopening fails: the message goes with it."""
    with write_transaction():
        db.session.get(Ticket, ticket.id).status = Status.WAITING
    before = counts()

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tickets, "change_status", broken)
    outcome = take_in(answer("apple_mail_reply.eml"))
    assert outcome.action == "failed" and "RuntimeError: disk on fire" in outcome.detail
    assert counts() == before | {"failures": before["failures"] + 1}
    assert db.session.get(Ticket, ticket.id).status == Status.WAITING


def test_quota_reached_is_a_failure_not_a_crash(take_in, org):
    from helpdesk.models import Organization

    with write_transaction():
        db.session.get(Organization, org.id).monthly_quota = 0
    outcome = take_in(eml("new_ticket.eml"))
    assert outcome.action == "failed" and "quota" in outcome.detail
    assert counts()["tickets"] == 0 and counts()["failures"] == 1


def test_mail_for_another_organization_s_ticket_does_not_thread(take_in, answer, ticket):
    other = factories.make_org(name="Other", slug="other", prefix="OTH")
    raw = answer("apple_mail_reply.eml")
    outcome = ingest.ingest(db.session.merge(other), raw)
    assert outcome.action == "opened" and outcome.ticket.startswith("OTH-")


def test_a_long_mail_is_taken_in_quickly_and_cut_to_the_description_limit(take_in):
    import time

    raw = eml("new_ticket.eml").replace(b"smoke everywhere.", b"smoke everywhere. " * 400_000)
    started = time.monotonic()
    assert take_in(raw).action == "opened"
    assert time.monotonic() - started < 10
    ticket = db.session.scalars(db.select(Ticket)).one()
    assert len(ticket.description) == tickets.MAX_DESCRIPTION


def test_a_duplicate_that_slips_past_the_checks_is_stopped_by_the_unique_index(
    take_in, ticket, answer, monkeypatch
):
    """Two deliveries of one answer at once on PostgreSQL both find it not stored yet; the
    second insert then fails on the Message-ID's unique index and is a duplicate."""
    raw = answer("apple_mail_reply.eml")
    assert take_in(raw).action == "added"
    real = ingest.already_stored
    calls = []

    def already_stored(*args):
        """Not stored, say the check before and the one in the transaction; then the truth."""
        calls.append(args)
        return False if len(calls) <= 2 else real(*args)

    monkeypatch.setattr(ingest, "already_stored", already_stored)
    assert take_in(raw).action == "duplicate"
    assert len(calls) == 3  # the third, after the unique index refused the insert
    assert len(messages_of(ticket)) == 1 and counts()["failures"] == 0
