"""An admin sets up a helpdesk in a real browser: agent, API key, catalog, a routing rule, and
the first ticket that rule routes."""

import pytest
import requests
from playwright.sync_api import expect

from helpdesk.models import Availability, Role

from .. import factories
from .conftest import Console, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

N2_EMAIL, N2_NAME, N2_PASSWORD = "nora@example.com", "Nora Second", "nora's own password"
CATEGORY, TAG, RULE = "Refunds", "refund-desk", "Refunds go to N2"


def submit(form, fields: dict[str, str], button: str) -> None:
    """Fill a form's text inputs and selects by name, then press the named button."""
    for name, value in fields.items():
        control = form.locator(f'[name="{name}"]')
        if control.evaluate("element => element.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button", name=button).click()


def api(base_url: str, secret: str, path: str, body: dict) -> requests.Response:
    return requests.post(base_url + "/api/v1" + path, headers={"X-API-Key": secret}, json=body, timeout=10)


def visit_every_section(page) -> None:
    """Each link on the overview opens its section, which the admin menu then marks as current."""
    links = page.locator("ul.sections a")
    sections = [(links.nth(n).inner_text(), links.nth(n).get_attribute("href")) for n in range(links.count())]
    assert len(sections) == 11, sections
    for label, href in sections:
        page.locator(f'ul.sections a[href="{href}"]').click()
        page.wait_for_url(f"**{href}")
        expect(page.locator('.admin-nav a[aria-current="page"]')).to_have_attribute("href", href)
        expect(page.locator("main").get_by_role("heading", name=label).first).to_be_attached()
        page.locator(".admin-nav").get_by_role("link", name="Overview").click()
        page.wait_for_url("**/admin/")


def create_agent(page) -> None:
    page.locator(".admin-nav").get_by_role("link", name="Agents").click()
    form = page.locator("form", has=page.get_by_role("button", name="Add agent"))
    fields = {"email": N2_EMAIL, "name": N2_NAME, "password": N2_PASSWORD, "role": "agent", "level": "N2"}
    submit(form, fields | {"capacity": "5"}, "Add agent")
    expect(page.get_by_role("status")).to_have_text(f"Created {N2_EMAIL}. They can sign in now.")
    row = page.locator("#agents tr", has_text=N2_EMAIL)
    expect(row.locator("td")).to_have_text(
        [N2_NAME, N2_EMAIL, "agent", "N2", "offline", "0 / 5", "yes", "never"]
    )


