"""Who may see what: anonymous → login, another organization's ticket → 404, CSRF."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Message, Ticket

from .. import factories
from .conftest import HX

PAGES = [
    "/",
    "/?queue=open",
    "/tickets/{ref}",
    "/tickets/{ref}/parts/head",
    "/tickets/{ref}/parts/fields",
    "/tickets/{ref}/parts/customer",
    "/tickets/{ref}/parts/thread",
    "/tickets/{ref}/parts/timeline",
    "/tickets/{ref}/fields/priority",
    "/tickets/{ref}/fields/tags/edit",
    "/notifications",
    "/notifications/bell",
    "/canned",
    "/tickets/{ref}/canned?q=x",
    "/events/?after=0",
]
WRITES = [
    ("/tickets/{ref}/fields/priority", {"priority": "HIGH"}),
    ("/tickets/{ref}/fields/status", {"status": "WAITING"}),
    ("/tickets/{ref}/messages", {"body": "hello", "kind": "reply"}),
    ("/preview", {"body": "x"}),
    ("/availability", {"availability": "away"}),
    ("/notifications/read", {}),
    ("/canned", {"title": "Hello", "body": "Hi there"}),
    ("/tickets/bulk", {"priority": "HIGH"}),
    ("/tickets/{ref}/viewing", {}),
]
TICKET_URLS = [url for url in PAGES if "{ref}" in url] + [url for url, _ in WRITES if "{ref}" in url]


@pytest.fixture
def ticket(org):
    return factories.make_ticket(org)


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_pages_redirect_to_login_with_next(client, ticket, url):
    url = url.format(ref=ticket.reference)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_htmx_gets_401_with_hx_redirect(client, ticket, url):
    response = client.get(url.format(ref=ticket.reference), headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert not response.data.strip()


@pytest.mark.parametrize("url, form", WRITES)
def test_anonymous_writes_are_refused(client, ticket, url, form):
    response = client.post(url.format(ref=ticket.reference), data=form)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


TICKET_REQUESTS = [("GET", u) for u in PAGES if "{ref}" in u] + [
    ("POST", u) for u, _ in WRITES if "{ref}" in u
]


@pytest.mark.parametrize("method, url", TICKET_REQUESTS)
@pytest.mark.parametrize("partial", [False, True])
def test_another_organizations_ticket_is_404(app, ticket, other_org, method, url, partial):
    before = db.session.execute(
        select(Ticket.priority, Ticket.status, Ticket.updated_at).where(Ticket.id == ticket.id)
    ).one()
    stranger = factories.make_agent(other_org)
    client = app.test_client(user=stranger)
    response = client.open(
        url.format(ref=ticket.reference),
        method=method,
        data={"priority": "HIGH", "status": "WAITING", "body": "x"},
        headers=HX if partial else {},
    )
    assert response.status_code == 404
    # A fresh read of the row, not the identity-mapped object the factory returned.
    fresh = db.session.execute(
        select(Ticket.priority, Ticket.status, Ticket.updated_at).where(Ticket.id == ticket.id)
    ).one()
    assert (fresh.priority, fresh.status) == (before.priority, before.status)
    assert fresh.updated_at == before.updated_at
    assert db.session.scalar(select(func.count(Message.id)).where(Message.ticket_id == ticket.id)) == 0


def test_same_number_in_another_organization_is_that_organizations_ticket(app, org, other_org):
    mine = factories.make_ticket(org, subject="Mine")
    theirs = factories.make_ticket(other_org, subject="Theirs")
    assert mine.number == theirs.number == 1
    stranger = factories.make_agent(other_org)
    page = app.test_client(user=stranger).get(f"/tickets/{other_org.ticket_prefix}-1")
    assert page.status_code == 200 and "Theirs" in page.text and "Mine" not in page.text
    assert app.test_client(user=stranger).get(f"/tickets/{org.ticket_prefix}-1").status_code == 404


def test_another_organizations_notification_is_404(app, org, other_org):
    agent = factories.make_agent(org, availability="available")
    factories.make_ticket(org)
    from helpdesk.models import Notification

    notification = db.session.scalar(db.select(Notification))
    stranger = factories.make_agent(other_org)
    response = app.test_client(user=stranger).post(f"/notifications/{notification.id}/read")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at is None
    assert notification.agent_id == agent.id  # it was the assignee's


def test_desk_pages_carry_security_headers_and_no_store(nina_client, org):
    ticket = factories.make_ticket(org)
    for url in ("/", f"/tickets/{ticket.reference}"):
        response = nina_client.get(url)
        csp = response.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'", "script-src 'self'", "object-src 'none'",
            "base-uri 'none'", "frame-ancestors 'none'",
        ):
            assert directive in csp
        assert "unsafe" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script_or_handlers(nina_client, org):
    from .conftest import parse

    ticket = factories.make_ticket(org, description="*hello*")
    for url in ("/", f"/tickets/{ticket.reference}", f"/tickets/{ticket.reference}/fields/priority/edit"):
        root = parse(nina_client.get(url).text)
        for node in root.walk():
            if node.tag == "script":
                assert node.get("src", ) and not node.all_text().strip()
            assert not [name for name, _ in node.attrs if name.startswith("on") or name.startswith("hx-on")]


class TestCsrf:
    """With CSRF on, as in production: a write without the token is refused, with it accepted."""

    @pytest.fixture
    def csrf_app(self, app):
        app.config["WTF_CSRF_ENABLED"] = True  # read on every request
        return app

    def token_of(self, client, url):
        page = client.get(url).text
        return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)

    def test_field_edit_without_token_is_refused(self, csrf_app, org):
        agent = factories.make_agent(org)
        ticket = factories.make_ticket(org, priority="LOW")
        client = csrf_app.test_client(user=agent)
        with csrf_app.app_context():
            refused = client.post(
                f"/tickets/{ticket.reference}/fields/priority", data={"priority": "HIGH"}, headers=HX
            )
            assert refused.status_code == 400
            token = self.token_of(client, f"/tickets/{ticket.reference}")
            accepted = client.post(
                f"/tickets/{ticket.reference}/fields/priority",
                data={"priority": "HIGH"},
                headers=HX | {"X-CSRFToken": token},
            )
            assert accepted.status_code == 200
            db.session.remove()

    @pytest.mark.parametrize("url, form", WRITES)
    def test_every_write_needs_the_token(self, csrf_app, org, url, form):
        agent = factories.make_agent(org)
        ticket = factories.make_ticket(org)
        client = csrf_app.test_client(user=agent)
        with csrf_app.app_context():
            response = client.post(url.format(ref=ticket.reference), data=form, headers=HX)
            assert response.status_code == 400
            db.session.remove()

    def test_login_needs_the_token_and_the_form_carries_it(self, csrf_app, org):
        agent = factories.make_agent(org)
        client = csrf_app.test_client()
        with csrf_app.app_context():
            page = client.get("/login").text
            assert 'name="csrf_token"' in page
            refused = client.post("/login", data={"email": agent.email, "password": factories.PASSWORD})
            assert refused.status_code == 400
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            accepted = client.post(
                "/login",
                data={"email": agent.email, "password": factories.PASSWORD, "csrf_token": token},
            )
            assert accepted.status_code == 303
            db.session.remove()


def test_htmx_login_redirect_returns_to_the_page_not_the_fragment(client, ticket):
    response = client.get(
        f"/tickets/{ticket.reference}/parts/thread",
        headers=HX | {"HX-Current-URL": f"http://localhost/tickets/{ticket.reference}"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == f"/login?next=/tickets/{ticket.reference}"
    foreign = client.get("/", headers=HX | {"HX-Current-URL": "https://evil.example/x"})
    assert foreign.headers["HX-Redirect"] == "/login?next=/"
