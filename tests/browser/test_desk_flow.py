"""An agent's day in a real browser: live queue, in-place edits, replies, availability."""

import time

import pytest
import requests
from playwright.sync_api import expect

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Availability, Ticket
from helpdesk.tickets import category_named

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def api_create(base_url: str, secret: str, subject: str, priority: str = "HIGH") -> dict:
    response = requests.post(
        base_url + "/api/v1/tickets/api-create",
        headers={"X-API-Key": secret},
        json={
            "customerExternalId": "user_42",
            "subject": subject,
            "description": "Payment attempt failed with **CARD_DECLINED**.",
            "priority": priority,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def no_page_load_since_mark(page) -> bool:
    """True while the document marked by `mark_page` is still the one shown."""
    return page.evaluate("() => window.__helpdeskMark === 1")


def mark_page(page) -> None:
    page.evaluate("() => { window.__helpdeskMark = 1; }")


def test_agent_day(live_server, page, org):
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    factories.make_customer(org, external_id="user_42", email="ada@example.org", name="Ada")
    _, secret = factories.make_api_key(org)
    with write_transaction():
        category_named(org.id, "Hardware")
    base = live_server.url

    sign_in(page, base, nina.email, factories.PASSWORD)
    expect(page.locator("#queue")).to_be_visible()
    mark_page(page)

    # A ticket created through the API appears in the open queue without a reload.
    created = api_create(base, secret, "Payment failed for order #12345")
    assert created["assignedAgent"]["email"] == "nina@example.com"
    started = time.monotonic()
    row = page.locator(f'tr[data-ticket="{created["ticketNumber"]}"]')
    expect(row).to_be_visible(timeout=2_000)
    appeared_after = time.monotonic() - started
    expect(page.locator("#bell [data-unread]")).to_have_attribute("data-unread", "1")
    expect(page.locator('[data-queue-count="mine"]')).to_have_text("1")
    assert no_page_load_since_mark(page)
    print(f"ticket appeared {appeared_after:.2f} s after the API answered")

    # Open it and change priority and category in place, without a page load.
    row.locator("td.ref a").click()
    page.wait_for_url(f"{base}/tickets/{created['ticketNumber']}")
    expect(page.locator("#ticket-head")).to_contain_text("Payment failed for order #12345")
    mark_page(page)

    priority = page.locator('[data-field="priority"]')
    priority.locator("a.value").click()
    priority.locator("select").select_option("URGENT")
    priority.locator("button[type=submit]").click()
    expect(page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
    expect(page.locator('[data-field="priority"] select')).to_have_count(0)

    category = page.locator('[data-field="category"]')
    category.locator("a.value").click()
    category.locator("select").select_option(label="Hardware")
    category.locator("button[type=submit]").click()
    expect(page.locator('[data-field="category"] a.value')).to_contain_text("Hardware")
    expect(page.locator("#timeline")).to_contain_text("changed priority HIGH → URGENT")
    assert no_page_load_since_mark(page)

    # After a reload the changes are still there, and in the timeline.
    page.reload()
    expect(page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
    expect(page.locator('[data-field="category"]')).to_contain_text("Hardware")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Nina changed priority HIGH → URGENT")
    expect(timeline).to_contain_text("changed category none → Hardware")

    # Reply with a Markdown preview, then an internal note.
    mark_page(page)
    box = page.locator("#reply textarea[name=body]")
    box.fill("Thanks, we are **looking** into it.")
    expect(page.locator("#preview strong")).to_have_text("looking")
    page.locator("#reply button[value=reply]").click()
    expect(page.locator("#thread article.role-agent").last).to_contain_text("Thanks, we are looking into it.")
    expect(page.locator("#reply textarea[name=body]")).to_have_value("")
    page.locator("#reply textarea[name=body]").fill("Check the Stripe dashboard first.")
    page.locator("#reply button[value=note]").click()
    note = page.locator("#thread article.internal")
    expect(note).to_contain_text("Check the Stripe dashboard first.")
    expect(note).to_contain_text("Internal note")
    expect(page.locator("#timeline")).to_contain_text("added an internal note")
    assert no_page_load_since_mark(page)

    # Away: new tickets wait unassigned; available again pulls them.
    page.locator("#availability button[value=away]").click()
    expect(page.locator("#availability button[value=away]")).to_have_attribute("aria-pressed", "true")
    waiting = api_create(base, secret, "Refund not received", priority="URGENT")
    assert waiting["assignedAgent"] is None
    page.locator("#availability button[value=available]").click()
    expect(page.locator("#availability button[value=available]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#bell [data-unread]")).to_have_attribute("data-unread", "2")
    db.session.rollback()  # a fresh read, not the test's earlier snapshot
    pulled = db.session.scalar(db.select(Ticket).where(Ticket.public_id == waiting["id"]))
    assert pulled.assignee_id == nina.id
    assert no_page_load_since_mark(page)

    # The bell lists it; opening the notification marks it read and opens the ticket.
    page.locator("#bell summary").click()
    page.locator("#bell li.unread button", has_text="Refund not received").click()
    page.wait_for_url(f"{base}/tickets/{waiting['ticketNumber']}")
    expect(page.locator("#bell [data-unread]")).to_have_attribute("data-unread", "1")

    assert page.console.problems == []


def test_reading_a_ticket_works_without_javascript(live_server, browser, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    ticket = factories.make_ticket(org, subject="Printer on fire", description="It is *really* on fire.")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, nina.email, factories.PASSWORD)
        page.goto(f"{live_server.url}/tickets/{ticket.reference}")
        expect(page.locator("#ticket-head")).to_contain_text("Printer on fire")
        expect(page.locator(".description .prose em")).to_have_text("really")
        # Editing falls back to plain links and forms.
        page.locator('[data-field="priority"] a.value').click()
        page.locator('[data-field="priority"] select').select_option("LOW")
        page.locator('[data-field="priority"] button[type=submit]').click()
        page.wait_for_url(f"{live_server.url}/tickets/{ticket.reference}")
        expect(page.locator('[data-field="priority"] .badge')).to_have_text("Low")
    finally:
        context.close()
