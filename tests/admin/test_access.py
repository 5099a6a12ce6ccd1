"""Who may see the admin pages: admins of the organization only."""

import pytest

from helpdesk.models import Role

from .. import factories
from .conftest import HX, admin_events

PAGES = ["/admin/", "/admin/agents", "/admin/api-keys", "/admin/categories", "/admin/tags",
         "/admin/outbox", "/admin/webhooks", "/admin/settings", "/admin/classifier", "/admin/audit",
         "/admin/rules", "/admin/rules/new", "/admin/mail"]


@pytest.mark.parametrize("url", PAGES)
def test_admins_get_the_full_page_and_htmx_the_fragment(admin_client, url):
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'class="admin-nav"' in page.text and "<html" in page.text
    fragment = admin_client.get(url, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'class="admin-nav"' not in fragment.text


@pytest.mark.parametrize("url", PAGES)
def test_plain_agents_get_403(app, org, url):
    agent = factories.make_agent(org)
    assert app.test_client(user=agent).get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_people_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_header_shows_admin_to_admins_only(app, org, admin_client):
    assert 'href="/admin/"' in admin_client.get("/").text
    agent = factories.make_agent(org)
    assert 'href="/admin/"' not in app.test_client(user=agent).get("/").text


def test_overview_counts_live_figures(app, org, admin_client):
    factories.make_ticket(org)
    factories.make_ticket(org)
    page = admin_client.get("/admin/", headers=HX).text
    # The admin is available, so both tickets are open (and assigned to them).
    assert "<strong>2</strong><span class=\"muted\">open tickets" in page
    assert "<strong>1</strong><span class=\"muted\">agents available now" in page


def test_a_deactivated_admin_is_refused_at_once(app, org, admin):
    factories.make_agent(org, role=Role.ADMIN)  # so that one may go
    client = app.test_client(user=admin)
    assert client.get("/admin/").status_code == 200
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.models import Agent

    with write_transaction():
        db.session.get(Agent, admin.id).active = False
    assert client.get("/admin/").status_code == 302


WRITES = ["/admin/agents", "/admin/agents/x", "/admin/agents/x/deactivate", "/admin/agents/x/reactivate",
          "/admin/agents/x/password", "/admin/api-keys", "/admin/api-keys/x/revoke", "/admin/categories",
          "/admin/categories/x", "/admin/categories/x/archive", "/admin/categories/x/merge", "/admin/tags",
          "/admin/tags/x", "/admin/tags/x/delete", "/admin/tags/x/merge",
          "/admin/settings", "/admin/settings/slack-test", "/admin/classifier",
          "/admin/rules", "/admin/rules/try", "/admin/rules/x", "/admin/rules/x/active",
          "/admin/rules/x/move", "/admin/rules/x/delete"]


@pytest.mark.parametrize("url", WRITES)
def test_plain_agents_cannot_write(app, org, url):
    agent = factories.make_agent(org)
    assert app.test_client(user=agent).post(url).status_code == 403


@pytest.mark.parametrize("url", WRITES)
def test_writes_without_a_csrf_token_are_refused(app, admin, url):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client(user=admin)
    response = client.post(url, data={"name": "x"}, headers=HX)
    assert response.status_code == 400
    assert admin_events() == []
