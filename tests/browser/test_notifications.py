"""The bell and the notifications page in a real browser, at a desk's width and a phone's."""

import pytest
from playwright.sync_api import expect

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Notification

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LONG = "Ticket DEMO-1042 was assigned to you: " + "a-very-long-unbroken-subject-line-" * 4


def notify(agent, *texts):
    with write_transaction():
        for text in texts:
            db.session.add(Notification(agent_id=agent.id, org_id=agent.org_id, kind="assigned", text=text))


def box(page, selector):
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_open_bell_fits_the_screen_and_mark_all_read_shows_at_once(live_server, browser, org, width):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    notify(nina, LONG, "Ada replied on DEMO-7")
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)

    page.locator("#bell summary").click()
    panel = page.locator("#bell ul.notifications")
    expect(panel).to_be_visible()
    expect(page.locator("#bell li.unread")).to_have_count(2)
    edges = box(page, "#bell ul.notifications")
    assert edges["x"] >= 0 and edges["x"] + edges["width"] <= width, edges
    for item in page.locator("#bell ul.notifications li").all():  # nothing spills out of the panel
        inner = item.bounding_box()
        assert inner["x"] >= edges["x"] - 1 and inner["x"] + inner["width"] <= edges["x"] + edges["width"] + 1
        assert item.evaluate("el => el.scrollWidth <= el.clientWidth + 1")

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("#bell [data-unread]")).to_have_attribute("data-unread", "0")
    expect(page.locator("#bell li.unread")).to_have_count(0)
    expect(page.locator("#bell")).to_have_attribute("open", "")  # the panel stays open, now all read

    page.get_by_role("link", name="All notifications").click()
    page.wait_for_url(live_server.url + "/notifications")
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator("#notification-list li.read")).to_have_count(2)
    assert problems == []
    context.close()


def test_the_list_and_the_bell_agree_after_mark_all_read_on_the_page(live_server, page, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    notify(nina, "First", "Second", "Third")
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    page.goto(live_server.url + "/notifications")
    expect(page.locator("#notification-list li.unread")).to_have_count(3)
    page.locator("#notification-list").get_by_role("button", name="Mark all as read").click()
    expect(page.locator("#notification-list li.unread")).to_have_count(0)
    expect(page.locator("#bell [data-unread]")).to_have_attribute("data-unread", "0")
    assert page.console.problems == []
