"""Screenshots of the settings pages (run explicitly; not part of the suite)."""

from helpdesk import admin_log
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Organization, Role

from .. import factories
from .conftest import sign_in


def test_shots(live_server, browser, org):
    admin = factories.make_agent(org, name="Ada Admin", email="ada@example.com", role=Role.ADMIN,
                                 availability="available")
    for n in range(60):
        factories.make_ticket(org, subject=["Refund my invoice", "Cannot sign in", "Printer broken"][n % 3],
                              category=["Billing", "Login", "Hardware"][n % 3], description="")
    with write_transaction():
        settings = db.session.get(Organization, org.id)
        settings.slack_webhook_url, settings.monthly_quota = "https://hooks.slack.com/services/T/B/x", 100
        for n in range(60):
            admin_log.record(org.id, admin_log.Changer.of(admin), "org.monthly_quota", org.name, n, n + 1)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, live_server.url, admin.email, factories.PASSWORD)
        for name, url in (("settings", "/admin/settings"), ("classifier", "/admin/classifier"),
                          ("audit", "/admin/audit"), ("profile", "/profile")):
            page.goto(live_server.url + url)
            page.screenshot(path=f"/tmp/shots-settings/{name}-{width}.png", full_page=True)
        page.goto(live_server.url + "/admin/settings")
        page.fill("input[name=ticket_prefix]", "1AB")
        page.click("text=Save settings")
        page.wait_for_selector("#form-error")
        page.screenshot(path=f"/tmp/shots-settings/settings-error-{width}.png", full_page=True)
        context.close()
