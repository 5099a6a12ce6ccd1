"""A canned reply from the picker, by keyboard, into the reply box and out as a reply."""

import pytest
from playwright.sync_api import expect

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import CannedReply

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_slash_opens_the_picker_and_the_filled_reply_is_sent(live_server, page, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    customer = factories.make_customer(org, name="Ada", email="ada@example.org")
    ticket = factories.make_ticket(org, customer=customer, subject="Card declined")
    with write_transaction():
        for title, body in [
            ("Refund issued", "Hi {{ customer.name }}, **{{ ticket.reference }}** is refunded."),
            ("Password reset", "Use the reset link."),
        ]:
            db.session.add(CannedReply(org_id=org.id, agent_id=None, title=title, body=body))
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/tickets/{ticket.reference}")

    page.locator("#reply-body").click()
    page.keyboard.type("/")
    search = page.locator("#canned-picker input[type=search]")
    expect(search).to_be_focused()
    expect(page.locator("#reply-body")).to_have_value("")  # the slash opened the picker, it was not typed
    expect(page.locator("#canned-results [data-insert]")).to_have_count(2)
    search.type("refund")
    expect(page.locator("#canned-results [data-insert]")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#reply-body")).to_have_value(f"Hi Ada, **{ticket.reference}** is refunded.")
    expect(page.locator("#reply-body")).to_be_focused()
    expect(page.locator("#canned-picker")).not_to_have_attribute("open", "")
    expect(page.locator("#preview strong")).to_have_text(ticket.reference)
    page.locator("#reply button[value=reply]").click()
    expect(page.locator("#thread article.role-agent").last).to_contain_text(
        f"Hi Ada, {ticket.reference} is refunded."
    )
    assert page.console.problems == []
