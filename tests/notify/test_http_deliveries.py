"""Slack messages and signed webhooks, sent by the worker to a real HTTP receiver."""

import hashlib
import hmac
import json
import socket
import time

import pytest

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.delivery.http import BlockedURL, resolve
from helpdesk.extensions import db
from helpdesk.models import MessageRole, OutboxStatus, Priority, Ticket, Webhook
from helpdesk.tickets import NewMessage
from helpdesk.validation import InvalidValue
from helpdesk.webhooks import create_webhook, delete_webhook
from helpdesk.worker import Worker

from .. import factories
from .conftest import outbox_rows

SECRET = "s3cret-s3cret-s3cret"


def run_worker(app) -> int:
    return Worker(app).run_once()


def set_slack_url(org, url):
    # accounts.create_org insists on https://; the receiver is plain http on 127.0.0.1.
    with write_transaction():
        db.session.merge(org).slack_webhook_url = url


def add_webhook(org, url, events=(), secret=SECRET):
    with write_transaction():
        return create_webhook(db.session.merge(org), url, secret=secret, events=events, allow_private=True)


def test_slack_message_holds_title_number_priority_customer_first_message_and_link(
    notify_app, http_receiver, org
):
    set_slack_url(org, http_receiver.url + "/services/T0/B0/token")
    customer = factories.make_customer(org, email="john.doe@example.com")
    ticket = factories.make_ticket(
        org,
        customer=customer,
        subject="Device overheating during charging",
        priority=Priority.HIGH,
        description=None,
        messages=[
            NewMessage(MessageRole.CUSTOMER, "My device gets very hot when I plug it in to charge."),
            NewMessage(MessageRole.BOT, "How long has this been happening?"),
            NewMessage(MessageRole.CUSTOMER, "Started about a week ago."),
        ],
    )
    run_worker(notify_app)
    [request] = http_receiver.wait_for(1)
    assert request.path == "/services/T0/B0/token"
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    everything = json.dumps(body)
    assert "My device gets very hot when I plug it in to charge." in body["text"]
    assert "Started about a week ago." not in everything  # only the first customer message
    assert "How long" not in everything
    for expected in (ticket.reference, "Device overheating during charging", "HIGH",
                     "john.doe@example.com", f"http://helpdesk.test/tickets/{ticket.reference}"):
        assert expected in everything
    [row] = outbox_rows(kind="slack")
    assert row.status == OutboxStatus.SENT


def test_slack_gets_the_description_when_there_are_no_messages_and_escapes_it(
    notify_app, http_receiver, org
):
    set_slack_url(org, http_receiver.url + "/hook")
    factories.make_ticket(org, description="Total <b>& broken</b>")
    run_worker(notify_app)
    body = http_receiver.wait_for(1)[0].json()
    assert "Total &lt;b&gt;&amp; broken&lt;/b&gt;" in body["text"]


def test_no_slack_url_no_slack_message(notify_app, org):
    factories.make_ticket(org)
    assert outbox_rows(kind="slack") == []


