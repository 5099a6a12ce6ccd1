"""Two agents edit the same field: the later, stale edit is refused in place, with a way through."""

import pytest
from playwright.sync_api import expect

from helpdesk.models import Availability

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_stale_edit_shows_who_changed_the_field_and_offers_the_agents_choice(live_server, browser, org):
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    omar = factories.make_agent(org, name="Omar", email="omar@example.com")
    ticket = factories.make_ticket(org, priority="LOW")
    pages = []
    for agent in (nina, omar):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, live_server.url, agent.email, factories.PASSWORD)
        page.goto(f"{live_server.url}/tickets/{ticket.reference}")
        pages.append(page)
    nina_page, omar_page = pages

    nina_page.locator('[data-field="priority"] a.value').click()
    expect(nina_page.locator('[data-field="priority"] select')).to_be_visible()
    omar_page.locator('[data-field="priority"] a.value').click()
    omar_page.locator('[data-field="priority"] select').select_option("URGENT")
    omar_page.locator('[data-field="priority"] button[type=submit]').click()
    expect(omar_page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")

    nina_page.locator('[data-field="priority"] select').select_option("HIGH")
    nina_page.locator('[data-field="priority"] button[type=submit]').click()
    conflict = nina_page.locator('[data-field="priority"] .conflict')
    expect(conflict).to_contain_text("Omar set priority to URGENT")
    expect(nina_page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
    conflict.get_by_role("button", name="Use HIGH instead").click()
    expect(nina_page.locator('[data-field="priority"] .badge')).to_have_text("High")
    expect(nina_page.locator('[data-field="priority"] .conflict')).to_have_count(0)
    expect(omar_page.locator('[data-field="priority"] .badge')).to_have_text("High")  # live

    # Omar takes the ticket with one key.
    omar_page.locator("body").click(position={"x": 5, "y": 400})
    omar_page.keyboard.press("a")
    expect(omar_page.locator('[data-field="assignee"] a.value')).to_contain_text("Omar")
    expect(nina_page.locator('[data-field="assignee"] a.value')).to_contain_text("Omar")
    for page in pages:
        page.context.close()


def test_an_agent_sees_a_colleague_open_the_ticket(live_server, browser, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    omar = factories.make_agent(org, name="Omar", email="omar@example.com")
    ticket = factories.make_ticket(org)
    pages = []
    for agent in (omar, nina):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, live_server.url, agent.email, factories.PASSWORD)
        page.goto(f"{live_server.url}/tickets/{ticket.reference}")
        pages.append(page)
    omar_page, nina_page = pages
    expect(omar_page.locator("#ticket-viewers")).to_contain_text(
        "Nina is viewing"
    )  # at once, not at a heartbeat
    expect(nina_page.locator("#ticket-viewers")).to_contain_text("Omar is viewing")
    for page in pages:
        page.context.close()
