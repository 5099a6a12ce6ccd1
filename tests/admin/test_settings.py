"""/admin/settings: name, prefix (old references keep resolving), quota, Slack URL and its test."""

import pytest

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Organization, OutboxMessage
from helpdesk.worker import Worker

from .. import factories
from ..notify.conftest import HttpReceiver
from .conftest import HX, admin_events

PUBLIC_SLACK = "https://93.184.216.34/services/T0/B0/secret"  # a public address: no DNS needed


def org_row(org) -> Organization:
    db.session.rollback()
    return db.session.get(Organization, org.id)


def form(org, **changes) -> dict:
    values = {"name": org.name, "ticket_prefix": org.ticket_prefix}
    return {**values, "monthly_quota": "", "slack_webhook_url": "", **changes}


def test_the_page_shows_the_settings_and_this_months_usage(admin_client, org):
    with write_transaction():
        db.session.get(Organization, org.id).monthly_quota = 10
    factories.make_ticket(org)
    factories.make_ticket(org)
    page = admin_client.get("/admin/settings", headers=HX)
    assert page.status_code == 200
    assert 'name="ticket_prefix"' in page.text and f'value="{org.ticket_prefix}"' in page.text
    assert "2 tickets this month of 10" in page.text


def test_saving_changes_each_setting_and_logs_from_and_to(admin_client, org):
    name_before, prefix_before = org.name, org.ticket_prefix
    changes = form(org, name="Acme Support", ticket_prefix="acme", monthly_quota="500",
                   slack_webhook_url=PUBLIC_SLACK)
    response = admin_client.post("/admin/settings", data=changes, headers=HX)
    assert response.status_code == 200 and "Saved." in response.text
    row = org_row(org)
    assert (row.name, row.ticket_prefix, row.monthly_quota, row.slack_webhook_url) == (
        "Acme Support", "ACME", 500, PUBLIC_SLACK)
    logged = {e.action: (e.old_value, e.new_value) for e in admin_events()}
    assert logged["org.name"] == (name_before, "Acme Support")
    assert logged["org.ticket_prefix"] == (prefix_before, "ACME")
    assert logged["org.monthly_quota"] == ("unlimited", "500")
    # The URL's secret path is not logged.
    assert logged["org.slack_webhook_url"] == (None, "https://93.184.216.34/services/…")
    # Empty quota is unlimited again.
    admin_client.post("/admin/settings", data=form(org_row(org), monthly_quota=""), headers=HX)
    assert org_row(org).monthly_quota is None
    assert admin_events(action="org.monthly_quota")[-1].new_value == "unlimited"


@pytest.mark.parametrize("field, value", [
    ("name", " "),
    ("ticket_prefix", "1AB"),
    ("ticket_prefix", "A-B"),
    ("ticket_prefix", "TOOLONGPREFIX"),
    ("monthly_quota", "-1"),
    ("monthly_quota", "ten"),
    ("monthly_quota", "1.5"),
    ("slack_webhook_url", "http://hooks.slack.com/services/x"),
    ("slack_webhook_url", "https://127.0.0.1/services/x"),
    ("slack_webhook_url", "https://10.0.0.8/services/x"),
    ("slack_webhook_url", "https://169.254.169.254/latest/meta-data"),
    ("slack_webhook_url", "https://[::1]/x"),
])
def test_bad_values_are_refused_naming_the_field_and_nothing_is_written(admin_client, org, field, value):
    before = (org.name, org.ticket_prefix, None, None)
    # A valid change to another field comes along, and is not written either.
    changes = form(org, name="Changed", **{field: value}) if field != "name" else form(org, **{field: value})
    response = admin_client.post("/admin/settings", data=changes, headers=HX)
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.text and "<html" not in response.text
    row = org_row(org)
    assert (row.name, row.ticket_prefix, row.monthly_quota, row.slack_webhook_url) == before
    assert admin_events() == []