def signature_ok(request, secret=SECRET) -> bool:
    """What a receiver does: recompute the HMAC over timestamp.body, compare in constant time."""
    timestamp = request.headers["X-Helpdesk-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), request.headers["X-Helpdesk-Signature"])


def test_webhooks_are_signed_and_carry_created_and_assigned_events(
    notify_app, http_receiver, org, available_agent
):
    add_webhook(org, http_receiver.url + "/in")
    ticket = factories.make_ticket(org, subject="Refund not received")
    run_worker(notify_app)
    requests = http_receiver.wait_for(2)
    by_event = {r.headers["X-Helpdesk-Event"]: r for r in requests}
    # One worker delivers in order: the creation before the assignment it caused.
    assert [r.headers["X-Helpdesk-Event"] for r in requests] == ["ticket.created", "ticket.assigned"]
    for event, request in by_event.items():
        assert signature_ok(request)
        assert not signature_ok(request, secret="another-secret-value")
        assert abs(int(request.headers["X-Helpdesk-Timestamp"]) - time.time()) < 60
        body = request.json()
        assert body["event"] == event
        assert body["id"] == request.headers["X-Helpdesk-Delivery"]
        assert body["data"]["ticketNumber"] == ticket.reference
        assert body["data"]["id"] == ticket.public_id
        assert body["createdAt"].endswith("Z")
    assert by_event["ticket.assigned"].json()["data"]["assignee"] == available_agent.email
    tampered = by_event["ticket.created"]
    tampered.body = tampered.body.replace(b"Refund", b"Refunx")
    assert not signature_ok(tampered)


def test_webhook_hears_only_its_events_and_ticket_updated(notify_app, http_receiver, org):
    add_webhook(org, http_receiver.url + "/updates", events=["ticket.updated"])
    ticket = factories.make_ticket(org)
    assert outbox_rows(kind="webhook") == []
    with write_transaction():  # as the desk changes it
        tickets.change_priority(db.session.get(Ticket, ticket.id), Priority.HIGH, audit.SYSTEM)
    run_worker(notify_app)
    [request] = http_receiver.wait_for(1)
    assert request.headers["X-Helpdesk-Event"] == "ticket.updated"
    assert request.json()["data"]["changes"] == {"priority": "HIGH"}
    assert request.json()["data"]["priority"] == "HIGH"
    assert signature_ok(request)


def test_webhook_5xx_is_retried_with_the_same_delivery_id(notify_app, http_receiver, org):
    add_webhook(org, http_receiver.url + "/flaky", events=["ticket.created"])
    http_receiver.statuses = [503]
    factories.make_ticket(org)
    run_worker(notify_app)
    [row] = outbox_rows(kind="webhook")
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "HTTP 503" in row.last_error
    time.sleep(0.06)  # the test backoff is at most 50 ms
    run_worker(notify_app)
    first, second = http_receiver.wait_for(2)
    assert first.headers["X-Helpdesk-Delivery"] == second.headers["X-Helpdesk-Delivery"] == str(row.id)
    [row] = outbox_rows(kind="webhook")
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


def test_webhook_4xx_fails_at_once(notify_app, http_receiver, org):
    add_webhook(org, http_receiver.url + "/gone", events=["ticket.created"])
    http_receiver.statuses = [410]
    factories.make_ticket(org)
    run_worker(notify_app)
    [row] = outbox_rows(kind="webhook")
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert "HTTP 410" in row.last_error


def test_deliveries_of_a_deleted_webhook_fail_without_sending(notify_app, http_receiver, org):
    hook = add_webhook(org, http_receiver.url + "/x", events=["ticket.created"])
    factories.make_ticket(org)
    with write_transaction():
        delete_webhook(db.session.get(Webhook, hook.id))
    run_worker(notify_app)
    [row] = outbox_rows(kind="webhook")
    assert row.status == OutboxStatus.FAILED and "deleted" in row.last_error
    assert http_receiver.requests == []


def test_a_silent_receiver_times_out_quickly_and_is_retried(notify_app, org):
    # Accepts connections (the kernel's backlog) but never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        add_webhook(org, f"http://127.0.0.1:{silent.getsockname()[1]}/", events=["ticket.created"])
        notify_app.config["WEBHOOK_TIMEOUT"] = 0.5
        factories.make_ticket(org)
        run_worker(notify_app)  # comes back: the delivery gave up after WEBHOOK_TIMEOUT
    finally:
        silent.close()
    [row] = outbox_rows(kind="webhook")
    assert row.status == OutboxStatus.PENDING and "timed out" in row.last_error


# --- SSRF guard -------------------------------------------------------------------------

REFUSED = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://224.0.0.1/",
    # IPv6 forms that carry an IPv4 address, and site-local space
    "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
    "http://[::a00:5]/",  # IPv4-compatible 10.0.0.5
    "http://[::ffff:0:7f00:1]/",  # IPv4-translated 127.0.0.1
    "http://[64:ff9b::7f00:1]/",  # NAT64 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 169.254.169.254
    "http://[64:ff9b:1::a00:5]/",  # local-use NAT64
    "http://[2002:7f00:1::]/",  # 6to4 127.0.0.1
    "http://[2002:c0a8:10a::1]/",  # 6to4 192.168.1.10
    "http://[fec0::1]/",
    "http://[feff::1]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_and_link_local_targets_are_refused(url):
    with pytest.raises(BlockedURL, match="private or local"):
        resolve(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost",
            "http://user:pw@127.0.0.1/", "http://127.0.0.1:99999/"]
)
def test_only_plain_http_urls_are_accepted(url):
    with pytest.raises(BlockedURL):
        resolve(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::808:808]/", "http://[2002:808:808::1]/", "http://[2606:4700::1111]/"]
)
def test_ipv6_forms_of_public_addresses_are_accepted(url):
    assert resolve(url, allow_private=False).address == url[8:-2]


