"""The native v1 around the contracts: customers, ticket lookup and list, messages, docs."""

import pytest

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Category, Customer, Message, MessageRole, Status, Tag, Ticket, TicketEvent

from .. import factories
from .test_supportdesk import assert_error

CREATE = "/api/v1/tickets/api-create"


def create(api, **changes):
    body = {"customerExternalId": "user_42", "subject": "Broken", "description": "It *broke*."}
    response = api.post(CREATE, json=body | changes)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


# --- Customers ----------------------------------------------------------------------------


def test_upsert_creates_then_updates_by_external_id(api, org):
    response = api.post("/api/v1/customers", json={"externalId": "u1", "email": "A@X.org"})
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert (data["externalId"], data["email"], data["name"]) == ("u1", "a@x.org", None)
    again = api.post("/api/v1/customers", json={"externalId": "u1", "name": "Ann"})
    assert again.status_code == 200
    assert again.get_json()["data"] | {"name": None} == data
    assert again.get_json()["data"]["name"] == "Ann"
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


def test_upsert_by_email_adds_the_external_id(api, org):
    factories.make_customer(org, external_id=None, email="b@x.org")
    response = api.post("/api/v1/customers", json={"email": "b@x.org", "externalId": "u2"})
    assert response.status_code == 200
    assert response.get_json()["data"]["externalId"] == "u2"


def test_upsert_refuses_an_email_that_belongs_to_another_customer(api, org):
    factories.make_customer(org, external_id="u1", email="one@x.org")
    factories.make_customer(org, external_id="u2", email="two@x.org")
    response = api.post("/api/v1/customers", json={"externalId": "u1", "email": "two@x.org"})
    assert_error(response, 409, "CONFLICT", "email")


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "externalId"), ({"name": "x"}, "externalId"), ({"email": "nope"}, "email"),
     ({"externalId": 1}, "externalId"), ({"externalId": "x" * 256}, "externalId")],
)  # fmt: skip
def test_upsert_validation(api, org, body, field):
    assert_error(api.post("/api/v1/customers", json=body), 400, "VALIDATION_ERROR", field)


def test_get_customer_by_external_id(api, customer):
    data = api.get("/api/v1/customers/user_42").get_json()["data"]
    assert (data["id"], data["email"]) == (customer.public_id, "john@acme.com")
    assert_error(api.get("/api/v1/customers/nobody"), 404, "CUSTOMER_NOT_FOUND")


def test_another_organizations_customer_is_404(api, org):
    factories.make_customer(factories.make_org(), external_id="theirs")
    assert_error(api.get("/api/v1/customers/theirs"), 404, "CUSTOMER_NOT_FOUND")


# --- Tickets ------------------------------------------------------------------------------


def test_get_ticket_by_uuid_reference_or_number(api, customer, org):
    with write_transaction():
        tag = Tag(org_id=org.id, name="vip")
        db.session.add(tag)
    created = create(api, tagIds=[tag.public_id], category="Billing", metadata={"orderId": "1"})
    p = org.ticket_prefix
    for reference in (created["id"], f"{p}-1", f"{p.lower()}-1", "1"):
        data = api.get(f"/api/v1/tickets/{reference}").get_json()["data"]
        assert {k: data[k] for k in created} == created
        assert data["description"] == "It *broke*."
        assert data["descriptionHtml"] == "<p>It <em>broke</em>.</p>\n"
        assert data["category"] == "Billing"
        assert data["tags"] == [{"id": tag.public_id, "name": "vip"}]
        assert data["metadata"] == {"orderId": "1"}
        assert data["messages"] == []


def test_unknown_or_foreign_ticket_is_404(api, customer, org):
    theirs = factories.make_ticket(factories.make_org())
    for reference in (f"{org.ticket_prefix}-99", "99", theirs.public_id, "nonsense", "%00"):
        assert_error(api.get(f"/api/v1/tickets/{reference}"), 404, "NOT_FOUND")


def test_post_message_appends_to_the_conversation(api, customer, org):
    created = create(api)
    response = api.post(f"/api/v1/tickets/{created['id']}/messages",
                        json={"role": "customer", "content": "Still **broken**"})  # fmt: skip
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert (data["role"], data["content"]) == ("customer", "Still **broken**")
    assert data["contentHtml"] == "<p>Still <strong>broken</strong></p>\n"
    messages = api.get(f"/api/v1/tickets/{org.ticket_prefix}-1").get_json()["data"]["messages"]
    assert messages == [data]
    assert db.session.scalar(
        db.select(TicketEvent.actor_label).where(TicketEvent.action == "message")
    ) == "API key test key"


def test_internal_notes_never_leave_through_the_api(api, customer):
    from helpdesk import audit
    from helpdesk.markdown import rendered
    from helpdesk.tickets import add_message

    create(api)
    with write_transaction():
        add_message(db.session.scalar(db.select(Ticket)), MessageRole.AGENT, rendered("secret note"),
                    audit.SYSTEM, internal=True)  # fmt: skip
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1
    assert api.get("/api/v1/tickets/1").get_json()["data"]["messages"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"content": "x"}, "role"), ({"role": "admin", "content": "x"}, "role"),
     ({"role": "bot"}, "content"), ({"role": "bot", "content": ""}, "content")],
)  # fmt: skip
def test_post_message_validation(api, customer, body, field):
    create(api)
    assert_error(api.post("/api/v1/tickets/1/messages", json=body), 400, "VALIDATION_ERROR", field)
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_post_message_to_unknown_ticket_is_404(api, customer):
    assert_error(api.post("/api/v1/tickets/5/messages", json={"role": "bot", "content": "x"}),
                 404, "NOT_FOUND")  # fmt: skip


