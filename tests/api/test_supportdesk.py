"""POST /api/v1/tickets/api-create: Supportdesk's contract, field by field."""

import re
import uuid

import pytest

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import (
    Category,
    CategorySource,
    Channel,
    Notification,
    OutboxMessage,
    Tag,
    Ticket,
    TicketEvent,
)

from .. import factories
from .conftest import ticket_count

URL = "/api/v1/tickets/api-create"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# The documented example, as its Python snippet sends it.
EXAMPLE = {
    "customerExternalId": "user_42",
    "subject": "Payment failed for order #12345",
    "description": "Payment attempt failed with CARD_DECLINED. Customer has been notified by email.",
    "priority": "HIGH",
    "metadata": {"orderId": "12345", "amount": 99.9},
}


def valid(**changes):
    body = {"customerExternalId": "user_42", "subject": "Broken", "description": "It *broke*."}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False
    assert set(body) == {"success", "error", "timestamp"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert ISO_Z.match(body["timestamp"])
    if field is not None:
        assert field in [detail["field"] for detail in body["error"]["details"]], body
        assert all(set(d) == {"field", "message"} for d in body["error"]["details"])
    return body


def test_documented_example_assigns_an_available_n1_agent(api, org, customer, n1_agent):
    response = api.post(URL, json=EXAMPLE)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"  # it names a customer
    body = response.get_json()
    assert set(body) == {"success", "data", "timestamp"}
    assert body["success"] is True
    assert ISO_Z.match(body["timestamp"])
    data = body["data"]
    assert set(data) == {
        "id", "ticketNumber", "subject", "status", "priority", "channel", "customer",
        "assignedAgent", "createdAt",
    }  # fmt: skip
    uuid.UUID(data["id"])
    assert data["ticketNumber"] == f"{org.ticket_prefix}-1"
    assert data["subject"] == "Payment failed for order #12345"
    assert (data["status"], data["priority"], data["channel"]) == ("IN_PROGRESS", "HIGH", "API")
    assert data["customer"] == {
        "id": customer.public_id, "externalId": "user_42", "email": "john@acme.com"
    }
    assert data["assignedAgent"] == {
        "id": n1_agent.public_id, "name": "Agent N1", "email": "agent@acme.com"
    }
    assert ISO_Z.match(data["createdAt"])

    ticket = db.session.scalar(db.select(Ticket))
    assert ticket.public_id == data["id"]
    assert ticket.channel == Channel.API
    assert ticket.meta == {"orderId": "12345", "amount": 99.9}
    assert ticket.description_html.startswith("<p>Payment attempt failed")
    # The assignee is told: a notification, an email in the outbox, an audit trail.
    assert db.session.scalar(db.select(Notification.agent_id)) == n1_agent.id
    outbox = db.session.scalars(db.select(OutboxMessage)).all()
    assert [(m.kind, m.payload["to"]) for m in outbox] == [("email", "agent@acme.com")]
    actions = db.session.scalars(db.select(TicketEvent.action).order_by(TicketEvent.id)).all()
    assert actions == ["created", "assigned"]


def test_nobody_available_leaves_the_ticket_open_and_unassigned(api, customer, org):
    factories.make_agent(org)  # offline
    response = api.post(URL, json=EXAMPLE)
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["status"] == "OPEN"
    assert data["assignedAgent"] is None


def test_defaults_priority_medium_and_no_category_tags_or_metadata(api, customer):
    data = api.post(URL, json=valid()).get_json()["data"]
    assert data["priority"] == "MEDIUM"
    ticket = db.session.scalar(db.select(Ticket))
    assert (ticket.category, ticket.tags, ticket.meta) == (None, [], {})


@pytest.mark.parametrize("priority", ["LOW", "MEDIUM", "HIGH", "URGENT", "CRITICAL"])
def test_every_priority_is_accepted(api, customer, priority):
    assert api.post(URL, json=valid(priority=priority)).get_json()["data"]["priority"] == priority


def test_unknown_category_is_created_and_a_known_one_reused_in_any_case(api, customer, org):
    api.post(URL, json=valid(category="Billing"))
    api.post(URL, json=valid(category="BILLING"))
    categories = db.session.scalars(db.select(Category)).all()
    assert [c.name for c in categories] == ["Billing"]
    tickets = db.session.scalars(db.select(Ticket)).all()
    assert {(t.category_id, t.category_source) for t in tickets} == {
        (categories[0].id, CategorySource.API)
    }


def test_tag_ids_attach_the_organizations_tags(api, customer, org):
    with write_transaction():
        tags = [Tag(org_id=org.id, name="vip"), Tag(org_id=org.id, name="refund")]
        db.session.add_all(tags)
    ids = [tag.public_id for tag in tags]
    response = api.post(URL, json=valid(tagIds=[ids[0].upper(), ids[1], ids[0]]))
    assert response.status_code == 201
    assert sorted(t.name for t in db.session.scalar(db.select(Ticket)).tags) == ["refund", "vip"]


def test_unknown_or_foreign_tag_ids_are_a_validation_error_naming_tagIds(api, customer, org):
    other = factories.make_org()
    with write_transaction():
        foreign = Tag(org_id=other.id, name="theirs")
        db.session.add(foreign)
    for tag_id in (str(uuid.uuid4()), foreign.public_id):
        assert_error(api.post(URL, json=valid(tagIds=[tag_id])), 400, "VALIDATION_ERROR", "tagIds")
    assert ticket_count() == 0


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("customerExternalId", ..., "customerExternalId"),
        ("subject", ..., "subject"),
        ("description", ..., "description"),
        ("customerExternalId", None, "customerExternalId"),
        ("subject", None, "subject"),
        ("description", None, "description"),
        ("customerExternalId", 42, "customerExternalId"),
        ("subject", 42, "subject"),
        ("subject", ["a"], "subject"),
        ("subject", {"a": 1}, "subject"),
        ("subject", True, "subject"),
        ("description", 1.5, "description"),
        ("priority", 3, "priority"),
        ("priority", None, "priority"),
        ("category", 7, "category"),
        ("metadata", "orderId=1", "metadata"),
        ("metadata", [1, 2], "metadata"),
        ("tagIds", "not-a-list", "tagIds"),
        ("tagIds", [1], "tagIds.0"),
        ("tagIds", ["not-a-uuid"], "tagIds.0"),
        ("priority", "high", "priority"),
        ("priority", "High", "priority"),
        ("priority", "HІGH", "priority"),  # Cyrillic І
        ("priority", "HIGH ", "priority"),
        ("priority", "", "priority"),
        ("subject", "", "subject"),
        ("subject", "   ", "subject"),
        ("customerExternalId", "", "customerExternalId"),
        ("description", "", "description"),
        ("subject", "x" * 256, "subject"),
        ("customerExternalId", "x" * 256, "customerExternalId"),
        ("description", "x" * 65537, "description"),
        ("category", "x" * 101, "category"),
        ("tagIds", [str(uuid.uuid4()) for _ in range(51)], "tagIds"),
        ("metadata", {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}, "metadata"),
        ("metadata", {"blob": "x" * 17000}, "metadata"),
        ("subject", "nul\x00byte", "subject"),
        ("metadata", {"k": "nul\x00"}, "metadata"),
    ],
)
def test_each_bad_field_is_a_400_naming_it(api, customer, field, value, where):
    response = api.post(URL, json=valid(**{field: value}))
    body = assert_error(response, 400, "VALIDATION_ERROR", where)
    assert body["error"]["details"][0]["message"]
    assert ticket_count() == 0


