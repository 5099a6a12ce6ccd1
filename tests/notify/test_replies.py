"""An agent's reply reaches the customer: by email to a real SMTP server, and as a signed
`message.created` webhook to a real HTTP receiver; internal notes reach no one."""

from datetime import timedelta

from helpdesk import audit
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import Message, MessageRole, OutboxMessage, OutboxStatus, Ticket, utcnow
from helpdesk.tickets import add_message
from helpdesk.worker import Worker

from .. import factories
from .conftest import outbox_rows
from .test_http_deliveries import add_webhook, signature_ok


def run_worker(app) -> int:
    return Worker(app).run_once()


def reply(ticket, text, *, agent=None, internal=False, role=MessageRole.AGENT) -> Message:
    actor = audit.Actor.of(agent) if agent else audit.Actor(label="api")
    with write_transaction():
        return add_message(db.session.get(Ticket, ticket.id), role, rendered(text), actor, internal=internal)


def customer_emails(mailbox, customer) -> list:
    return [message for message in mailbox.messages if message["To"] == customer.email]


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_a_reply_is_emailed_to_the_customer_threaded_with_both_parts(notify_app, smtp_server, org):
    agent = factories.make_agent(org, name="Nina Berg")
    ada = factories.make_customer(org, email="ada@example.org", name="Ada")
    ticket = factories.make_ticket(org, ada, subject="Card declined")
    first = reply(ticket, "We are **looking** into it <script>x</script>", agent=agent)
    [row] = outbox_rows(kind="email")
    assert (row.message_id, row.payload["to"], row.status) == (
        first.id,
        "ada@example.org",
        OutboxStatus.PENDING,
    )

    run_worker(notify_app)
    [email] = smtp_server.mailbox.wait_for(1)
    assert email["To"] == "ada@example.org"
    assert smtp_server.mailbox.envelopes[0][1] == ["ada@example.org"]
    assert email["Subject"] == f"[{ticket.reference}] Card declined"
    assert email["From"].addresses[0].addr_spec == "desk@helpdesk.test"
    assert email["From"].addresses[0].display_name == org.name
    # The answer finds its ticket by the token in Reply-To, or by the Message-IDs.
    assert email["Reply-To"].addresses[0].addr_spec == f"desk+{ticket.public_id}@helpdesk.test"
    root = f"<ticket-{ticket.public_id}@helpdesk.test>"
    assert email["Message-ID"] == first.email_message_id == f"<m-{first.public_id}@helpdesk.test>"
    assert email["In-Reply-To"] == root and email["References"] == root
    text, html = parts(email)
    assert "We are **looking** into it <script>x</script>" in text and "Nina Berg" in text
    assert "<strong>looking</strong>" in html and "<script>" not in html
    assert "/tickets/" not in text + html  # no link to the agents' desk

    second = reply(ticket, "Fixed now.", agent=agent)
    run_worker(notify_app)
    later = smtp_server.mailbox.wait_for(2)[1]
    assert later["Message-ID"] == second.email_message_id
    assert later["In-Reply-To"] == first.email_message_id
    assert later["References"] == f"{root} {first.email_message_id}"
    assert [row.status for row in outbox_rows(kind="email")] == [OutboxStatus.SENT, OutboxStatus.SENT]


def test_the_reply_email_chains_an_emailed_customer_answer(notify_app, smtp_server, org):
    ticket = factories.make_ticket(org)
    with write_transaction():
        add_message(
            db.session.get(Ticket, ticket.id), MessageRole.CUSTOMER, rendered("Still broken"),
            audit.Actor(label="email"), email_message_id="<CAF123@mail.example.org>", original="Still broken",
        )  # fmt: skip
    answer = reply(ticket, "Try again now")
    run_worker(notify_app)
    [email] = [m for m in smtp_server.mailbox.wait_for(1) if m["Message-ID"] == answer.email_message_id]
    assert email["In-Reply-To"] == "<CAF123@mail.example.org>"
    assert email["References"].split() == [
        f"<ticket-{ticket.public_id}@helpdesk.test>",
        "<CAF123@mail.example.org>",
    ]