def test_allowing_private_targets_is_explicit():
    assert resolve("http://127.0.0.1:9/x?y=1", allow_private=True).path == "/x?y=1"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/", "http://169.254.169.254/", "ftp://x.org/"])
def test_creating_a_webhook_to_a_refused_url_names_the_url_field(app, org, url):
    with pytest.raises(InvalidValue) as error, write_transaction():
        create_webhook(db.session.merge(org), url)
    assert error.value.field == "url"
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 0


def test_webhook_events_and_secret_are_checked(app, org):
    with pytest.raises(InvalidValue) as error, write_transaction():
        create_webhook(db.session.merge(org), "http://127.0.0.1/", events=["ticket.deleted"],
                       allow_private=True)
    assert error.value.field == "events"
    with pytest.raises(InvalidValue) as error, write_transaction():
        create_webhook(db.session.merge(org), "http://127.0.0.1/", secret="short", allow_private=True)
    assert error.value.field == "secret"


def test_the_worker_refuses_a_private_target_unless_allowed(app, http_receiver, org):
    """A hook stored while private targets were allowed is refused once they are not."""
    add_webhook(org, http_receiver.url + "/internal", events=["ticket.created"])
    set_slack_url(org, http_receiver.url + "/slack")
    factories.make_ticket(org)
    assert not app.config["WEBHOOK_ALLOW_PRIVATE"]
    run_worker(app)
    rows = outbox_rows()
    assert {row.kind for row in rows} == {"webhook", "slack"}
    for row in rows:
        assert row.status == OutboxStatus.FAILED
        assert "private or local address" in row.last_error
    assert http_receiver.requests == []


def test_a_creation_reads_the_webhook_list_once(notify_app, org, available_agent):
    """Created and assigned both go to the webhook; the list is read once (before the
    write lock when the caller prepares the ticket first, as the API does)."""
    from sqlalchemy import event

    add_webhook(org, "http://127.0.0.1:9/in")
    reads = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().startswith("SELECT") and "FROM webhooks" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        factories.make_ticket(org)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(reads) == 1
    events = [row.payload["event"] for row in outbox_rows(kind="webhook")]
    assert events == ["ticket.created", "ticket.assigned"]


def test_a_webhook_added_after_an_event_hears_the_next_one(notify_app, org):
    """The list read once per transaction is read again in the next one."""
    from helpdesk import audit, tickets

    ticket = factories.make_ticket(org)  # its events found no webhook
    add_webhook(org, "http://127.0.0.1:9/in", events=["ticket.updated"])
    with write_transaction():
        tickets.change_priority(db.session.merge(ticket), Priority.URGENT, audit.SYSTEM)
    assert [row.payload["event"] for row in outbox_rows(kind="webhook")] == ["ticket.updated"]
