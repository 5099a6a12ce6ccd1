"""Bulk actions in a real browser: select all on the page, change them, other pages follow."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import TicketEvent

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_select_all_and_assign_to_me_while_a_colleague_watches(live_server, browser, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    omar = factories.make_agent(org, name="Omar", email="omar@example.com")
    for n in range(5):
        factories.make_ticket(org, subject=f"Waiting ticket {n}")
    pages = []
    for agent in (nina, omar):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, live_server.url, agent.email, factories.PASSWORD)
        page.goto(live_server.url + "/?queue=unassigned")
        pages.append(page)
    nina_page, omar_page = pages
    expect(omar_page.locator("#queue tbody tr[data-ticket]")).to_have_count(5)

    bar = nina_page.locator("#bulk")
    expect(bar.locator("select[name=assignee]")).to_be_hidden()  # nothing selected yet
    nina_page.locator("input[data-bulk-all]").check()
    expect(bar).to_contain_text("5 selected")
    bar.locator("select[name=assignee]").select_option("me")
    bar.locator("select[name=status]").select_option("WAITING")
    bar.get_by_role("button", name="Apply").click()
    expect(nina_page.locator("#queue .notice")).to_have_text("Updated 5 tickets.")
    expect(nina_page.locator("#queue tbody tr[data-ticket]")).to_have_count(0)  # none unassigned now
    expect(nina_page.locator('[data-queue-count="mine"]')).to_have_text("5")
    expect(omar_page.locator("#queue tbody tr[data-ticket]")).to_have_count(0)  # live, on his page too
    omar_page.goto(live_server.url + "/?queue=open")
    expect(omar_page.locator("#queue td.assignee", has_text="Nina")).to_have_count(5)
    expect(omar_page.locator("#queue .badge.status-waiting")).to_have_count(5)
    db.session.rollback()  # a fresh read
    status_events = db.session.scalar(
        select(func.count(TicketEvent.id)).where(
            TicketEvent.field == "status", TicketEvent.actor_id == nina.id
        )
    )
    assert status_events == 5  # one audit row per ticket
    for page in pages:
        page.context.close()
