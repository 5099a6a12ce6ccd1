"""axe-core (from the npm registry, node_modules/) finds no violations on the pages agents and admins use."""

from pathlib import Path

import pytest

from helpdesk import admin_log, rules
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import CannedReply, Notification, Organization, Role

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [
    "/", "/?queue=open", "/tickets/{ref}", "/notifications", "/canned",
    "/admin/", "/admin/agents", "/admin/api-keys", "/admin/categories", "/admin/tags",
    "/admin/outbox", "/admin/webhooks", "/admin/settings", "/admin/classifier", "/admin/audit", "/profile",
    "/admin/rules", "/admin/rules/new", "/admin/rules/{rule}",
]  # fmt: skip


def violations(page) -> list[str]:
    # Injected as a script the page did not ask for: the context bypasses the page's CSP.
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in found
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_no_axe_violations(live_server, browser, org, width):
    admin = factories.make_agent(org, name="Ada Admin", email="ada@example.com", role=Role.ADMIN,
                                 availability="available")  # fmt: skip
    ticket = factories.make_ticket(org, subject="Printer on fire", priority="URGENT")
    factories.make_ticket(org, subject="Refund", priority="LOW")
    with write_transaction():
        db.session.add(Notification(agent_id=admin.id, org_id=org.id, kind="assigned", text="Read one"))
        db.session.add(CannedReply(org_id=org.id, title="Hello", body="Hi {{ customer.name }}"))
        settings = db.session.get(Organization, org.id)
        settings.slack_webhook_url, settings.monthly_quota = "https://hooks.slack.com/services/T/B/x", 100
        admin_log.record(org.id, admin_log.Changer.of(admin), "org.monthly_quota", org.name, "unlimited", 100)
    with write_transaction():
        spec = rules.RuleSpec(
            name="Refunds", conditions=[{"field": "subject", "op": "contains", "value": "refund"}],
            actions={"set_priority": "HIGH", "add_tags": ["billing"]},
        )
        rule = rules.create_rule(org.id, spec, admin_log.Changer.of(admin))
        rule_id = rule.public_id
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server.url, admin.email, factories.PASSWORD)
    problems = {}
    for url in PAGES:
        page.goto(live_server.url + url.format(ref=ticket.reference, rule=rule_id))
        found = violations(page)
        if found:
            problems[url] = found
    # The rule form with a try-it result and a field marked invalid beside its message.
    page.goto(f"{live_server.url}/admin/rules/{rule_id}")
    page.fill("#try input[name=subject]", "Refund please")
    page.click("button[value=try]")
    page.wait_for_selector("#try-result")
    page.fill("#try input[name=metadata]", "{not json")
    page.click("button[value=try]")
    page.wait_for_selector("#error-metadata")
    found = violations(page)
    if found:
        problems["try it"] = found
    context.close()
    assert problems == {}, "\n".join(f"{url}: {found}" for url, found in problems.items())
