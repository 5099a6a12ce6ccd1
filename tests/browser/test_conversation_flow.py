"""The conversation in a real browser: an agent's reply is emailed by the real worker to a
real SMTP server and the page says so; the customer's emailed answer, piped into
`helpdesk ingest-email`, appears on the open page; an agent opens a ticket from the web form."""

import re
import subprocess
import sys
from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from helpdesk.models import Availability

from .. import factories, servers
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def worker(tmp_path, database_url, smtp_server):
    env = servers.helpdesk_env(
        tmp_path / "instance", database_url, BASE_URL="http://helpdesk.test", OUTBOX_POLL_SECONDS=0.1,
        **smtp_server.settings(),
    )  # fmt: skip
    with servers.outbox_worker(env, log=tmp_path / "worker.log") as process:
        yield process


def test_a_reply_is_emailed_sent_shows_and_the_emailed_answer_appears_live(
    live_server, page, org, smtp_server, worker, tmp_path, database_url
):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    ada = factories.make_customer(org, email="ada@example.org", name="Ada")
    ticket = factories.make_ticket(org, ada, subject="Card declined")
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/tickets/{ticket.reference}")

    page.get_by_label("Reply or internal note").fill("We **refunded** you, Ada.")
    page.get_by_role("button", name="Send reply").click()
    reply = page.locator("#thread article.role-agent").last
    expect(reply).to_contain_text("We refunded you, Ada.")
    # The worker sends it; the page hears of it and shows the new state by itself.
    expect(reply.locator("footer.delivery")).to_contain_text("Emailed to the customer", timeout=20_000)
    [email] = [m for m in smtp_server.mailbox.wait_for(1) if m["To"] == "ada@example.org"]
    assert email["Subject"] == f"[{ticket.reference}] Card declined"

    # Ada answers from her mail client; the MTA pipes it in; the open page shows it.
    answer = EmailMessage()
    answer["From"] = "Ada <ada@example.org>"
    answer["To"] = email["Reply-To"]
    answer["Subject"] = "Re: " + email["Subject"]
    answer["Message-ID"] = "<answer-1@mail.example.org>"
    answer["In-Reply-To"] = email["Message-ID"]
    answer["References"] = email["References"] + " " + email["Message-ID"]
    answer.set_content("Thank you, it works now!\n\nOn Mon, Nina wrote:\n> We refunded you, Ada.\n")
    env = servers.helpdesk_env(tmp_path / "instance", database_url, BASE_URL="http://helpdesk.test")
    piped = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ingest-email", "--org", org.slug],
        input=answer.as_bytes(), cwd=servers.ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    customer_says = page.locator("#thread article.role-customer").last
    expect(customer_says).to_contain_text("Thank you, it works now!", timeout=15_000)
    expect(customer_says.locator(".prose")).not_to_contain_text("We refunded you")  # quotes stripped
    customer_says.get_by_text("The whole email, with its quoted history").click()
    expect(customer_says.locator("details.original pre")).to_contain_text("> We refunded you, Ada.")
    assert page.console.problems == []


@pytest.mark.parametrize("width", [1280, 390])
def test_an_agent_opens_a_ticket_from_the_web_form(live_server, browser, org, width):
    nina = factories.make_agent(
        org, name="Nina", email="nina@example.com", availability=Availability.AVAILABLE
    )
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)

    page.get_by_role("link", name="New ticket").click()
    page.wait_for_url(f"{live_server.url}/tickets/new")
    form = page.locator("#new-ticket-form")
    form.get_by_label("Customer's email").fill("caller@example.org")
    form.get_by_label("Customer's name").fill("Carla Caller")
    form.get_by_label("Subject").fill("Phone: cannot sign in")
    form.get_by_label("Description").fill("Called at 9:10; the code never arrives.")
    form.get_by_label("Priority").select_option("HIGH")
    box = form.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # fits a phone too
    form.get_by_role("button", name="Open ticket").click()

    page.wait_for_url(re.compile(rf"/tickets/{org.ticket_prefix}-\d+$"))
    expect(page.locator("#ticket-head")).to_contain_text("Phone: cannot sign in")
    expect(page.locator("#ticket-customer")).to_contain_text("caller@example.org")
    expect(page.locator("#ticket-fields")).to_contain_text("Nina")  # auto-assigned
    context.close()