def test_message_created_webhook_carries_replies_and_customer_messages_signed(notify_app, http_receiver, org):
    add_webhook(org, http_receiver.url + "/conversation", events=["message.created"])
    agent = factories.make_agent(org, name="Nina", email="nina@example.com")
    ada = factories.make_customer(org, external_id="user_42", email="ada@example.org", name="Ada")
    ticket = factories.make_ticket(org, ada)
    from_agent = reply(ticket, "Hello *Ada*", agent=agent)
    from_customer = reply(ticket, "Thanks", role=MessageRole.CUSTOMER)
    run_worker(notify_app)
    requests = http_receiver.wait_for(2)
    assert [r.headers["X-Helpdesk-Event"] for r in requests] == ["message.created"] * 2
    assert all(signature_ok(request) for request in requests)
    first, second = (request.json()["data"] for request in requests)
    assert first["id"] == ticket.public_id and first["ticketNumber"] == ticket.reference
    assert first["customer"] == {
        "id": ada.public_id,
        "externalId": "user_42",
        "email": "ada@example.org",
        "name": "Ada",
    }
    assert first["message"]["id"] == from_agent.public_id
    assert (first["message"]["role"], first["message"]["content"]) == ("agent", "Hello *Ada*")
    assert first["message"]["html"] == "<p>Hello <em>Ada</em></p>\n"
    assert first["message"]["author"] == {"name": "Nina", "email": "nina@example.com"}
    assert (second["message"]["id"], second["message"]["role"]) == (from_customer.public_id, "customer")
    assert second["message"]["author"] is None
    assert {row.message_id for row in outbox_rows(kind="webhook")} == {from_agent.id, from_customer.id}


def test_an_internal_note_reaches_no_customer_and_no_webhook(notify_app, smtp_server, http_receiver, org):
    add_webhook(org, http_receiver.url + "/all")  # every event
    ticket = factories.make_ticket(org)
    before = {row.id for row in outbox_rows()}
    reply(ticket, "The customer sounds upset; refund?", internal=True)
    reply(ticket, "Customer note typed by an agent", internal=True, role=MessageRole.CUSTOMER)
    assert [row for row in outbox_rows() if row.id not in before] == []
    run_worker(notify_app)
    for request in http_receiver.requests:
        assert request.headers["X-Helpdesk-Event"] != "message.created"
        assert b"refund?" not in request.body
    assert all(b"refund?" not in message.as_bytes() for message in smtp_server.mailbox.messages)


def test_a_customer_without_email_gets_only_the_webhook(notify_app, http_receiver, org):
    add_webhook(org, http_receiver.url + "/bot", events=["message.created"])
    chat = factories.make_customer(org, external_id="chat_7", email=None)
    ticket = factories.make_ticket(org, chat)
    reply(ticket, "Hello from the desk")
    assert outbox_rows(kind="email") == []
    [row] = outbox_rows(kind="webhook")
    assert row.payload["data"]["message"]["content"] == "Hello from the desk"


def test_a_dead_smtp_server_delays_replies_without_losing_or_blocking_them(
    notify_app, smtp_server, http_receiver, org
):
    add_webhook(org, http_receiver.url + "/bot", events=["message.created"])
    ticket = factories.make_ticket(org)
    smtp_server.stop()
    notify_app.config.update(OUTBOX_BACKOFF_SECONDS=30, OUTBOX_BACKOFF_MAX_SECONDS=60)
    sent = [reply(ticket, f"Reply {n}") for n in range(3)]
    run_worker(notify_app)
    # The webhooks went out while the mail server was down.
    assert len(http_receiver.wait_for(3)) == 3
    emails = outbox_rows(kind="email")
    assert [(row.status, row.attempts) for row in emails] == [(OutboxStatus.PENDING, 1)] * 3
    assert all("SMTP" in row.last_error for row in emails)
    # Replying goes on while deliveries wait: the agent's write never talks to the SMTP server.
    sent.append(reply(ticket, "Reply 3"))

    smtp_server.start()
    with write_transaction():
        for row in db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "email")):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
    run_worker(notify_app)
    received = smtp_server.mailbox.wait_for(4)
    assert sorted(message["Message-ID"] for message in received) == sorted(m.email_message_id for m in sent)
    assert {row.status for row in outbox_rows(kind="email")} == {OutboxStatus.SENT}


def test_a_support_address_takes_the_answers(notify_app, smtp_server, org):
    notify_app.config["SUPPORT_ADDRESS"] = "Acme Support <help@acme.test>"
    ticket = factories.make_ticket(org)
    reply(ticket, "Hello")
    run_worker(notify_app)
    [email] = [m for m in smtp_server.mailbox.wait_for(1) if m["To"] == ticket.customer.email]
    assert email["Reply-To"].addresses[0].addr_spec == f"help+{ticket.public_id}@acme.test"
    assert email["From"].addresses[0].addr_spec == "desk@helpdesk.test"  # sent as SMTP_FROM
