"""Keyboard triage in a real browser: moving, opening, editing, replying, and focus after swaps."""

import pytest
import requests
from playwright.sync_api import expect

from helpdesk.models import Availability

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def focused(page, attribute: str) -> str | None:
    return page.evaluate(
        "(attribute) => document.activeElement.closest(`[${attribute}]`)?.getAttribute(attribute)", attribute
    )


def expect_focus_in(page, attribute: str, value: str) -> None:
    """Wait (bounded) until the focused element lies inside [attribute=value]: swaps settle later."""
    page.wait_for_function(
        "([attribute, value]) =>"
        " document.activeElement.closest(`[${attribute}]`)?.getAttribute(attribute) === value",
        arg=[attribute, value], timeout=5_000,
    )  # fmt: skip


def test_an_agent_triages_the_queue_and_a_ticket_without_the_mouse(live_server, page, org):
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    tickets = [factories.make_ticket(org, subject=f"Printer {n} jammed") for n in range(3)]
    assert all(ticket.assignee_id == nina.id for ticket in tickets)
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    rows = page.locator("#queue tbody tr[data-ticket]")
    expect(rows).to_have_count(3)
    first, second = rows.nth(0).get_attribute("data-ticket"), rows.nth(1).get_attribute("data-ticket")

    page.keyboard.press("j")
    assert focused(page, "data-ticket") == first
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    page.keyboard.press("k")
    assert focused(page, "data-ticket") == second
    expect(page.locator("#queue tr.kbd-focus")).to_have_attribute("data-ticket", second)

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    page.keyboard.press("o")
    page.wait_for_url(f"{live_server.url}/tickets/{second}")

    # j moves through the fields, e edits the focused one, Escape gives focus back to it.
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert focused(page, "data-field") == "priority"
    page.keyboard.press("e")
    expect(page.locator('[data-field="priority"] select')).to_be_focused()
    page.keyboard.press("j")  # typing in a control is not a shortcut
    expect(page.locator('[data-field="priority"] select')).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator('[data-field="priority"] select')).to_have_count(0)
    expect_focus_in(page, "data-field", "priority")

    # Saving keeps focus on the field saved.
    page.keyboard.press("e")
    page.locator('[data-field="priority"] select').select_option("URGENT")
    page.keyboard.press("Enter")
    expect(page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
    expect_focus_in(page, "data-field", "priority")

    # n writes a note, Ctrl+Enter sends it as a note; r then a reply.
    page.keyboard.press("n")
    expect(page.locator("#reply-body")).to_be_focused()
    page.keyboard.type("Checked the jammed spooler")  # j and k typed are text, not shortcuts
    page.keyboard.press("Control+Enter")
    expect(page.locator("#thread article.internal")).to_contain_text("Checked the jammed spooler")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("r")
    page.keyboard.type("On it")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#thread article.role-agent").last).to_contain_text("On it")
    assert page.console.problems == []


def test_a_new_ticket_is_announced_and_the_focused_row_keeps_focus(live_server, page, org):
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    factories.make_customer(org, external_id="user_42")
    factories.make_ticket(org, subject="Older one")
    _, secret = factories.make_api_key(org)
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    page.keyboard.press("j")
    kept = focused(page, "data-ticket")
    response = requests.post(
        live_server.url + "/api/v1/tickets/api-create", headers={"X-API-Key": secret},
        json={"customerExternalId": "user_42", "subject": "Router offline", "description": "x"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 201
    expect(page.locator("#queue tbody tr[data-ticket]")).to_have_count(2)
    expect(page.locator("#announcer")).to_contain_text("Router offline")
    expect_focus_in(page, "data-ticket", kept)
    assert nina.id and page.console.problems == []


def test_three_tickets_triaged_from_the_keyboard_alone(live_server, page, org):
    """Open, change priority, reply, resolve and go to the next: no mouse from sign-in on."""
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    for n in range(3):
        factories.make_ticket(org, subject=f"Router {n} offline", priority="LOW")
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    page.keyboard.press("j")
    page.keyboard.press("o")
    done = []
    for _ in range(3):
        page.wait_for_url(lambda url: "/tickets/" in url and url.rsplit("/", 1)[1] not in done)
        page.wait_for_load_state()
        done.append(page.url.rsplit("/", 1)[1])
        page.keyboard.press("j")
        page.keyboard.press("j")
        expect_focus_in(page, "data-field", "priority")
        page.keyboard.press("e")
        expect(page.locator('[data-field="priority"] select')).to_be_focused()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")  # Low, Medium, High, Urgent
        expect(page.locator('[data-field="priority"] select')).to_have_value("URGENT")
        page.keyboard.press("Enter")
        expect(page.locator('[data-field="priority"] .badge')).to_have_text("Urgent")
        page.keyboard.press("r")
        page.keyboard.type("Rebooted it remotely.")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#thread article.role-agent").last).to_contain_text("Rebooted it remotely.")
        page.keyboard.press("Escape")  # out of the (fresh) reply box; j starts at the first field
        page.keyboard.press("j")
        expect_focus_in(page, "data-field", "status")
        page.keyboard.press("e")
        expect(page.locator('[data-field="status"] select')).to_be_focused()
        for _ in range(2):
            page.keyboard.press("ArrowDown")  # from In progress: Waiting, Resolved
        expect(page.locator('[data-field="status"] select')).to_have_value("RESOLVED")
        page.keyboard.press("Enter")
        expect(page.locator('[data-field="status"] .badge')).to_have_text("Resolved")
        if len(done) < 3:
            page.keyboard.press("Tab")  # from the status field to the link to the next ticket
            expect(page.locator('[data-shortcut="next"]')).to_be_focused()
            page.keyboard.press("Enter")
    assert len(set(done)) == 3
    expect(page.locator('[data-field="status"] .next-ticket, .next-ticket')).to_contain_text("Nothing else")
    assert page.console.problems == []
