"""From a ticket to its customer, through search, and back, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import MessageRole, Status

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_ticket_to_customer_and_back(live_server, page, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    ada = factories.make_customer(org, external_id="user_42", email="ada@example.org", name="Ada Lovelace")
    old = factories.make_ticket(org, ada, subject="Invoice missing", metadata={"plan": "pro"})
    with write_transaction():
        db.session.merge(old).status = Status.RESOLVED
    current = factories.make_ticket(org, ada, subject="Card declined", priority="HIGH")
    with write_transaction():
        tickets.add_message(
            db.session.merge(current), MessageRole.CUSTOMER, rendered("The terminal says DECLINED_05"),
            audit.SYSTEM,
        )  # fmt: skip
    base = live_server.url
    sign_in(page, base, nina.email, factories.PASSWORD)

    page.goto(f"{base}/tickets/{current.reference}")
    page.locator("#ticket-customer").get_by_role("link", name="Customer page and history").click()
    page.wait_for_url(f"{base}/customers/{ada.public_id}")
    customer = page.locator("#customer")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(customer).to_contain_text("ada@example.org")
    expect(customer).to_contain_text("user_42")
    expect(customer.locator("tr[data-ticket]")).to_have_count(2)

    # Back to the ticket by its row, then to the past ticket through search.
    customer.get_by_role("link", name="Card declined").click()
    page.wait_for_url(f"{base}/tickets/{current.reference}")
    expect(page.locator("#ticket-head")).to_contain_text("Card declined")

    page.get_by_role("link", name="Search", exact=True).click()
    page.wait_for_url(f"{base}/search")
    page.get_by_label("Search tickets").fill("declined_05")
    results = page.locator("#search-results")
    expect(results.locator("tr[data-ticket]")).to_have_count(1)
    expect(results.locator("mark")).to_have_count(1)
    assert "q=declined_05" in page.url  # typing pushed a linkable URL
    page.get_by_label("Search tickets").fill("invoice")
    expect(results.locator(f'tr[data-ticket="{old.reference}"]')).to_be_visible()
    results.get_by_role("link", name="Ada Lovelace").click()
    page.wait_for_url(f"{base}/customers/{ada.public_id}")
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(f"{base}/search?q=invoice")))
    expect(page.locator(f'#search-results tr[data-ticket="{old.reference}"]')).to_be_visible()

    # A ticket number typed and entered opens the ticket itself.
    page.get_by_label("Search tickets").fill(str(current.number))
    page.get_by_label("Search tickets").press("Enter")
    page.wait_for_url(f"{base}/tickets/{current.reference}")
    assert page.console.problems == []


def test_shots(live_server, browser, org, tmp_path_factory):
    """Screenshots of the search and customer pages at desk and phone sizes (looked at by hand)."""
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    ada = factories.make_customer(org, external_id="user_42", email="ada@example.org", name="Ada Lovelace")
    for n in range(8):
        ticket = factories.make_ticket(
            org, ada, subject=["Refund for order #1234", "Card declined at checkout"][n % 2],
            description="My card was declined twice and I want a refund <b>now</b>.",
            metadata={"plan": "pro", "orderId": str(1000 + n)}, priority=["LOW", "HIGH", "URGENT"][n % 3],
        )  # fmt: skip
        if n % 3 == 0:
            with write_transaction():
                db.session.merge(ticket).status = Status.CLOSED
    folder = tmp_path_factory.getbasetemp() / "shots"
    folder.mkdir(exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        shot = context.new_page()
        sign_in(shot, live_server.url, nina.email, factories.PASSWORD)
        for name, url in (("search", "/search?q=refund"), ("customer", f"/customers/{ada.public_id}")):
            shot.goto(live_server.url + url)
            shot.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        context.close()
    print("screenshots in", folder)
