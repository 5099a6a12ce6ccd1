"""`/admin/mail`: failed inbound mail, for admins of the organization only."""

from helpdesk import ingest
from helpdesk.extensions import db

from .. import factories
from ..admin.conftest import HX
from .conftest import eml


def test_failures_are_listed_with_time_sender_subject_reason_and_start(app, org, admin_client, take_in):
    take_in(eml("bad_charset.eml"))
    take_in(b"From: <script>alert(1)</script>\r\nSubject: hi\r\n\r\nHello\r\n")
    page = admin_client.get("/admin/mail")
    assert page.status_code == 200 and "<html" in page.text
    assert "Failed to ingest" in page.text and "2 in all" in page.text
    assert "Carla Customer &lt;carla@example.org&gt;" in page.text
    assert "Strange charset" in page.text and "body: undecodable charset" in page.text
    assert "x-unknown-martian" in page.text  # the start of the mail
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    fragment = admin_client.get("/admin/mail", headers=HX)
    assert "<html" not in fragment.text and 'id="mail-failures"' in fragment.text


def test_another_organization_s_failures_are_not_shown(app, org, admin_client):
    other = factories.make_org(name="Other", slug="other", prefix="OTH")
    ingest.ingest(db.session.merge(other), eml("garbage.eml"))
    page = admin_client.get("/admin/mail")
    assert "No failed mail." in page.text and "0 in all" in page.text


def test_the_overview_links_to_the_section(admin_client):
    assert 'href="/admin/mail"' in admin_client.get("/admin/").text


def test_plain_agents_get_403(app, org):
    agent = factories.make_agent(org)
    assert app.test_client(user=agent).get("/admin/mail").status_code == 403


def test_a_page_past_the_last_is_404(admin_client):
    assert admin_client.get("/admin/mail?page=2").status_code == 404