def test_a_new_prefix_numbers_new_tickets_and_old_references_keep_resolving(app, admin_client, org, admin):
    old_prefix = org.ticket_prefix
    old = factories.make_ticket(org, subject="Before the change")
    _, secret = factories.make_api_key(org)
    response = admin_client.post("/admin/settings", data=form(org, ticket_prefix="ACME"), headers=HX)
    assert response.status_code == 200
    new = factories.make_ticket(org, subject="After the change")
    assert new.reference == f"ACME-{new.number}" and new.number == old.number + 1
    key = {"X-API-Key": secret}
    for number, subject in ((old.number, "Before the change"), (new.number, "After the change")):
        for prefix in (old_prefix, "ACME", "acme"):
            page = admin_client.get(f"/tickets/{prefix}-{number}")
            assert page.status_code == 200 and subject in page.text, (prefix, number)
            api = admin_client.get(f"/api/v1/tickets/{prefix}-{number}", headers=key)
            assert api.status_code == 200 and api.json["data"]["subject"] == subject, (prefix, number)
            assert api.json["data"]["ticketNumber"] == f"ACME-{number}"
    # A prefix this organization never had finds nothing, even with a number it has.
    other = factories.make_org(name="Other", slug="other-org", prefix="OTH")
    theirs = factories.make_ticket(other, subject="Theirs")
    assert admin_client.get(f"/tickets/OTH-{old.number}").status_code == 404
    assert admin_client.get(f"/api/v1/tickets/OTH-{old.number}", headers=key).status_code == 404
    assert admin_client.get(f"/tickets/{theirs.public_id}").status_code == 404
    assert admin_client.get(f"/api/v1/tickets/{theirs.public_id}", headers=key).status_code == 404
    assert admin_client.get("/tickets/NEVER-1").status_code == 404


def test_every_former_prefix_is_remembered_once(admin_client, org):
    first = org.ticket_prefix
    ticket = factories.make_ticket(org, subject="Kept")
    for prefix in ("ACME", "BETA", first, "BETA"):
        changes = form(org_row(org), ticket_prefix=prefix)
        assert admin_client.post("/admin/settings", data=changes, headers=HX).status_code == 200
    row = org_row(org)
    assert row.ticket_prefix == "BETA" and sorted(row.former_prefixes.split()) == sorted({first, "ACME"})
    for prefix in (first, "ACME", "BETA"):
        assert "Kept" in admin_client.get(f"/tickets/{prefix}-{ticket.number}").text


def test_a_uuid_still_resolves_as_a_uuid(admin_client, org):
    ticket = factories.make_ticket(org)
    _, secret = factories.make_api_key(org)
    response = admin_client.get(f"/api/v1/tickets/{ticket.public_id}", headers={"X-API-Key": secret})
    assert response.status_code == 200 and response.json["data"]["id"] == ticket.public_id


def test_the_slack_test_message_goes_through_the_outbox(app, admin_client, org):
    assert admin_client.post("/admin/settings/slack-test", headers=HX).status_code == 422  # no URL yet
    receiver = HttpReceiver()
    try:
        with write_transaction():  # the form insists on a public https URL; the receiver is local http
            db.session.get(Organization, org.id).slack_webhook_url = receiver.url + "/services/T0/B0/x"
        page = admin_client.get("/admin/settings", headers=HX).text
        assert "Send a test message" in page
        response = admin_client.post("/admin/settings/slack-test", headers=HX)
        assert response.status_code == 200 and "queued" in response.text
        [row] = db.session.scalars(db.select(OutboxMessage)).all()
        assert row.kind == "slack"
        assert admin_events(action="org.slack_test")[0].new_value == "queued"
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
        Worker(app).run_once()
        [request] = receiver.wait_for(1)
        assert request.path == "/services/T0/B0/x"
        assert "Test message from Helpdesk" in request.json()["text"]
    finally:
        receiver.close()
