"""The admin's outbox and webhooks pages, and `helpdesk create-webhook`."""

import pytest

from helpdesk.cli import main
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import OutboxMessage, OutboxStatus, Role, Webhook
from helpdesk.worker import Worker

from .. import factories
from .conftest import outbox_rows


@pytest.fixture
def admin(org):
    return factories.make_agent(org, role=Role.ADMIN, availability="available")


@pytest.fixture
def admin_client(app, admin):
    return app.test_client(user=admin)


def failed_delivery(app, org) -> OutboxMessage:
    """An assignment email that failed for good (no SMTP configured)."""
    factories.make_ticket(org)
    Worker(app).run_once()
    [row] = outbox_rows(kind="email")
    assert row.status == OutboxStatus.FAILED
    return row


ADMIN_PAGES = ["/admin/outbox", "/admin/outbox?status=failed", "/admin/webhooks"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_agents_who_are_not_admins_get_403(app, org, url):
    agent = factories.make_agent(org)
    assert app.test_client(user=agent).get(url).status_code == 403


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_anonymous_people_go_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get(url, headers={"HX-Request": "true"})
    assert "/login" in response.headers["HX-Redirect"]  # htmx loads the login page


@pytest.mark.parametrize(
    "method, url", [("post", "/admin/outbox/1/retry"), ("post", "/admin/outbox/retry-failed"),
                    ("post", "/admin/webhooks"), ("post", "/admin/webhooks/x/delete")]
)
def test_agents_cannot_write_admin_things(app, org, method, url):
    agent = factories.make_agent(org)
    assert getattr(app.test_client(user=agent), method)(url).status_code == 403


def test_outbox_lists_pending_then_failed_with_error(app, admin_client, org, admin):
    row = failed_delivery(app, org)
    factories.make_ticket(org)  # a second email, still pending
    page = admin_client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Outbox</h1>" in html and 'href="/admin/outbox"' in html  # the header link
    assert html.count('data-status="pending"') == 1
    assert f"Email (assigned) to {admin.email}" in html
    failed = admin_client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert f'id="outbox-{row.id}"' in failed
    assert "HELPDESK_SMTP_HOST" in failed and "Retry" in failed
    assert admin_client.get("/admin/outbox?status=sent").get_data(as_text=True).count("<tr id=") == 0


def test_outbox_tab_as_fragment(app, admin_client, org):
    failed_delivery(app, org)
    response = admin_client.get("/admin/outbox?status=failed", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="outbox">') and "<html" not in html


def test_bad_status_is_a_422_naming_it(admin_client):
    response = admin_client.get("/admin/outbox?status=lost")
    assert response.status_code == 422
    assert "status" in response.get_data(as_text=True)


def test_retry_queues_a_failed_delivery_again(app, admin_client, org):
    row = failed_delivery(app, org)
    response = admin_client.post(f"/admin/outbox/{row.id}/retry")
    assert response.status_code == 303
    [row] = outbox_rows(kind="email")
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, 0, None)


def test_retry_through_htmx_swaps_the_row(app, admin_client, org):
    row = failed_delivery(app, org)
    response = admin_client.post(f"/admin/outbox/{row.id}/retry", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="outbox-{row.id}" data-status="pending"')


def test_retry_of_a_pending_row_is_refused(app, admin_client, org):
    factories.make_ticket(org)
    [row] = outbox_rows(kind="email")
    assert admin_client.post(f"/admin/outbox/{row.id}/retry").status_code == 422
    assert outbox_rows(kind="email")[0].attempts == 0


def test_another_organizations_delivery_is_404(app, admin_client):
    other = factories.make_org()
    factories.make_agent(other, availability="available")
    row = failed_delivery(app, other)
    assert admin_client.post(f"/admin/outbox/{row.id}/retry").status_code == 404
    assert outbox_rows(kind="email")[0].status == OutboxStatus.FAILED
    assert f'id="outbox-{row.id}"' not in admin_client.get("/admin/outbox?status=failed").get_data(
        as_text=True
    )
    admin_client.post("/admin/outbox/retry-failed")
    assert outbox_rows(kind="email")[0].status == OutboxStatus.FAILED  # not ours to retry


def test_retry_all_failed(app, admin_client, org):
    failed_delivery(app, org)
    factories.make_ticket(org)
    Worker(app).run_once()
    assert len(outbox_rows(status=OutboxStatus.FAILED)) == 2
    assert admin_client.post("/admin/outbox/retry-failed").status_code == 303
    assert len(outbox_rows(status=OutboxStatus.PENDING)) == 2


def test_create_a_webhook_shows_its_secret_once(app, admin_client, org):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    response = admin_client.post(
        "/admin/webhooks", data={"url": "http://127.0.0.1:9000/in", "events": ["ticket.created"]}
    )
    assert response.status_code == 201
    hook = db.session.scalar(db.select(Webhook))
    assert (hook.url, hook.events, hook.org_id) == ("http://127.0.0.1:9000/in", ["ticket.created"], org.id)
    assert hook.secret in response.get_data(as_text=True)
    assert hook.secret not in admin_client.get("/admin/webhooks").get_data(as_text=True)


def test_a_private_webhook_url_is_refused_naming_the_field(admin_client):
    response = admin_client.post("/admin/webhooks", data={"url": "http://169.254.169.254/latest"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "url: " in html and "private or local address" in html
    assert 'value="http://169.254.169.254/latest"' in html  # the form keeps what was typed
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 0


def test_delete_a_webhook_and_not_another_organizations(app, admin_client, org):
    other = factories.make_org()
    from helpdesk.webhooks import create_webhook

    with write_transaction():
        mine = create_webhook(db.session.merge(org), "http://127.0.0.1/a", allow_private=True)
        theirs = create_webhook(db.session.merge(other), "http://127.0.0.1/b", allow_private=True)
    assert admin_client.post(f"/admin/webhooks/{theirs.public_id}/delete").status_code == 404
    assert admin_client.post(f"/admin/webhooks/{mine.public_id}/delete").status_code == 303
    db.session.rollback()
    assert [h.public_id for h in db.session.scalars(db.select(Webhook))] == [theirs.public_id]


@pytest.fixture
def cli(runner):
    def invoke(*args):
        db.session.rollback()
        result = runner.invoke(main, list(args))
        db.session.rollback()
        return result

    return invoke


def test_cli_create_webhook_prints_the_secret_last(app, cli, org):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    result = cli("create-webhook", "--org", org.slug, "--url", "http://127.0.0.1:8000/hook",
                 "--event", "ticket.created", "--event", "ticket.assigned")
    assert result.exit_code == 0, result.output
    hook = db.session.scalar(db.select(Webhook))
    assert result.output.strip().splitlines()[-1] == hook.secret
    assert hook.events == ["ticket.created", "ticket.assigned"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--url", "http://10.1.2.3/x"], "url: "),
        (["--url", "https://127.0.0.1/x", "--secret", "short"], "url: "),
        (["--url", "http://127.0.0.1/x", "--event", "ticket.deleted"], "ticket.deleted"),
    ],
)
def test_cli_create_webhook_errors(cli, org, args, message):
    result = cli("create-webhook", "--org", org.slug, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 0