def test_the_longest_allowed_values_are_accepted(api, org):
    factories.make_customer(org, external_id="x" * 255)
    response = api.post(
        URL, json=valid(customerExternalId="x" * 255, subject="s" * 255, description="[" * 65536)
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b"[]", b'"text"', b"null", b"42", b'{"subject": NaN}'],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, customer, raw):
    assert_error(api.post(URL, data=raw), 400, "VALIDATION_ERROR", "body")


@pytest.mark.parametrize(
    "key_headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "hd_wrong"}, {"X-API-Key": "x" * 500}],
)
def test_missing_or_invalid_key_is_401(client, customer, key_headers):
    assert_error(client.post(URL, json=EXAMPLE, headers=key_headers), 401, "UNAUTHORIZED")
    assert ticket_count() == 0


def test_revoked_key_is_401(client, org, customer):
    from helpdesk import accounts
    from helpdesk.models import ApiKey

    key, secret = factories.make_api_key(org)
    assert client.post(URL, json=EXAMPLE, headers={"X-API-Key": secret}).status_code == 201
    with write_transaction():
        accounts.revoke_api_key(db.session.get(ApiKey, key.id))
    assert_error(client.post(URL, json=EXAMPLE, headers={"X-API-Key": secret}), 401, "UNAUTHORIZED")


def test_header_name_is_case_insensitive(client, secret, customer):
    assert client.post(URL, json=EXAMPLE, headers={"x-api-key": secret}).status_code == 201


def test_unknown_customer_is_404_customer_not_found(api, customer):
    assert_error(api.post(URL, json=valid(customerExternalId="nobody")), 404, "CUSTOMER_NOT_FOUND")
    assert ticket_count() == 0


def test_another_organizations_customer_is_not_found(api, org):
    other = factories.make_org()
    factories.make_customer(other, external_id="theirs")
    assert_error(api.post(URL, json=valid(customerExternalId="theirs")), 404, "CUSTOMER_NOT_FOUND")


def test_monthly_quota_is_403_plan_limit_reached_and_creates_nothing(client, customer, org):
    from helpdesk.models import Organization

    with write_transaction():
        db.session.get(Organization, org.id).monthly_quota = 2
    headers = {"X-API-Key": factories.make_api_key(org)[1]}
    assert [client.post(URL, json=valid(), headers=headers).status_code for _ in range(2)] == [201, 201]
    assert_error(client.post(URL, json=valid(), headers=headers), 403, "PLAN_LIMIT_REACHED")
    assert ticket_count() == 2
    # The refused request used no number: the next month's first ticket continues at 3.
    assert db.session.scalar(db.select(Organization.ticket_seq).where(Organization.id == org.id)) == 2


def test_body_over_the_limit_is_413_before_parsing(app, api, customer):
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = b'{"subject": "' + b"x" * limit + b'"}'
    assert_error(api.post(URL, data=raw), 413, "PAYLOAD_TOO_LARGE")
    assert ticket_count() == 0


def test_metadata_bounds_come_from_configuration(app, api, customer):
    app.config["METADATA_MAX_DEPTH"] = 2
    assert api.post(URL, json=valid(metadata={"a": {"b": 1}})).status_code == 201
    assert_error(api.post(URL, json=valid(metadata={"a": {"b": {}}})), 400, "VALIDATION_ERROR", "metadata")
    app.config["METADATA_MAX_BYTES"] = 20
    assert_error(api.post(URL, json=valid(metadata={"a": "x" * 30})), 400, "VALIDATION_ERROR", "metadata")


def test_unknown_fields_are_ignored(api, customer):
    assert api.post(URL, json=valid(channel="EMAIL", extra={"x": 1})).get_json()["data"]["channel"] == "API"


def test_routes_under_api_answer_in_the_json_envelope(api):
    assert_error(api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_error(api.get("/api/v1/customers"), 405, "METHOD_NOT_ALLOWED")
