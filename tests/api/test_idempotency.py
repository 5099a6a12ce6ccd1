"""Idempotency-Key on both create endpoints: a retry replays, another body is a conflict."""

import pytest

from helpdesk.extensions import db
from helpdesk.models import IdempotencyKey, Ticket

from .. import factories
from .conftest import ticket_count
from .test_supportdesk import assert_error

V1 = "/api/v1/tickets/api-create"
EXT = "/api/ext-v1/ticket/createTicket"
BODY = {"customerExternalId": "user_42", "subject": "Payment failed", "description": "Declined."}


def test_retry_with_the_same_key_replays_the_first_response(api, customer):
    first = api.post(V1, json=BODY, extra={"Idempotency-Key": "k-1"})
    again = api.post(V1, json=BODY, extra={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert ticket_count() == 1


def test_spacing_and_key_order_do_not_make_another_body(api, customer):
    api.post(V1, json=BODY, extra={"Idempotency-Key": "k-2"})
    raw = b'{ "description" : "Declined.", "subject":"Payment failed","customerExternalId":"user_42"}'
    assert api.post(V1, data=raw, extra={"Idempotency-Key": "k-2"}).status_code == 201
    assert ticket_count() == 1


def test_same_key_with_another_body_is_409_and_creates_nothing(api, customer):
    api.post(V1, json=BODY, extra={"Idempotency-Key": "k-3"})
    response = api.post(V1, json=BODY | {"subject": "Other"}, extra={"Idempotency-Key": "k-3"})
    assert_error(response, 409, "IDEMPOTENCY_CONFLICT", "Idempotency-Key")
    assert ticket_count() == 1


def test_without_a_key_every_request_creates(api, customer):
    api.post(V1, json=BODY)
    api.post(V1, json=BODY)
    assert ticket_count() == 2


def test_keys_belong_to_one_organization_and_one_endpoint(api, client, customer, org):
    other = factories.make_org()
    factories.make_customer(other, external_id="user_42")
    other_key = factories.make_api_key(other)[1]
    api.post(V1, json=BODY, extra={"Idempotency-Key": "shared"})
    theirs = client.post(V1, json=BODY, headers={"X-API-Key": other_key, "Idempotency-Key": "shared"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    ext = api.post(EXT, json={"title": "x", "customerEmail": "a@b.org"}, extra={"Idempotency-Key": "shared"})
    assert ext.status_code == 200 and "Idempotent-Replayed" not in ext.headers
    assert ticket_count() == 3


def test_telemetron_retry_returns_the_same_ticket_id(api, org):
    body = {"title": "Device offline", "customerEmail": "a@b.org"}
    first = api.post(EXT, json=body, extra={"Idempotency-Key": "t-1"})
    again = api.post(EXT, json=body, extra={"Idempotency-Key": "t-1"})
    assert again.get_json() == first.get_json() and again.status_code == 200
    conflict = api.post(EXT, json=body | {"priority": "low"}, extra={"Idempotency-Key": "t-1"})
    assert conflict.status_code == 409
    assert conflict.get_json() == {"success": False, "message": conflict.get_json()["message"]}
    assert ticket_count() == 1


def test_a_failed_request_is_not_remembered(api, org):
    assert api.post(V1, json=BODY, extra={"Idempotency-Key": "k-4"}).status_code == 404
    factories.make_customer(org, external_id="user_42")
    assert api.post(V1, json=BODY, extra={"Idempotency-Key": "k-4"}).status_code == 201
    assert db.session.scalar(db.select(db.func.count(IdempotencyKey.id))) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
def test_an_unusable_key_is_400(api, customer, key):
    assert_error(api.post(V1, json=BODY, extra={"Idempotency-Key": key}), 400, "VALIDATION_ERROR",
                 "Idempotency-Key")  # fmt: skip
    assert ticket_count() == 0


def test_an_old_key_is_forgotten(api, customer):
    from datetime import timedelta

    from helpdesk.db import write_transaction
    from helpdesk.idempotency import RETENTION

    api.post(V1, json=BODY, extra={"Idempotency-Key": "k-5"})
    with write_transaction():
        stored = db.session.scalar(db.select(IdempotencyKey))
        stored.created_at -= RETENTION + timedelta(minutes=1)
    assert api.post(V1, json=BODY | {"subject": "New"}, extra={"Idempotency-Key": "k-5"}).status_code == 201
    assert db.session.scalars(db.select(Ticket.subject).order_by(Ticket.id)).all() == [
        "Payment failed", "New"
    ]


def test_the_worker_forgets_keys_past_their_retention(api, customer):
    from datetime import timedelta

    from helpdesk.db import write_transaction
    from helpdesk.idempotency import RETENTION, forget_expired
    from helpdesk.models import utcnow

    for key in ("old", "new"):
        assert api.post(V1, json=BODY, extra={"Idempotency-Key": key}).status_code == 201
    with write_transaction():
        stored = db.session.scalar(db.select(IdempotencyKey).filter_by(key="old"))
        stored.created_at = utcnow() - RETENTION - timedelta(minutes=1)
    assert forget_expired() == 1
    assert db.session.scalars(db.select(IdempotencyKey.key)).all() == ["new"]
    # The forgotten key starts afresh; the kept one still replays.
    assert "Idempotent-Replayed" not in api.post(V1, json=BODY, extra={"Idempotency-Key": "old"}).headers
    assert api.post(V1, json=BODY, extra={"Idempotency-Key": "new"}).headers["Idempotent-Replayed"] == "true"