def test_list_filters_by_customer_and_status_and_pages(api, customer, org):
    factories.make_customer(org, external_id="other")
    for n in range(5):
        create(api, subject=f"mine {n}")
    create(api, customerExternalId="other", subject="theirs")
    with write_transaction():
        db.session.scalar(db.select(Ticket).where(Ticket.number == 2)).status = Status.RESOLVED

    seen, cursor = [], None
    for _ in range(5):
        query = "customerExternalId=user_42&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/api/v1/tickets?{query}").get_json()
        seen += [t["ticketNumber"] for t in body["data"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"{org.ticket_prefix}-{n}" for n in (5, 4, 3, 2, 1)]

    resolved = api.get("/api/v1/tickets?status=RESOLVED").get_json()
    assert [t["ticketNumber"] for t in resolved["data"]] == [f"{org.ticket_prefix}-2"]
    assert resolved["nextCursor"] is None
    everything = api.get("/api/v1/tickets").get_json()["data"]
    assert len(everything) == 6 and everything[0]["subject"] == "theirs"
    # A cursor past every 32-bit number pages from the newest (PostgreSQL once answered 500).
    beyond = api.get("/api/v1/tickets?cursor=443296404115&customerExternalId=user_42")
    assert beyond.status_code == 200 and len(beyond.get_json()["data"]) == 5


def test_list_never_shows_another_organizations_tickets(api, customer):
    factories.make_ticket(factories.make_org())
    assert api.get("/api/v1/tickets").get_json()["data"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("status=open", "status"),
     ("status=DONE", "status"), ("cursor=-1", "cursor"), ("cursor=x", "cursor")],
)  # fmt: skip
def test_list_validation(api, customer, query, field):
    assert_error(api.get(f"/api/v1/tickets?{query}"), 400, "VALIDATION_ERROR", field)


def test_list_for_unknown_customer_is_404(api, customer):
    assert_error(api.get("/api/v1/tickets?customerExternalId=nobody"), 404, "CUSTOMER_NOT_FOUND")


# --- Documents ----------------------------------------------------------------------------


def test_openapi_document_is_3_1_and_uses_the_request_models(client):
    from helpdesk.api import schemas

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    components = document["components"]["schemas"]
    assert components["ApiCreateTicket"] == schemas.ApiCreateTicket.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    create_op = document["paths"]["/api/v1/tickets/api-create"]["post"]
    assert set(create_op["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "429"}
    assert components["ApiCreateTicket"]["required"] == ["customerExternalId", "subject", "description"]
    assert "/api/ext-v1/ticket/createTicket" in document["paths"]


def test_docs_page_lists_every_operation(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for path in ("/api/v1/tickets/api-create", "/api/ext-v1/ticket/createTicket", "/api/v1/customers"):
        assert path in text
    assert "<script" not in text


def write_lock_is_held(org_id: int) -> bool:
    """Whether a writer holds the organization's write lock now: SQLite's lock file, or on
    PostgreSQL the organization's row (asked from a connection of its own)."""
    import fcntl
    import os

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    if db.engine.dialect.name != "sqlite":
        with db.engine.connect() as probe:
            try:
                probe.execute(
                    text("SELECT id FROM organizations WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": org_id},
                )
                return False
            except OperationalError:
                return True
            finally:
                probe.rollback()
    probe = os.open(db.engine.url.database + ".writelock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(probe)


def statements_seen(org_id: int):
    """A recorder of every SQL statement the app runs: (write lock held?, the statement)."""
    seen: list[tuple[bool, str]] = []
    probing = False

    def before(_connection, _cursor, statement, *_):
        nonlocal probing
        if not probing:  # the probe's own statement is not the app's
            probing = True
            try:
                seen.append((write_lock_is_held(org_id), " ".join(statement.split())))
            finally:
                probing = False

    return seen, before


def reads(statements: list[str], table: str) -> bool:
    return any(sql.startswith("SELECT") and f" FROM {table} " in f"{sql} " for sql in statements)


def test_under_the_write_lock_a_creation_reads_only_the_number_and_the_agent(api, org, customer, n1_agent):
    """No other writer waits on what one creation can read beforehand (tickets.prepare): the
    customer, the named category and tags, the rules, the webhooks, the classifier's
    training examples. Under the lock only the number and the least-loaded agent are read
    (and an Idempotency-Key's stored answer)."""
    from sqlalchemy import event

    with write_transaction():
        db.session.add(Category(org_id=org.id, name="Billing"))
        db.session.add(Tag(org_id=org.id, name="vip"))
    vip = db.session.scalar(db.select(Tag.public_id).where(Tag.org_id == org.id))
    body = {"customerExternalId": "user_42", "subject": "Hi", "description": "x"}
    seen, before = statements_seen(org.id)
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        for sent, extra in (
            (body | {"category": "Billing", "tagIds": [vip]}, None),  # named: read beforehand
            (body, {"Idempotency-Key": "once"}),  # no category: the classifier is asked
        ):
            assert api.post("/api/v1/tickets/api-create", json=sent, extra=extra).status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    locked = [sql for held, sql in seen if held]
    unlocked = [sql for held, sql in seen if not held]
    for table in ("customers", "categories", "tags", "routing_rules", "webhooks", "tickets"):
        assert reads(unlocked, table), table
    for table in ("customers", "categories", "tags", "routing_rules", "webhooks", "api_keys"):
        assert not reads(locked, table), table
    allowed = (" FROM agents ", " FROM idempotency_keys ", "FOR UPDATE")
    other_reads = [s for s in locked if s.startswith("SELECT") and not any(a in f"{s} " for a in allowed)]
    assert other_reads == []
    assert any(sql.startswith("UPDATE organizations SET ticket_seq") for sql in locked)