def create_api_key(page) -> str:
    """A new key's secret, read from the page (and the clipboard) the one time it is shown."""
    page.locator(".admin-nav").get_by_role("link", name="API keys").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create key"))
    submit(form, {"name": "Supportdesk production", "scope": "tickets"}, "Create key")
    secret = page.locator("#new-secret").inner_text().strip()
    assert len(secret) > 30, secret
    page.locator("#key-created").get_by_role("button", name="Copy").click()
    expect(page.locator("#key-created button")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    row = page.locator("#keys tr", has_text="Supportdesk production")
    expect(row.locator("code")).to_have_text(secret[:10] + "…")

    page.reload()
    expect(row).to_contain_text("live")
    expect(page.locator("#key-created")).to_have_count(0)
    assert secret not in page.content()
    assert secret[10:20] not in page.content()
    return secret


def create_catalog(page) -> None:
    for section, button, name in (("Categories", "Add category", CATEGORY), ("Tags", "Add tag", TAG)):
        page.locator(".admin-nav").get_by_role("link", name=section).click()
        form = page.locator("form", has=page.get_by_role("button", name=button))
        submit(form, {"name": name}, button)
        expect(page.locator("table.admin tbody tr td:first-child")).to_have_text([name])


def create_rule(page) -> None:
    page.locator(".admin-nav").get_by_role("link", name="Rules").click()
    page.get_by_role("button", name="New rule").click()
    page.wait_for_url("**/admin/rules/new")
    fields = {
        "name": RULE,
        "conditions.0.field": "subject",
        "conditions.0.op": "contains",
        "conditions.0.value": "refund",
        "actions.set_category": CATEGORY,
        "actions.set_priority": "URGENT",
        "actions.add_tags": TAG,
        "actions.target_level": "N2",
    }
    submit(page.locator("#rule-form"), fields, "Create rule")
    expect(page.get_by_text(f"Created {RULE}.")).to_be_visible()
    row = page.locator("#rules tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text(RULE)
    expect(row.locator("td").nth(3)).to_have_text(
        f"category {CATEGORY}; priority URGENT; tags {TAG}; level N2"
    )
    expect(row.locator("td").nth(4)).to_have_text("yes")


def try_subject(page, subject: str):
    """The try-it panel's result for a ticket with this subject."""
    submit(page.locator("#try-form"), {"subject": subject}, "Try the rules")
    expect(page.locator("#try-form input[name=subject]")).to_have_value(subject)
    return page.locator("#try-result")


def become_available(browser, base_url: str) -> list[str]:
    """The new agent signs in with what the admin set and goes available; their page's problems."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.console = Console(page)
        sign_in(page, base_url, N2_EMAIL, N2_PASSWORD)
        page.locator("#availability button[value=available]").click()
        expect(page.locator("#availability button[value=available]")).to_have_attribute(
            "aria-pressed", "true"
        )
        return page.console.problems
    finally:
        context.close()


def open_from_all_open_queue(page, reference: str) -> None:
    page.get_by_role("link", name="Helpdesk", exact=True).click()
    page.locator("#queue").get_by_role("link", name="All open").click()
    page.locator(f'tr[data-ticket="{reference}"] td.ref a').click()
    page.wait_for_url(f"**/tickets/{reference}")


def test_admin_sets_up_routing(live_server, browser, page, org):
    admin = factories.make_agent(
        org, name="Ada Admin", email="ada@example.com", role=Role.ADMIN, availability=Availability.AVAILABLE
    )  # available at N1: a ticket the rule did not route to N2 would be hers
    base = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    sign_in(page, base, admin.email, factories.PASSWORD)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/admin/")
    visit_every_section(page)

    create_agent(page)
    secret = create_api_key(page)
    create_catalog(page)
    create_rule(page)

    result = try_subject(page, "Question about my invoice")
    expect(result).to_contain_text("No rule matched")
    result = try_subject(page, "Where is my REFUND for order 1234?")
    expect(result.locator("ol li")).to_have_text([RULE])
    expect(result.locator("dd")).to_have_text([CATEGORY, "URGENT", TAG, "N2", "auto-assignment"])

    assert become_available(browser, base) == []

    customer = api(base, secret, "/customers", {"externalId": "cus_77", "email": "ann@example.org"})
    assert customer.status_code == 201, customer.text
    created = api(
        base,
        secret,
        "/tickets/api-create",
        {
            "customerExternalId": "cus_77",
            "subject": "Where is my refund for order 1234?",
            "description": "Paid twice.",
            "priority": "LOW",
        },
    )
    assert created.status_code == 201, created.text
    ticket = created.json()["data"]
    assert ticket["priority"] == "URGENT"
    assert ticket["customer"]["externalId"] == "cus_77"
    assert (ticket["assignedAgent"] or {}).get("email") == N2_EMAIL, ticket

    open_from_all_open_queue(page, ticket["ticketNumber"])
    expect(page.locator("#ticket-head")).to_contain_text("Where is my refund for order 1234?")
    expect(page.locator('[data-field="category"] a.value')).to_contain_text(f"{CATEGORY} rule")
    expect(page.locator('[data-field="tags"] .tag')).to_have_text([TAG])
    expect(page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
    expect(page.locator('[data-field="assignee"] a.value')).to_contain_text(N2_NAME)
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(f"Rule: {RULE} routed it")
    expect(timeline).to_contain_text(f"assigned it to {N2_NAME}")

    assert page.console.problems == []
